/**
 * Routes: the models and aliases Parley serves with their targets (tried in order), where other
 * names go, and each provider's recent health — error rate and latency over the last minutes,
 * from the request log (/admin/routes).
 */
import { adminJson } from '../api';
import { Empty, ErrorBox, Loading, useLoad } from '../components';
import { fmtInt, fmtMs, fmtPct } from '../format';
import type { RouteTable } from '../shared';

function health(p: RouteTable['providers'][number]): { label: string; cls: string } {
  if (p.requests === 0 || p.errorRate === null) return { label: 'no traffic', cls: 'off' };
  if (p.errorRate >= 0.5) return { label: 'failing', cls: 'bad' };
  if (p.errorRate >= 0.05) return { label: 'degraded', cls: 'warn' };
  return { label: 'healthy', cls: 'ok' };
}

export function RoutesPage() {
  const table = useLoad(() => adminJson<RouteTable>('admin/routes'), []);
  const t = table.data;
  return (
    <div>
      {table.error ? <ErrorBox error={table.error} retry={table.reload} /> : null}
      {!t && table.loading ? <Loading what="routes" /> : null}
      {t ? (
        <>
          <section class="card" aria-labelledby="models-title">
            <h2 id="models-title">Models and aliases</h2>
            {t.models.length === 0 ? <Empty>No aliases configured.</Empty> : null}
            <div class="table-wrap">
              <table data-testid="routes">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Targets, in order</th>
                    <th scope="col">Fallback reply</th>
                  </tr>
                </thead>
                <tbody>
                  {t.models.map((m) => (
                    <tr key={m.model}>
                      <td>
                        <code>{m.model}</code>
                      </td>
                      <td>
                        <ol class="targets">
                          {m.targets.map((target) => (
                            <li key={`${target.provider}/${target.model}`}>
                              {target.provider} / <code>{target.model}</code>
                            </li>
                          ))}
                        </ol>
                      </td>
                      <td>{m.fallbackReply ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p class="hint">
              Other model names go to{' '}
              {t.defaultProvider ? <strong>{t.defaultProvider}</strong> : 'no provider (they get 404 model_not_found)'}
              {t.prefixes.length > 0
                ? `; names starting with ${t.prefixes.map((p) => `${p.prefix} → ${p.provider}`).join(', ')}`
                : ''}
              .
            </p>
          </section>
          <section class="card" aria-labelledby="providers-title">
            <h2 id="providers-title">Providers (last {t.windowMinutes} minutes)</h2>
            <div class="table-wrap">
              <table data-testid="providers">
                <thead>
                  <tr>
                    <th scope="col">Provider</th>
                    <th scope="col">Type</th>
                    <th scope="col">Health</th>
                    <th scope="col" class="num">
                      Requests
                    </th>
                    <th scope="col" class="num">
                      Error rate (5xx)
                    </th>
                    <th scope="col" class="num">
                      Latency p50 / p95
                    </th>
                    <th scope="col" class="num">
                      TTFT p50
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {t.providers.map((p) => {
                    const h = health(p);
                    return (
                      <tr key={p.id}>
                        <td>{p.id}</td>
                        <td>{p.type}</td>
                        <td>
                          <span class={`badge ${h.cls}`}>{h.label}</span>
                        </td>
                        <td class="num">{fmtInt(p.requests)}</td>
                        <td class="num">{fmtPct(p.errorRate)}</td>
                        <td class="num">
                          {fmtMs(p.p50Ms)} / {fmtMs(p.p95Ms)}
                        </td>
                        <td class="num">{fmtMs(p.ttftP50Ms)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </section>
        </>
      ) : null}
    </div>
  );
}
