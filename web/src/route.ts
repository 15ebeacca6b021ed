/**
 * Hash routing: every view and selection is in the URL (`#/services/demo/web.demo.test`), so a
 * link can be shared and the back button works. Parsing never throws: an unknown hash is the
 * services view.
 */
import { signal } from '@preact/signals';

export type Route =
  | { readonly view: 'services' }
  | { readonly view: 'service'; readonly namespace: string; readonly host: string }
  | { readonly view: 'workloadgroups'; readonly namespace?: string; readonly name?: string }
  | { readonly view: 'timeline'; readonly service?: string; readonly endpoint?: string }
  | { readonly view: 'proxies' }
  | { readonly view: 'proxy'; readonly id: string }
  | { readonly view: 'localities'; readonly client?: string }
  | { readonly view: 'config' }
  | { readonly view: 'controlplane' }
  | { readonly view: 'whatif' };

export type ViewName = Route['view'];

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The route of a location hash (`#/view/a/b?key=value`). */
export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [view = '', ...rest] = path.split('/').map(decode);
  const params = new URLSearchParams(query);
  const param = (k: string): { [key: string]: string } => {
    const v = params.get(k);
    return v !== null && v !== '' ? { [k]: v } : {};
  };
  switch (view) {
    case 'services':
      return rest.length >= 2 && rest[0] && rest[1] ? { view: 'service', namespace: rest[0], host: rest.slice(1).join('/') } : { view: 'services' };
    case 'workloadgroups':
      return rest.length >= 2 && rest[0] && rest[1] ? { view: 'workloadgroups', namespace: rest[0], name: rest[1] } : { view: 'workloadgroups' };
    case 'timeline':
      return { view: 'timeline', ...param('service'), ...param('endpoint') };
    case 'proxies':
      return rest[0] ? { view: 'proxy', id: rest.join('/') } : { view: 'proxies' };
    case 'localities':
      return { view: 'localities', ...param('client') };
    case 'config':
    case 'controlplane':
    case 'whatif':
      return { view };
    default:
      return { view: 'services' };
  }
}

const enc = encodeURIComponent;

function withQuery(path: string, params: Readonly<Record<string, string | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

/** The hash of a route (the inverse of parseHash). */
export function hrefOf(r: Route): string {
  switch (r.view) {
    case 'services':
      return '#/services';
    case 'service':
      return `#/services/${enc(r.namespace)}/${enc(r.host)}`;
    case 'workloadgroups':
      return r.namespace !== undefined && r.name !== undefined ? `#/workloadgroups/${enc(r.namespace)}/${enc(r.name)}` : '#/workloadgroups';
    case 'timeline':
      return withQuery('#/timeline', { service: r.service, endpoint: r.endpoint });
    case 'proxies':
      return '#/proxies';
    case 'proxy':
      return `#/proxies/${enc(r.id)}`;
    case 'localities':
      return withQuery('#/localities', { client: r.client });
    case 'config':
    case 'controlplane':
    case 'whatif':
      return `#/${r.view}`;
  }
}

/** The current route; follows the location hash. */
export const route = signal<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));

export function followHash(): () => void {
  const update = (): void => {
    route.value = parseHash(location.hash);
  };
  window.addEventListener('hashchange', update);
  return () => window.removeEventListener('hashchange', update);
}

/** Navigate to a route (pushes a history entry). */
export function go(r: Route): void {
  location.hash = hrefOf(r);
}
