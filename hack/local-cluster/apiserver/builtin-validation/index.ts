/**
 * What the local API server checks on built-in objects, as a real one does: unknown fields
 * pruned (fields.ts), the OpenAPI schema (openapi.ts), and the core validation of
 * pkg/apis/core/validation/validation.go for the kinds the operator writes.
 */
import type { JsonObject } from '../json.js';
import type { ResourceType } from '../resource-registry.js';
import type { FieldCause } from '../status.js';
import { fieldSchema } from './fields.js';
import { openApiCauses } from './openapi.js';
import { validatePodSpec } from './pod.js';
import { validateSecret, validateService } from './service.js';

const CORE: Record<string, { model: string; rules?: (obj: JsonObject) => FieldCause[] }> = {
  Pod: { model: 'V1Pod', rules: validatePodSpec },
  Service: { model: 'V1Service', rules: validateService },
  Secret: { model: 'V1Secret', rules: validateSecret },
  Event: { model: 'CoreV1Event' },
  Lease: { model: 'V1Lease' },
  EndpointSlice: { model: 'V1EndpointSlice' },
};

/** The schema and validator of a built-in kind, or nothing for kinds checked by metadata only. */
export function builtinChecks(kind: string, version: string): Pick<ResourceType, 'schema' | 'validator'> {
  const core = CORE[kind];
  if (!core) return {};
  return {
    schema: fieldSchema(core.model),
    validator: (obj: JsonObject) => {
      const rules = core.rules?.(obj) ?? [];
      // A required field missing from the schema is often a core rule too: the server reports it once, in its own order.
      const seen = new Set(rules.map((c) => `${c.field}\n${c.message}`));
      return [...openApiCauses(kind, version, obj).filter((c) => !seen.has(`${c.field}\n${c.message}`)), ...rules];
    },
  };
}
