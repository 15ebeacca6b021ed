/**
 * The what-if: paste or upload changed YAML and see, before applying, per client class, which
 * clusters, endpoints, routes and listeners would change, plus the files' findings with positions.
 * Nothing is applied (POST /api/v1/what-if runs the pipeline offline on a copy).
 */
import { useState } from 'preact/hooks';
import type { ClientChanges, ResourceChange, WhatIfFinding, WhatIfRequest, WhatIfResponse } from '../../../src/api/v1/types.js';
import { postJson } from '../api.js';
import { Badge, Banner } from '../components.js';
import { Diff } from './diff.js';

interface Draft {
  readonly path: string;
  readonly text: string;
}

function Findings({ title, severity, findings }: { readonly title: string; readonly severity: string; readonly findings: readonly WhatIfFinding[] }) {
  if (findings.length === 0) return null;
  return (
    <>
      <h2>
        {title} ({findings.length})
      </h2>
      <div class="table-wrap">
        <table class="findings" data-severity={severity}>
          <thead>
            <tr>
              <th>Position</th>
              <th>Object</th>
              <th>Field</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {findings.map((f, i) => (
              <tr key={i}>
                <td class="position">
                  {f.file}:{f.line}:{f.column}
                </td>
                <td>{f.kind !== '' ? `${f.kind} ${f.namespace !== '' ? `${f.namespace}/` : ''}${f.name}` : '–'}</td>
                <td>
                  <code>{f.field || '–'}</code>
                </td>
                <td>{f.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Clusters or listeners that would change, each with the diff of its Envoy JSON when changed. */
function ResourceChanges({ title, className, changes }: { readonly title: string; readonly className: string; readonly changes: readonly ResourceChange[] }) {
  if (changes.length === 0) return null;
  return (
    <>
      <h4>{title}</h4>
      <ul class={className}>
        {changes.map((x) => (
          <li key={x.name}>
            <Badge state={x.change} /> <code>{x.name}</code>
            {x.diff !== undefined && <Diff text={x.diff} />}
          </li>
        ))}
      </ul>
    </>
  );
}

function ClientClass({ c }: { readonly c: ClientChanges }) {
  return (
    <article class="card client-class" data-client={c.label}>
      <h3>{c.label}</h3>
      {c.routes.length > 0 && (
        <>
          <h4>Routes</h4>
          <div class="table-wrap">
            <table class="route-changes">
              <thead>
                <tr>
                  <th>Route configuration</th>
                  <th>Virtual host</th>
                  <th>Change</th>
                  <th>Before</th>
                  <th>After</th>
                </tr>
              </thead>
              <tbody>
                {c.routes.map((r) => (
                  <tr key={`${r.routeConfiguration} ${r.virtualHost}`} data-virtual-host={r.virtualHost}>
                    <td>{r.routeConfiguration}</td>
                    <td>{r.virtualHost}</td>
                    <td>
                      <Badge state={r.change} />
                    </td>
                    <td>{(r.before ?? []).map((x, i) => <div key={i}>{`${x.match} → ${x.action}`}</div>)}</td>
                    <td>{(r.after ?? []).map((x, i) => <div key={i}>{`${x.match} → ${x.action}`}</div>)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <ResourceChanges title="Clusters" className="cluster-changes" changes={c.clusters} />
      {c.endpoints.length > 0 && (
        <>
          <h4>Endpoints</h4>
          <ul class="endpoint-changes">
            {c.endpoints.map((x) => (
              <li key={x.cluster}>
                <Badge state={x.change} /> <code>{x.cluster}</code>
                <ul>
                  {x.endpoints.map((e) => (
                    <li key={e.address}>
                      <Badge state={e.change} /> {e.address}
                      {e.fields !== undefined && ` (${e.fields.map((f) => `${f}: ${String(e.before?.[f])} → ${String(e.after?.[f])}`).join(', ')})`}
                    </li>
                  ))}
                  {x.localityWeights.map((w) => (
                    <li key={`${w.locality} ${w.priority}`}>
                      locality {w.locality} priority {w.priority}: weight {w.before ?? '–'} → {w.after ?? '–'}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </>
      )}
      <ResourceChanges title="Listeners" className="listener-changes" changes={c.listeners} />
    </article>
  );
}

function Result({ r }: { readonly r: WhatIfResponse }) {
  return (
    <div id="what-if-result" data-changed={String(r.changed)} data-applicable={String(r.applicable)}>
      {!r.applicable ? (
        <Banner kind="error">The files have errors: nothing would be applied and nothing was compared.</Banner>
      ) : r.changed ? (
        <Banner kind="info">
          Would change: {r.clients.length} of {r.compared.length} client classes ({r.compared.join(', ')}).
        </Banner>
      ) : (
        <Banner kind="info">Nothing would change for {r.compared.join(', ') || 'any client class'}.</Banner>
      )}
      <Findings title="Errors" severity="error" findings={r.errors} />
      <Findings title="Warnings" severity="warning" findings={r.warnings} />
      {r.objects.length > 0 && (
        <>
          <h2>Objects</h2>
          <ul class="objects">
            {r.objects.map((o) => (
              <li key={`${o.kind}/${o.namespace}/${o.name}`}>
                <Badge state={o.change} /> {o.kind} {o.namespace}/{o.name} <span class="muted">({o.file}:{o.line})</span>
                {o.diff !== undefined && <Diff text={o.diff} />}
              </li>
            ))}
          </ul>
        </>
      )}
      {r.clients.length > 0 && <h2>Per client class</h2>}
      {r.clients.map((c) => (
        <ClientClass key={c.label} c={c} />
      ))}
    </div>
  );
}

export function WhatIfView() {
  const [draft, setDraft] = useState<Draft>({ path: 'change.yaml', text: '' });
  const [namespace, setNamespace] = useState('');
  const [kind, setKind] = useState<'' | 'envoy' | 'grpc'>('');
  const [result, setResult] = useState<WhatIfResponse | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [uploads, setUploads] = useState<readonly Draft[]>([]);
  const files = [...(draft.text.trim() !== '' ? [draft] : []), ...uploads];
  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const request: WhatIfRequest = {
      files,
      clients: { ...(namespace.trim() !== '' ? { namespace: namespace.trim() } : {}), ...(kind !== '' ? { kind } : {}) },
    };
    try {
      setResult(await postJson<WhatIfResponse>('/api/v1/what-if', request));
    } catch (x) {
      setResult(undefined);
      setError(x instanceof Error ? x.message : String(x));
    } finally {
      setBusy(false);
    }
  };
  // Uploaded files, or a folder's YAML and JSON files (named by their path inside it).
  const upload = async (e: Event): Promise<void> => {
    const picked = [...((e.currentTarget as HTMLInputElement).files ?? [])].filter((f) => /\.(ya?ml|json)$/i.test(f.name));
    const read = await Promise.all(picked.map(async (f) => ({ path: f.webkitRelativePath || f.name, text: await f.text() })));
    setUploads([...uploads, ...read]);
  };
  return (
    <section aria-labelledby="view-title">
      <header class="view-header">
        <h1 id="view-title">What-if</h1>
      </header>
      <p class="muted">Paste changed YAML, upload files or a folder: see what each client class would get, before applying. Nothing is applied.</p>
      <form class="what-if" onSubmit={(e) => void run(e)}>
        <label>
          YAML ({draft.path})
          <textarea name="yaml" rows={14} spellcheck={false} value={draft.text} onInput={(e) => setDraft({ path: draft.path, text: e.currentTarget.value })} />
        </label>
        <div class="row">
          <label>
            Upload files <input type="file" name="upload" multiple accept=".yaml,.yml,.json" onChange={(e) => void upload(e)} />
          </label>
          <label>
            Or a folder <input type="file" name="folder" ref={(el) => el?.setAttribute('webkitdirectory', '')} onChange={(e) => void upload(e)} />
          </label>
          <label>
            Client namespace <input name="namespace" value={namespace} placeholder="all" onInput={(e) => setNamespace(e.currentTarget.value)} />
          </label>
          <label>
            Client kind
            <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as '' | 'envoy' | 'grpc')}>
              <option value="">both</option>
              <option value="envoy">envoy</option>
              <option value="grpc">grpc</option>
            </select>
          </label>
          <button type="submit" disabled={busy || files.length === 0}>
            {busy ? 'Comparing…' : 'Compare'}
          </button>
        </div>
        {uploads.length > 0 && (
          <p id="uploads">
            Uploaded: {uploads.map((u) => u.path).join(', ')}{' '}
            <button type="button" onClick={() => setUploads([])}>
              Clear uploads
            </button>
          </p>
        )}
      </form>
      {error !== undefined && <Banner kind="error">{error}</Banner>}
      {result !== undefined && <Result r={result} />}
    </section>
  );
}
