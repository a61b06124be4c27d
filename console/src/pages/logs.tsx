/**
 * Logs: the request log, newest first, filtered by status, model, key, route or Vapi call id,
 * paged with requestLogs' cursor; a detail view of one request (every field the schema has:
 * cost, attempts and call context included once the server records them); and a Vapi call
 * view — one call's turns in order, with their latencies.
 */
import { useState } from 'preact/hooks';
import { gql, schemaFields } from '../api';
import { Empty, ErrorBox, Loading, useLoad } from '../components';
import { fmtInt, fmtMs, fmtTime } from '../format';

type Log = Record<string, unknown> & {
  id: string;
  requestId: string;
  createdAt: string;
  status: number;
  route: string;
  requestedModel: string | null;
  provider: string | null;
  keyId: string | null;
  totalTokens: number | null;
  ttftMs: number | null;
  durationMs: number;
  vapi: { callId: string | null; assistantId: string | null; customerNumber: string | null } | null;
};

interface Filters {
  status: string;
  model: string;
  key: string;
  route: string;
  call: string;
  request: string;
}

const PAGE = 50;

/** Every scalar field RequestLog has in this Parley's schema, plus the Vapi call context. */
async function logFields(): Promise<string> {
  const fields = await schemaFields('RequestLog');
  const scalars = [...fields].filter(([, kind]) => kind === 'SCALAR' || kind === 'ENUM').map(([name]) => name);
  return `${scalars.join(' ')} vapi { callId assistantId customerNumber }`;
}

function filterOf(f: Filters): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.status === 'errors') out.errorsOnly = true;
  else if (/^\d{3}$/.test(f.status)) out.status = Number(f.status);
  if (f.model.trim()) out.requestedModel = f.model.trim();
  if (f.key.trim()) out.keyId = f.key.trim();
  if (f.route) out.route = f.route;
  if (f.call.trim()) out.vapiCallId = f.call.trim();
  if (f.request.trim()) out.requestId = f.request.trim();
  return out;
}

async function loadPage(filter: Record<string, unknown>, after: string | null, first = PAGE) {
  const fields = await logFields();
  const data = await gql<{
    requestLogs: { nodes: Log[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
  }>(
    `query($filter: RequestLogFilter, $first: Int, $after: String) {
      requestLogs(filter: $filter, first: $first, after: $after) { nodes { ${fields} } pageInfo { endCursor hasNextPage } }
    }`,
    { filter, first, after },
  );
  return data.requestLogs;
}

const statusClass = (s: number) => (s >= 500 ? 'bad' : s >= 400 ? 'warn' : 'ok');

function Detail({ log, onClose }: { log: Log; onClose: () => void }) {
  const entries = Object.entries(log).filter(([k]) => k !== 'vapi');
  return (
    <section class="card detail" aria-labelledby="detail-title" data-testid="log-detail">
      <div class="row spread">
        <h2 id="detail-title">Request {log.requestId}</h2>
        <button type="button" onClick={onClose} aria-label="Close the detail view">
          Close
        </button>
      </div>
      <dl class="fields">
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
          </div>
        ))}
        {log.vapi ? (
          <>
            <div>
              <dt>Vapi call</dt>
              <dd>
                {log.vapi.callId ? (
                  <a href={`#/logs?call=${encodeURIComponent(log.vapi.callId)}`}>{log.vapi.callId}</a>
                ) : (
                  '—'
                )}
              </dd>
            </div>
            <div>
              <dt>Vapi assistant</dt>
              <dd>{log.vapi.assistantId ?? '—'}</dd>
            </div>
            <div>
              <dt>Customer number</dt>
              <dd>{log.vapi.customerNumber ?? '—'}</dd>
            </div>
          </>
        ) : null}
      </dl>
      {/* Upstream attempts (each target tried, with its status and latency) appear above once the server records them. */}
    </section>
  );
}

/** One Vapi call's turns, oldest first, with time to first token and duration as bars. */
function CallView({ callId }: { callId: string }) {
  const turns = useLoad(async () => (await loadPage({ vapiCallId: callId }, null, 100)).nodes.reverse(), [callId]);
  const longest = Math.max(1, ...(turns.data ?? []).map((t) => t.durationMs));
  return (
    <section class="card" aria-labelledby="call-title" data-testid="call-view">
      <h2 id="call-title">Vapi call {callId}</h2>
      {turns.error ? <ErrorBox error={turns.error} retry={turns.reload} /> : null}
      {!turns.data && turns.loading ? <Loading what="the call's turns" /> : null}
      {turns.data && turns.data.length === 0 ? <Empty>No requests recorded for this call.</Empty> : null}
      {turns.data && turns.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Turn</th>
                <th scope="col">Time</th>
                <th scope="col">Status</th>
                <th scope="col">Model</th>
                <th scope="col" class="num">
                  TTFT
                </th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {turns.data.map((t, i) => (
                <tr key={t.id}>
                  <td>{i + 1}</td>
                  <td>{fmtTime(t.createdAt)}</td>
                  <td>
                    <span class={`badge ${statusClass(t.status)}`}>{t.status}</span>
                  </td>
                  <td>{t.requestedModel ?? '—'}</td>
                  <td class="num">{fmtMs(t.ttftMs)}</td>
                  <td class="num">{fmtMs(t.durationMs)}</td>
                  <td class="bars" aria-hidden="true">
                    <span class="bar total" style={{ width: `calc(${t.durationMs / longest} * (100% - 1.2rem))` }} />
                    {t.ttftMs !== null ? (
                      <span class="bar first" style={{ width: `calc(${t.ttftMs / longest} * (100% - 1.2rem))` }} />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

export function LogsPage({ params }: { params: URLSearchParams }) {
  const initial: Filters = {
    status: params.get('status') ?? '',
    model: params.get('model') ?? '',
    key: params.get('key') ?? '',
    route: params.get('route') ?? '',
    call: params.get('call') ?? '',
    request: params.get('request') ?? '',
  };
  const [draft, setDraft] = useState(initial);
  const [applied, setApplied] = useState(initial);
  const [older, setOlder] = useState<{ nodes: Log[]; cursor: string | null; more: boolean } | null>(null);
  const [selected, setSelected] = useState<Log | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const key = JSON.stringify(filterOf(applied));
  const first = useLoad(() => loadPage(filterOf(applied), null), [key, params.toString()]);

  const nodes = [...(first.data?.nodes ?? []), ...(older?.nodes ?? [])];
  const hasMore = older ? older.more : (first.data?.pageInfo.hasNextPage ?? false);
  const loadMore = async () => {
    setMoreError(null);
    try {
      const page = await loadPage(filterOf(applied), older?.cursor ?? first.data?.pageInfo.endCursor ?? null);
      setOlder({
        nodes: [...(older?.nodes ?? []), ...page.nodes],
        cursor: page.pageInfo.endCursor,
        more: page.pageInfo.hasNextPage,
      });
    } catch (err) {
      setMoreError(err);
    }
  };
  const set = (field: keyof Filters) => (e: { currentTarget: { value: string } }) =>
    setDraft({ ...draft, [field]: e.currentTarget.value });

  return (
    <div>
      <form
        class="card filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          setOlder(null);
          setSelected(null);
          setApplied(draft);
        }}
      >
        <label>
          Status
          <select value={draft.status} onChange={set('status')}>
            <option value="">any</option>
            <option value="errors">errors (≥ 400)</option>
            <option value="200">200</option>
            <option value="400">400</option>
            <option value="401">401</option>
            <option value="403">403</option>
            <option value="404">404</option>
            <option value="429">429</option>
            <option value="499">499 (client left)</option>
            <option value="502">502</option>
            <option value="504">504</option>
          </select>
        </label>
        <label>
          Model
          <input value={draft.model} onInput={set('model')} placeholder="requested model" />
        </label>
        <label>
          Key id
          <input value={draft.key} onInput={set('key')} placeholder="key id, env:0 or open" />
        </label>
        <label>
          Route
          <select value={draft.route} onChange={set('route')}>
            <option value="">any</option>
            <option value="openai">/v1/chat/completions</option>
            <option value="vapi">/chat/completions (Vapi)</option>
            <option value="anthropic">/v1/messages (Anthropic)</option>
            <option value="responses">/v1/responses</option>
          </select>
        </label>
        <label>
          Vapi call id
          <input value={draft.call} onInput={set('call')} />
        </label>
        <label>
          Request id
          <input value={draft.request} onInput={set('request')} />
        </label>
        <div class="actions">
          <button type="submit">Apply</button>
          <button type="button" onClick={first.reload}>
            Refresh
          </button>
        </div>
      </form>
      {applied.call.trim() ? <CallView callId={applied.call.trim()} /> : null}
      {selected ? <Detail log={selected} onClose={() => setSelected(null)} /> : null}
      <section class="card" aria-label="Requests">
        {first.error ? <ErrorBox error={first.error} retry={first.reload} /> : null}
        {!first.data && first.loading ? <Loading what="requests" /> : null}
        {first.data && nodes.length === 0 ? (
          <Empty>No requests match. Usage records are written within a second of each request.</Empty>
        ) : null}
        {nodes.length > 0 ? (
          <div class="table-wrap">
            <table data-testid="logs">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Status</th>
                  <th scope="col">Route</th>
                  <th scope="col">Model</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Key</th>
                  <th scope="col" class="num">
                    Tokens
                  </th>
                  <th scope="col" class="num">
                    TTFT
                  </th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((l) => (
                  <tr key={l.id} class={selected?.id === l.id ? 'selected' : undefined} data-request-id={l.requestId}>
                    <td>
                      <button type="button" class="link" onClick={() => setSelected(l)}>
                        {fmtTime(l.createdAt)}
                      </button>
                    </td>
                    <td>
                      <span class={`badge ${statusClass(l.status)}`}>{l.status}</span>
                    </td>
                    <td>{l.route}</td>
                    <td>{l.requestedModel ?? '—'}</td>
                    <td>{l.provider ?? '—'}</td>
                    <td>{l.keyId ?? '—'}</td>
                    <td class="num">{fmtInt(l.totalTokens)}</td>
                    <td class="num">{fmtMs(l.ttftMs)}</td>
                    <td class="num">{fmtMs(l.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {moreError ? <ErrorBox error={moreError} /> : null}
        {hasMore ? (
          <div class="actions">
            <button type="button" onClick={loadMore}>
              Load older requests
            </button>
          </div>
        ) : null}
      </section>
    </div>
  );
}
