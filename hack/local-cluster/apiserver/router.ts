/** What a request path addresses. */
export type Route =
  | { kind: 'version' }
  | { kind: 'healthz' }
  | { kind: 'api' }
  | { kind: 'apis' }
  | { kind: 'group'; group: string }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'openapiRoot' }
  | { kind: 'openapiGroupVersion'; group: string; version: string }
  | { kind: 'resource'; group: string; version: string; plural: string; namespace?: string; name?: string; subresource?: string }
  | { kind: 'unknown' };

/**
 * Parses an API path. `isNamespaced(group, version, plural)` resolves the one ambiguity of
 * the layout: `/api/v1/namespaces/x/pods` is a namespaced collection, while
 * `/api/v1/namespaces/x/status` is namespace x's status subresource.
 */
export function parseRoute(pathname: string, isNamespaced: (group: string, version: string, plural: string) => boolean): Route {
  const segs = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const [first, ...rest] = segs;
  switch (first) {
    case 'version':
      return segs.length === 1 ? { kind: 'version' } : { kind: 'unknown' };
    case 'healthz':
    case 'livez':
    case 'readyz':
      return { kind: 'healthz' };
    case 'openapi':
      if (rest[0] !== 'v3') return { kind: 'unknown' };
      if (rest.length === 1) return { kind: 'openapiRoot' };
      if (rest[1] === 'api' && rest.length === 3) return { kind: 'openapiGroupVersion', group: '', version: rest[2] };
      if (rest[1] === 'apis' && rest.length === 4) return { kind: 'openapiGroupVersion', group: rest[2], version: rest[3] };
      return { kind: 'unknown' };
    case 'api':
      if (rest.length === 0) return { kind: 'api' };
      return resourceRoute('', rest[0], rest.slice(1), isNamespaced);
    case 'apis':
      if (rest.length === 0) return { kind: 'apis' };
      if (rest.length === 1) return { kind: 'group', group: rest[0] };
      return resourceRoute(rest[0], rest[1], rest.slice(2), isNamespaced);
    default:
      return { kind: 'unknown' };
  }
}

function resourceRoute(group: string, version: string, segs: string[], isNamespaced: (group: string, version: string, plural: string) => boolean): Route {
  if (segs.length === 0) return { kind: 'groupVersion', group, version };
  if (segs[0] === 'namespaces' && segs.length >= 3 && isNamespaced(group, version, segs[2])) {
    const [, namespace, plural, name, subresource, ...extra] = segs;
    if (extra.length > 0) return { kind: 'unknown' };
    return { kind: 'resource', group, version, plural, namespace, ...(name === undefined ? {} : { name }), ...(subresource === undefined ? {} : { subresource }) };
  }
  const [plural, name, subresource, ...extra] = segs;
  if (extra.length > 0) return { kind: 'unknown' };
  return { kind: 'resource', group, version, plural, ...(name === undefined ? {} : { name }), ...(subresource === undefined ? {} : { subresource }) };
}
