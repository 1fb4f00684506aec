import t from 'tap';
import { parseSchema } from '../hack/local-cluster/apiserver/schema.js';
import { applyDefaults, prune } from '../hack/local-cluster/apiserver/prune.js';
import { compileRules, validate } from '../hack/local-cluster/apiserver/validation.js';
import type { JsonObject } from '../hack/local-cluster/apiserver/json.js';
import type { FieldCause } from '../hack/local-cluster/apiserver/status.js';

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
  ].sort());
  t.same(check({ spec: { replicas: 2 } }), ['spec.image: Required value']);
  t.same(check({ spec: { image: 'a', replicas: 'two' } }), ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
  t.same(check({ spec: { image: 'a', port: 'http' } }), [], 'int-or-string accepts a string');
  t.same(check({ spec: { image: 'a', maybe: null } }), [], 'nullable accepts null');
});

t.test('CEL rules report their message at the rule (or fieldPath) location', async (t) => {
  t.same(check({ spec: { image: 'a', min: 5, max: 2 } }), ['spec.min: Invalid value: "object": min must not exceed max']);
  t.same(check({ spec: { image: 'a', min: 1, max: 2 } }, { spec: { image: 'b', min: 1, max: 2 } }), ['spec: Invalid value: "object": image is immutable'], 'transition rules run on update');
  t.same(check({ spec: { image: 'a', min: 1, max: 2 } }), [], 'transition rules are skipped on create');
  const causes: FieldCause[] = [];
  const s = parseSchema({ type: 'object', 'x-kubernetes-validations': [{ rule: 'self.n > 0' }] }, 'r', causes);
  validate({}, s, 'spec', causes);
  t.same(causes.map((c) => `${c.field}: ${c.message}`), ['spec: Invalid value: "object": no such key: n evaluating rule: self.n > 0'], 'an evaluation error is reported with the rule');
  const failing: FieldCause[] = [];
  validate({ n: 0 }, s, 'spec', failing);
  t.same(failing.map((c) => c.message), ['Invalid value: "object": failed rule: self.n > 0'], 'a rule without a message reports the rule');
});

t.test('rules this evaluator cannot run are reported at registration with their path', async (t) => {
  const causes: FieldCause[] = [];
  const s = parseSchema({ type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.x.exists_one(y, true)' }, { rule: 'quantity(self.q) > 1' }] } } }, 'openAPIV3Schema', causes);
  const errs = compileRules(s, 'openAPIV3Schema');
  t.equal(errs.length, 1);
  t.equal(errs[0].field, 'openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule');
  t.match(errs[0].message, /unsupported function 'quantity'/);
});

t.test('malformed schemas are rejected field by field', async (t) => {
  const causes: FieldCause[] = [];
  parseSchema({ type: 'thing', minimum: 'x', pattern: '(' }, 'root', causes);
  t.same(causes.map((c) => c.field), ['root.type', 'root.minimum', 'root.pattern']);
});
