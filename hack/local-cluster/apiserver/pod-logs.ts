/**
 * GET pods/{name}/log, as kube-apiserver serves it (pkg/registry/core/pod/rest/log.go and
 * strategy.go LogLocation): the container is resolved (the only one, or the named one),
 * then the request is proxied to the kubelet of the pod's node, found through the Node's
 * InternalIP and status.daemonEndpoints.kubeletEndpoint.Port, at
 * /containerLogs/{namespace}/{pod}/{container}. An unscheduled pod has no log (empty
 * answer). The kubelet's own refusals ("is waiting to start", no previous container)
 * come back as 400 BadRequest Status objects, as kubectl shows them.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { getArray, getObject, getString, isObject, type JsonObject } from './json.js';
import type { Operations } from './operations.js';
import type { ResourceType } from './resource-registry.js';
import { ApiError, badRequest, invalid, notFound } from './status.js';

/** The PodLogOptions query parameters passed on to the kubelet. */
const PASSED = ['follow', 'previous', 'tailLines', 'timestamps', 'sinceSeconds', 'sinceTime', 'limitBytes'];

function containerNames(pod: JsonObject, field: string): string[] {
  return (getArray(getObject(pod, 'spec'), field) ?? []).filter(isObject).map((c) => getString(c, 'name') ?? '');
}

/** validateContainer in LogLocation. */
export function logContainer(pod: JsonObject, requested: string | null): string {
  const name = getString(getObject(pod, 'metadata'), 'name') ?? '';
  const containers = containerNames(pod, 'containers');
  const init = containerNames(pod, 'initContainers');
  if (requested === null || requested === '') {
    if (containers.length === 1) return containers[0];
    const initPart = init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : '';
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${initPart}`);
  }
  if (!containers.includes(requested) && !init.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** ValidatePodLogOptions: the numeric options and their exclusions. */
function validateOptions(q: URLSearchParams, pod: string): void {
  const causes = [];
  const int = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
  const tail = int('tailLines');
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) causes.push({ reason: 'FieldValueInvalid', field: 'tailLines', message: `Invalid value: ${q.get('tailLines')}: must be greater than or equal to 0` });
  const limit = int('limitBytes');
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) causes.push({ reason: 'FieldValueInvalid', field: 'limitBytes', message: `Invalid value: ${q.get('limitBytes')}: must be greater than 0` });
  const since = int('sinceSeconds');
  if (since !== undefined && !(Number.isInteger(since) && since >= 1)) causes.push({ reason: 'FieldValueInvalid', field: 'sinceSeconds', message: `Invalid value: ${q.get('sinceSeconds')}: must be greater than 0` });
  if (q.has('sinceSeconds') && q.has('sinceTime')) causes.push({ reason: 'FieldValueForbidden', field: '', message: 'at most one of `sinceTime` or `sinceSeconds` may be specified' });
  if (causes.length > 0) throw invalid('PodLogOptions', '', pod, causes);
}

function kubeletEndpoint(node: JsonObject): { host: string; port: number } | undefined {
  const status = getObject(node, 'status');
  const addr = (getArray(status, 'addresses') ?? []).filter(isObject).find((a) => a.type === 'InternalIP');
  const port = getObject(getObject(status, 'daemonEndpoints'), 'kubeletEndpoint')?.Port;
  const host = getString(addr, 'address');
  return host && typeof port === 'number' && port > 0 ? { host, port } : undefined;
}

export async function servePodLog(req: IncomingMessage, res: ServerResponse, ops: Operations, podType: ResourceType, namespace: string, name: string, q: URLSearchParams): Promise<void> {
  const pod = ops.get(podType, namespace, name);
  const container = logContainer(pod, q.get('container'));
  validateOptions(q, name);
  const nodeName = getString(getObject(pod, 'spec'), 'nodeName');
  if (!nodeName) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 0 });
    res.end();
    return;
  }
  const nodeType = ops.registry.lookup('', 'v1', 'nodes');
  const node = nodeType ? ops.store.get('/nodes', '', nodeName) : undefined;
  if (!node || !nodeType) throw notFound({ group: '', plural: 'nodes' }, nodeName);
  const endpoint = kubeletEndpoint(node);
  if (!endpoint) throw new ApiError(500, 'InternalError', `Internal error occurred: node ${nodeName} reports no kubelet endpoint`);
  const query = new URLSearchParams();
  for (const k of PASSED) if (q.has(k)) query.set(k, q.get(k) ?? '');
  const path = `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${query.toString()}`;
  const url = `http://${endpoint.host}:${endpoint.port}${path}`;
  await new Promise<void>((resolve, reject) => {
    const upstream = request(url, { method: 'GET' }, (up) => {
      if (up.statusCode !== 200) {
        let body = '';
        up.setEncoding('utf8');
        up.on('data', (d: string) => (body += d));
        up.on('end', () => {
          let message = body.trim();
          try {
            const parsed = JSON.parse(body) as { message?: string };
            message = parsed.message ?? message;
          } catch {
            // plain text from the kubelet: keep it
          }
          const code = up.statusCode ?? 500;
          reject(new ApiError(code, code === 404 ? 'NotFound' : code === 400 ? 'BadRequest' : 'InternalError', message));
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      up.pipe(res);
      up.on('end', () => resolve());
      up.on('error', () => resolve());
    });
    upstream.on('error', (err) => reject(new ApiError(500, 'InternalError', `Get "${url}": ${err.message}`)));
    // A client that goes away (kubectl logs -f interrupted) ends the kubelet stream too.
    res.on('close', () => upstream.destroy());
    req.on('aborted', () => upstream.destroy());
    upstream.end();
  });
}
