import type { JsonObject } from './json.js';

/** One invalid field, as listed in an Invalid Status's details.causes. */
export interface FieldCause {
  reason: string;
  message: string;
  field: string;
}

/** What a Status names: the resource (plural, group) and the object. */
export interface StatusTarget {
  group: string;
  plural: string;
  name?: string;
}

/**
 * An error that the server answers with a Kubernetes Status object. Clients
 * (client-node, kubectl) read reason, code and details, so their shape follows the real one.
 */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: JsonObject | undefined;

  constructor(code: number, reason: string, message: string, details?: JsonObject) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): JsonObject {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

export function failureStatus(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const status: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) status.details = details;
  status.code = code;
  return status;
}

export function successStatus(details?: JsonObject): JsonObject {
  const status: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  if (details) status.details = details;
  return status;
}

/** `pods` for the core group, `cifartrainingjobs.cifar.example.com` otherwise, as in real messages. */
export function qualifiedResource(t: StatusTarget): string {
  return t.group === '' ? t.plural : `${t.plural}.${t.group}`;
}

function details(t: StatusTarget, name: string | undefined): JsonObject {
  const d: JsonObject = {};
  if (name !== undefined) d.name = name;
  if (t.group !== '') d.group = t.group;
  d.kind = t.plural;
  return d;
}

export function notFound(t: StatusTarget, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(t)} "${name}" not found`, details(t, name));
}

export function alreadyExists(t: StatusTarget, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(t)} "${name}" already exists`, details(t, name));
}

export function conflict(t: StatusTarget, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": ${why}`, details(t, name));
}

/** 403, e.g. `pods "x" is forbidden: unable to create new content in namespace ns because it is being terminated`. */
export function forbidden(t: StatusTarget, name: string, why: string, cause?: FieldCause): ApiError {
  const d = details(t, name);
  if (cause) d.causes = [{ reason: cause.reason, message: cause.message, field: cause.field }];
  return new ApiError(403, 'Forbidden', `${qualifiedResource(t)} "${name}" is forbidden: ${why}`, d);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json; got ${JSON.stringify(contentType)}`);
}

export function notFoundPath(path: string): ApiError {
  return new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`, { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] });
}

/** Too old watch resourceVersion; reason Expired with code 410, as the real server reports it. */
export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/**
 * 422 with one cause per field; the message lists them all so that `kubectl` output alone
 * says which fields are wrong. `kind` is the object's Kind (`CifarTrainingJob.cifar.example.com`).
 */
export function invalid(kind: string, group: string, name: string, causes: FieldCause[]): ApiError {
  const lines = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`;
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const d: JsonObject = { name };
  if (group !== '') d.group = group;
  d.kind = kind;
  d.causes = causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field }));
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, d);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}
