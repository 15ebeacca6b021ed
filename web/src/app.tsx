/**
 * The dashboard's shell: navigation (links, and number keys 1–0), the live-update state, and the
 * current view from the URL hash. `/` focuses the view's filter; `j`/`k` move between table rows.
 */
import { useEffect } from 'preact/hooks';
import { Badge } from './components.js';
import { liveMode, startLive } from './live.js';
import { followHash, hrefOf, route, type Route, type ViewName } from './route.js';
import { ConfigView } from './views/config.js';
import { ControlPlaneView } from './views/control-plane.js';
import { LocalitiesView } from './views/localities.js';
import { ProxiesView } from './views/proxies.js';
import { ProxyConfigView } from './views/proxy-config.js';
import { ServiceDetailView } from './views/service-detail.js';
import { ServicesView } from './views/services.js';
import { TimelineView } from './views/timeline.js';
import { WhatIfView } from './views/what-if.js';
import { WorkloadGroupsView } from './views/workload-groups.js';

interface NavItem {
  readonly label: string;
  readonly route: Route;
  /** The views highlighted by this entry. */
  readonly views: readonly ViewName[];
}

const NAV: readonly NavItem[] = [
  { label: 'Services', route: { view: 'services' }, views: ['services', 'service'] },
  { label: 'WorkloadGroups', route: { view: 'workloadgroups' }, views: ['workloadgroups'] },
  { label: 'Timeline', route: { view: 'timeline' }, views: ['timeline'] },
  { label: 'Proxies', route: { view: 'proxies' }, views: ['proxies', 'proxy'] },
  { label: 'Localities', route: { view: 'localities' }, views: ['localities'] },
  { label: 'Config', route: { view: 'config' }, views: ['config'] },
  { label: 'Control plane', route: { view: 'controlplane' }, views: ['controlplane'] },
  { label: 'What-if', route: { view: 'whatif' }, views: ['whatif'] },
];

function View({ r }: { readonly r: Route }) {
  switch (r.view) {
    case 'services':
      return <ServicesView />;
    case 'service':
      return <ServiceDetailView namespace={r.namespace} host={r.host} />;
    case 'workloadgroups':
      return <WorkloadGroupsView namespace={r.namespace} name={r.name} />;
    case 'timeline':
      return <TimelineView service={r.service} endpoint={r.endpoint} />;
    case 'proxies':
      return <ProxiesView />;
    case 'proxy':
      return <ProxyConfigView id={r.id} />;
    case 'localities':
      return <LocalitiesView client={r.client} />;
    case 'config':
      return <ConfigView />;
    case 'controlplane':
      return <ControlPlaneView />;
    case 'whatif':
      return <WhatIfView />;
  }
}

const typing = (t: EventTarget | null): boolean => t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

/** Keyboard shortcuts outside form fields. */
function onKey(e: KeyboardEvent): void {
  if (e.altKey || e.ctrlKey || e.metaKey || typing(e.target)) return;
  const index = '12345678'.indexOf(e.key);
  if (index >= 0) {
    const item = NAV[index];
    if (item !== undefined) location.hash = hrefOf(item.route);
    return;
  }
  if (e.key === '/') {
    const filter = document.querySelector<HTMLInputElement>('main input[type=search]');
    if (filter !== null) {
      e.preventDefault();
      filter.focus();
    }
    return;
  }
  if (e.key === 'j' || e.key === 'k') {
    const rows = [...document.querySelectorAll<HTMLAnchorElement>('main a[data-row]')];
    if (rows.length === 0) return;
    const at = rows.indexOf(document.activeElement as HTMLAnchorElement);
    const next = e.key === 'j' ? Math.min(rows.length - 1, at + 1) : Math.max(0, at - 1);
    rows[next]?.focus();
  }
}

export function App() {
  useEffect(() => {
    const stopHash = followHash();
    const stopLive = startLive();
    document.addEventListener('keydown', onKey);
    return () => {
      stopHash();
      stopLive();
      document.removeEventListener('keydown', onKey);
    };
  }, []);
  const r = route.value;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">meshbridge</span>
        <nav aria-label="Views">
          <ul>
            {NAV.map((item, i) => (
              <li key={item.label}>
                <a href={hrefOf(item.route)} aria-current={item.views.includes(r.view) ? 'page' : undefined} aria-keyshortcuts={String(i + 1)}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="live" title="How updates arrive: Server-Sent Events (live), polling, or offline">
          <Badge state={liveMode.value} />
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <View r={r} />
      </main>
    </>
  );
}
