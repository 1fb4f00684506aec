import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { isObject, type JsonObject, type JsonValue } from './json.js';
import { groupVersionDocument, openApiRoot } from './openapi.js';
import type { DeleteOptions, FieldValidation, Operations, Selectors, WriteOptions } from './operations.js';
import { storageKey, type ResourceRegistry, type ResourceType } from './resource-registry.js';
import { servePodLog } from './pod-logs.js';
import { parseRoute, type Route } from './router.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { ApiError, badRequest, internalError, methodNotAllowed, notFoundPath } from './status.js';
import { toTable, wantsTable, type IncludeObject } from './table.js';
import { serveWatch } from './watch.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const DEFAULT_WATCH_TIMEOUT_SECONDS = 1800;

export interface HandlerContext {
  ops: Operations;
  registry: ResourceRegistry;
  /** host:port clients should use, reported by GET /api. */
  serverAddress: () => string;
  log: (line: string) => void;
}

function sendJson(res: ServerResponse, code: number, body: JsonValue, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function fieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of Strict, Warn, Ignore; got ${JSON.stringify(v)}`);
}

function writeOptions(q: URLSearchParams): WriteOptions {
  const dryRun = q.getAll('dryRun');
  if (dryRun.some((d) => d !== 'All')) throw badRequest(`dryRun must be "All"; got ${JSON.stringify(dryRun)}`);
  return { dryRun: dryRun.length > 0, fieldValidation: fieldValidation(q) };
}

function selectors(t: ResourceType, q: URLSearchParams): Selectors {
  try {
    const labels = parseLabelSelector(q.get('labelSelector') ?? '');
    const fields = parseFieldSelector(q.get('fieldSelector') ?? '');
    const allowed = new Set(['metadata.name', 'metadata.namespace', ...t.fieldSelectors]);
    for (const f of fields) if (!allowed.has(f.field)) throw new SelectorError(`field label not supported: ${f.field}`);
    return { labels, fields };
  } catch (err) {
    if (err instanceof SelectorError) throw badRequest(err.message);
    throw err;
  }
}

/** DeleteOptions from the body (kubectl, client-node) or the query string (curl). */
function deleteOptions(body: JsonValue | undefined, q: URLSearchParams): DeleteOptions {
  const o = isObject(body) ? body : {};
  const policy = (typeof o.propagationPolicy === 'string' ? o.propagationPolicy : q.get('propagationPolicy')) ?? undefined;
  if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') throw badRequest(`propagationPolicy must be Orphan, Background or Foreground; got ${JSON.stringify(policy)}`);
  const orphanText = typeof o.orphanDependents === 'boolean' ? String(o.orphanDependents) : q.get('orphanDependents');
  const orphanDependents = orphanText === null ? undefined : orphanText === 'true';
  if (orphanDependents !== undefined && policy !== undefined) throw badRequest('orphanDependents and deletionPropagation cannot be both set');
  const graceRaw = typeof o.gracePeriodSeconds === 'number' ? o.gracePeriodSeconds : q.get('gracePeriodSeconds');
  const grace = graceRaw === null ? undefined : Number(graceRaw);
  if (grace !== undefined && !Number.isInteger(grace)) throw badRequest(`gracePeriodSeconds must be an integer; got ${JSON.stringify(graceRaw)}`);
  const dryRun = Array.isArray(o.dryRun) ? o.dryRun.length > 0 : q.getAll('dryRun').length > 0;
  const pre = isObject(o.preconditions) ? o.preconditions : undefined;
  const preconditions = pre ? { ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}), ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}) } : undefined;
  return {
    dryRun,
    ...(policy ? { propagationPolicy: policy } : {}),
    ...(orphanDependents !== undefined ? { orphanDependents } : {}),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    ...(preconditions ? { preconditions } : {}),
  };
}

/** Subresources served per resource: status where declared, binding and log for pods. */
function servesSubresource(t: ResourceType, sub: string): boolean {
  if (sub === 'status') return t.statusSubresource;
  return (t.subresources ?? []).some((s) => s.name === sub);
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function warningHeaders(warnings: string[]): Record<string, string[]> {
  return warnings.length === 0 ? {} : { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
}

/** The whole REST surface: discovery, OpenAPI, and resource verbs. */
export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { registry, ops } = ctx;
  const isNamespaced = (g: string, v: string, p: string) => registry.lookup(g, v, p)?.namespaced === true;

  const serve = async (req: IncomingMessage, res: ServerResponse, url: URL, route: Route): Promise<void> => {
    const method = req.method ?? 'GET';
    if (route.kind !== 'resource') {
      if (method !== 'GET') throw methodNotAllowed(`${method} is not supported on ${url.pathname}`);
      const doc = discoveryDocument(ctx, route);
      if (!doc) throw notFoundPath(url.pathname);
      return sendJson(res, 200, doc);
    }
    const t = registry.lookup(route.group, route.version, route.plural);
    if (!t || (route.namespace !== undefined && !t.namespaced)) throw notFoundPath(url.pathname);
    if (route.subresource !== undefined && !servesSubresource(t, route.subresource)) throw notFoundPath(url.pathname);
    const subresource = route.subresource === 'status' ? 'status' : undefined;
    const q = url.searchParams;
    const namespace = route.namespace ?? '';
    const bodyText = method === 'GET' ? '' : await readBody(req);
    if (route.name === undefined) {
      if (method === 'GET') {
        const sel = selectors(t, q);
        const watch = q.get('watch');
        if (watch === 'true' || watch === '1') {
          const timeout = Number(q.get('timeoutSeconds') ?? DEFAULT_WATCH_TIMEOUT_SECONDS);
          return serveWatch(res, ops, {
            type: t,
            ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
            selectors: sel,
            ...(q.has('resourceVersion') ? { resourceVersion: q.get('resourceVersion') ?? '' } : {}),
            timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_WATCH_TIMEOUT_SECONDS,
            ...(wantsTable(req.headers.accept) ? { table: includeObject(q) } : {}),
          });
        }
        const { items, resourceVersion } = ops.list(t, route.namespace, sel);
        if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(t, items, { resourceVersion }, includeObject(q)));
        return sendJson(res, 200, { kind: t.listKind, apiVersion: t.group === '' ? t.version : `${t.group}/${t.version}`, metadata: { resourceVersion }, items });
      }
      if (method === 'POST') {
        const r = ops.create(t, namespace, parseJson(bodyText), writeOptions(q));
        return sendJson(res, 201, r.object, warningHeaders(r.warnings));
      }
      if (method === 'DELETE') {
        const deleted = ops.deleteCollection(t, route.namespace, selectors(t, q), deleteOptions(bodyText ? parseJson(bodyText) : undefined, q));
        return sendJson(res, 200, { kind: t.listKind, apiVersion: t.group === '' ? t.version : `${t.group}/${t.version}`, metadata: { resourceVersion: String(ops.store.resourceVersion) }, items: deleted });
      }
      throw methodNotAllowed(`${method} is not supported on a collection`);
    }
    const name = route.name;
    if (route.subresource === 'binding') {
      if (method !== 'POST') throw methodNotAllowed(`${method} is not supported on pods/binding`);
      return sendJson(res, 201, ops.bind(t, namespace, name, parseJson(bodyText), writeOptions(q)));
    }
    if (route.subresource === 'log') {
      if (method !== 'GET') throw methodNotAllowed(`${method} is not supported on pods/log`);
      return servePodLog(req, res, ops, t, namespace, name, q);
    }
    switch (method) {
      case 'GET': {
        const obj = ops.get(t, namespace, name);
        if (wantsTable(req.headers.accept) && !subresource) return sendJson(res, 200, toTable(t, [obj], { resourceVersion: String(ops.store.resourceVersion) }, includeObject(q)));
        return sendJson(res, 200, obj);
      }
      case 'PUT': {
        const r = ops.update(t, namespace, name, parseJson(bodyText), writeOptions(q), subresource);
        return sendJson(res, 200, r.object, warningHeaders(r.warnings));
      }
      case 'PATCH': {
        const r = ops.patch(t, namespace, name, mediaType(req.headers['content-type']), parseJson(bodyText), writeOptions(q), subresource);
        return sendJson(res, 200, r.object, warningHeaders(r.warnings));
      }
      case 'DELETE': {
        if (subresource) throw methodNotAllowed('DELETE is not supported on the status subresource');
        const opts = deleteOptions(bodyText ? parseJson(bodyText) : undefined, q);
        const r = ops.remove(t, namespace, name, opts);
        // The real handler answers 202 only for the deprecated orphanDependents=false that did not delete yet.
        return sendJson(res, !r.deleted && opts.orphanDependents === false ? 202 : 200, r.object);
      }
      default:
        throw methodNotAllowed(`${method} is not supported`);
    }
  };

  return (req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://local-cluster');
    const route = parseRoute(url.pathname, isNamespaced);
    res.on('finish', () => ctx.log(`${req.method ?? '?'} ${url.pathname}${url.search} ${res.statusCode} ${Date.now() - started}ms`));
    serve(req, res, url, route).catch((err: unknown) => {
      const apiErr = err instanceof ApiError ? err : internalError(err instanceof Error ? err.message : String(err));
      if (!(err instanceof ApiError)) ctx.log(`internal error on ${req.method ?? '?'} ${url.pathname}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (res.headersSent) res.end();
      else sendJson(res, apiErr.code, apiErr.toStatus());
    });
  };
}

function discoveryDocument(ctx: HandlerContext, route: Route): JsonObject | undefined {
  const { registry } = ctx;
  switch (route.kind) {
    case 'version':
      return versionInfo();
    case 'healthz':
      return { status: 'ok' };
    case 'api':
      return apiVersions(ctx.serverAddress());
    case 'apis':
      return apiGroupList(registry);
    case 'group':
      return apiGroupDoc(registry, route.group);
    case 'groupVersion':
      return registry.hasGroupVersion(route.group, route.version) ? apiResourceList(registry, route.group, route.version) : undefined;
    case 'openapiRoot':
      return openApiRoot(registry);
    case 'openapiGroupVersion':
      return registry.hasGroupVersion(route.group, route.version) ? groupVersionDocument(registry, route.group, route.version) : undefined;
    default:
      return undefined;
  }
}

/** Finds the resource type behind a storage key, for the garbage collector. */
export function typeForKey(registry: ResourceRegistry, key: string): ResourceType | undefined {
  return registry.all().find((t) => storageKey(t) === key);
}
