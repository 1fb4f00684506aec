import t from 'tap';
import { parseSchema } from '../../../../hack/local-cluster/apiserver/schema.js';
import { applyDefaults, prune } from '../../../../hack/local-cluster/apiserver/prune.js';
import { validate } from '../../../../hack/local-cluster/apiserver/validation.js';
import type { JsonObject } from '../../../../hack/local-cluster/apiserver/json.js';
import type { FieldCause } from '../../../../hack/local-cluster/apiserver/status.js';

const schemaJson: JsonObject = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['image'],
      'x-kubernetes-validations': [
        { rule: 'self.min <= self.max', message: 'min must not exceed max', fieldPath: '.min' },
        { rule: 'self.image == oldSelf.image', message: 'image is immutable' },
      ],
      properties: {
        image: { type: 'string', minLength: 1, pattern: '^[a-z:0-9.]+$' },
        replicas: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
        min: { type: 'integer', default: 0 },
        max: { type: 'integer', default: 10 },
        ratio: { type: 'number', exclusiveMaximum: true, maximum: 1 },
        mode: { type: 'string', enum: ['a', 'b'] },
        tags: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string', maxLength: 3 } },
        opts: { type: 'object', properties: { depth: { type: 'integer', default: 50 } }, default: {} },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        maybe: { type: 'string', nullable: true },
        port: { 'x-kubernetes-int-or-string': true },
      },
    },
  },
};

function parsed() {
  const causes: FieldCause[] = [];
  const s = parseSchema(schemaJson, 'openAPIV3Schema', causes);
  t.same(causes, [], 'the test schema parses');
  return s;
}

/** The server's order: defaults first, then validation. */
const check = (obj: JsonObject, old?: JsonObject) => {
  const causes: FieldCause[] = [];
  const s = parsed();
  applyDefaults(obj, s);
  validate(obj, s, '', causes, old, true);
  return causes.map((c) => `${c.field}: ${c.message}`);
};

t.test('pruning drops undeclared fields and reports their paths', async (t) => {
  const obj: JsonObject = { apiVersion: 'v', kind: 'K', metadata: { name: 'x', anything: 1 }, extra: 1, spec: { image: 'a', bogus: { deep: 1 }, labels: { any: 'x' }, free: { kept: { y: 1 } }, opts: { nope: 1 }, maybe: null, mode: null } };
  const unknown = prune(obj, parsed());
  t.same(unknown.sort(), ['extra', 'spec.bogus', 'spec.opts.nope']);
  t.same(obj, { apiVersion: 'v', kind: 'K', metadata: { name: 'x', anything: 1 }, spec: { image: 'a', labels: { any: 'x' }, free: { kept: { y: 1 } }, opts: {}, maybe: null } }, 'nulls of non-nullable fields are dropped, nullable ones kept');
});

t.test('defaults fill missing fields, including inside defaulted objects', async (t) => {
  const obj: JsonObject = { spec: { image: 'a', max: 3 } };
  applyDefaults(obj, parsed());
  t.same(obj, { spec: { image: 'a', replicas: 1, min: 0, max: 3, opts: { depth: 50 } } });
});

/** apiextensions-apiserver pkg/registry/customresource/strategy.go: rules are skipped after a blocking schema error. */
const NOT_CHECKED = '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

t.test('validation names every invalid field with the real wording', async (t) => {
  const errors = check({ spec: { image: '', replicas: 0, min: 1, max: 2, ratio: 1, mode: 'c', tags: ['abcd', 'b', 'c'], labels: { a: 1 }, port: 1.5 } });
  t.same(errors.sort(), [
    'spec.image: Invalid value: "": spec.image in body should at least 1 chars long'.replace('should at', 'should be at'),
    'spec.image: Invalid value: "": spec.image in body should match \'^[a-z:0-9.]+$\'',
    'spec.labels[a]: Invalid value: "integer": spec.labels[a] in body must be of type string: "integer"',
    'spec.mode: Unsupported value: "c": supported values: "a", "b"',
    'spec.port: Invalid value: "number": spec.port in body must be of type integer or string: "number"',
    'spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1',
    'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
    'spec.tags: Too many: 3: must have at most 2 items',
    'spec.tags[0]: Too long: may not be more than 3 bytes',
    NOT_CHECKED,
  ].sort());
  t.same(check({ spec: { replicas: 2 } }), ['spec.image: Required value', NOT_CHECKED]);
  t.same(check({ spec: { image: 'a', replicas: 'two' } }), ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"', NOT_CHECKED]);
  t.same(check({ spec: { image: 'a', port: 'http' } }), [], 'int-or-string accepts a string');
  t.same(check({ spec: { image: 'a', maybe: null } }), [], 'nullable accepts null');
});

t.test('CEL rules report their message at the rule (or fieldPath) location', async (t) => {
  // apiextensions-apiserver pkg/apiserver/schema/cel/validation.go: Invalid value is the node's schema type.
  t.same(check({ spec: { image: 'a', min: 5, max: 2 } }), ['spec.min: Invalid value: "object": min must not exceed max']);
  t.same(check({ spec: { image: 'a', min: 1, max: 2 } }, { spec: { image: 'b', min: 1, max: 2 } }), ['spec: Invalid value: "object": image is immutable'], 'transition rules run on update');
  t.same(check({ spec: { image: 'a', min: 1, max: 2 } }), [], 'transition rules are skipped on create');
  const causes: FieldCause[] = [];
  const s = parseSchema({ type: 'object', properties: { n: { type: 'integer' } }, 'x-kubernetes-validations': [{ rule: 'self.n > 0' }] }, 'r', causes);
  validate({}, s, 'spec', causes);
  t.same(causes.map((c) => `${c.field}: ${c.message}`), ['spec: Invalid value: "object": no such key: n evaluating rule: self.n > 0'], 'an evaluation error is reported with the rule');
  const failing: FieldCause[] = [];
  validate({ n: 0 }, s, 'spec', failing);
  t.same(failing.map((c) => c.message), ['Invalid value: "object": failed rule: self.n > 0'], 'a rule without a message reports the rule');
});

t.test('reason, messageExpression and blocking schema errors', async (t) => {
  const causes: FieldCause[] = [];
  const s = parseSchema(
    {
      type: 'object',
      required: ['n'],
      properties: { n: { type: 'integer' }, k: { type: 'string' } },
      'x-kubernetes-validations': [
        { rule: 'self.n < 10', messageExpression: "'n is ' + string(self.n) + ', over 9'" },
        { rule: 'self.n != 3', reason: 'FieldValueForbidden', message: 'three is out' },
        { rule: 'self.n != 4', reason: 'FieldValueDuplicate', message: 'unused' },
        { rule: 'self.n != 5', messageExpression: "''", message: 'fallback' },
      ],
    },
    'r',
    causes,
  );
  const run = (v: JsonObject) => {
    const out: FieldCause[] = [];
    validate(v, s, 'spec', out);
    return out.map((c) => `${c.reason} ${c.field}: ${c.message}`);
  };
  t.same(run({ n: 12 }), ['FieldValueInvalid spec: Invalid value: "object": n is 12, over 9']);
  t.same(run({ n: 3 }), ['FieldValueForbidden spec: Forbidden: three is out']);
  t.same(run({ n: 4 }), ['FieldValueDuplicate spec: Duplicate value: "object"'], 'Duplicate prints the type, not the message (field.Duplicate)');
  t.same(run({ n: 5 }), ['FieldValueInvalid spec: Invalid value: "object": fallback'], 'an empty messageExpression result falls back to message');
  t.same(run({ k: 'x' }), ['FieldValueRequired spec.n: Required value', 'FieldValueInvalid <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation'], 'rules do not run on an object missing a required field');
});

t.test('malformed schemas are rejected field by field', async (t) => {
  const causes: FieldCause[] = [];
  parseSchema({ type: 'thing', minimum: 'x', pattern: '(' }, 'root', causes);
  t.same(causes.map((c) => c.field), ['root.type', 'root.minimum', 'root.pattern']);
});
