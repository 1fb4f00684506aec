/**
 * Values as the real server prints them inside `Invalid value: ...` when they are not
 * plain strings or numbers: Go's `%#v` of the decoded JSON (k8s.io/apimachinery
 * pkg/util/validation/field/errors.go falls back to %#v for structs and maps).
 */
import { isObject, type JsonValue } from './json.js';
import type { ValidationRule } from './schema.js';

/** `%#v` of a value decoded by encoding/json into interface{} (whole numbers as int64, as Kubernetes decodes them). */
export function goValue(v: JsonValue): string {
  if (v === null) return 'interface {}(nil)';
  if (Array.isArray(v)) return `[]interface {}{${v.map(goValue).join(', ')}}`;
  if (isObject(v)) {
    const entries = Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goValue(v[k])}`);
    return `map[string]interface {}{${entries.join(', ')}}`;
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** `%#v` of apiextensions.ValidationRule, which the server prints when a rule does not compile. */
export function goValidationRule(r: ValidationRule): string {
  // A set reason or optionalOldSelf is a Go pointer; the server prints its address, which no client can rely on.
  const reason = r.reason === undefined ? '(*apiextensions.FieldValueErrorReason)(nil)' : '(*apiextensions.FieldValueErrorReason)(0xc000000000)';
  const optional = r.optionalOldSelf === undefined ? '(*bool)(nil)' : '(*bool)(0xc000000000)';
  return `apiextensions.ValidationRule{Rule:${JSON.stringify(r.rule)}, Message:${JSON.stringify(r.message ?? '')}, MessageExpression:${JSON.stringify(r.messageExpression ?? '')}, Reason:${reason}, FieldPath:${JSON.stringify(r.fieldPath ?? '')}, OptionalOldSelf:${optional}}`;
}
