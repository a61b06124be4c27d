/**
 * Playground: pick a model or alias, write a system and a user message, and watch the answer
 * stream token by token, with time to first token, tokens (and cost when Parley reports one),
 * and the same request as curl and with the OpenAI SDK.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { adminJson, rootUrl, streamChat } from '../api';
import { CopyButton, ErrorBox } from '../components';
import { fmtInt, fmtMs, fmtUsd } from '../format';
import { type RouteTable, shared } from '../shared';

interface Result {
  text: string;
  ttftMs: number | null;
  durationMs: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  costUsd: number | null;
  requestId: string | null;
}

const EMPTY: Result = {
  text: '',
  ttftMs: null,
  durationMs: null,
  promptTokens: null,
  completionTokens: null,
  costUsd: null,
  requestId: null,
};

function snippets(model: string, system: string, user: string) {
  const messages = [
    ...(system.trim() ? [{ role: 'system', content: system }] : []),
    { role: 'user', content: user || 'Hello!' },
  ];
  const body = JSON.stringify({ model, stream: true, messages }, null, 2);
  const curl = `curl -N ${rootUrl}/v1/chat/completions \\
  -H 'Content-Type: application/json' \\
  -H "Authorization: Bearer $PARLEY_API_KEY" \\
  -d '${body.replaceAll("'", "'\\''")}'`;
  const sdk = `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${rootUrl}/v1', apiKey: process.env.PARLEY_API_KEY });
const stream = await client.chat.completions.create(${JSON.stringify({ model, stream: true, messages }, null, 2).replaceAll('\n', '\n')});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`;
  return { curl, sdk };
}

export function PlaygroundPage() {
  const [models, setModels] = useState<string[]>([]);
  const [modelsError, setModelsError] = useState<unknown>(null);
  const [key, setKey] = useState(shared.clientKey);
  const [model, setModel] = useState('default');
  const [system, setSystem] = useState('You are a helpful assistant.');
  const [user, setUser] = useState('Tell me a joke');
  const [result, setResult] = useState<Result>(EMPTY);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController | null>(null);

  // What GET /v1/models lists (the aliases, then the default upstream's models), asked with the admin key.
  useEffect(() => {
    let live = true;
    adminJson<RouteTable>('admin/routes').then(
      (table) => live && setModels(table.listed),
      (err: unknown) => live && setModelsError(err),
    );
    return () => {
      live = false;
    };
  }, []);

  const send = async (e?: Event) => {
    e?.preventDefault();
    if (running) return;
    const ac = new AbortController();
    abort.current = ac;
    setRunning(true);
    setError(null);
    const start = performance.now();
    let r: Result = { ...EMPTY };
    setResult(r);
    try {
      const messages = [
        ...(system.trim() ? [{ role: 'system', content: system }] : []),
        { role: 'user', content: user },
      ];
      const requestId = await streamChat(
        key.trim(),
        { model, messages },
        (chunk) => {
          const delta = chunk.choices?.[0]?.delta?.content ?? '';
          r = {
            ...r,
            text: r.text + delta,
            ttftMs: r.ttftMs ?? (delta ? performance.now() - start : null),
            promptTokens: chunk.usage?.prompt_tokens ?? r.promptTokens,
            completionTokens: chunk.usage?.completion_tokens ?? r.completionTokens,
            // Cost: shown when Parley adds one to the usage chunk (the cost work); otherwise see Usage.
            costUsd: chunk.usage?.cost_usd ?? r.costUsd,
          };
          setResult(r);
        },
        ac.signal,
      );
      setResult({ ...r, durationMs: performance.now() - start, requestId });
    } catch (err) {
      if (!ac.signal.aborted) setError(err);
      setResult({ ...r, durationMs: performance.now() - start });
    } finally {
      setRunning(false);
      abort.current = null;
    }
  };

  const { curl, sdk } = snippets(model, system, user);
  return (
    <div class="playground">
      <form class="card" onSubmit={send}>
        <div class="row">
          <label>
            Model
            <select value={model} onChange={(e) => setModel(e.currentTarget.value)} data-testid="model">
              {(models.includes(model) ? models : [model, ...models]).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label class="grow">
            Client API key
            <input
              type="password"
              autocomplete="off"
              placeholder="a Parley key (empty: Parley running open, from this machine)"
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
              data-testid="client-key"
            />
          </label>
        </div>
        {modelsError ? <ErrorBox error={modelsError} /> : null}
        <label>
          System message
          <textarea rows={2} value={system} onInput={(e) => setSystem(e.currentTarget.value)} />
        </label>
        <label>
          User message
          <textarea
            rows={4}
            value={user}
            required
            onInput={(e) => setUser(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e);
            }}
          />
        </label>
        <div class="actions">
          <button type="submit" disabled={running || !user.trim()}>
            {running ? 'Streaming…' : 'Send'}
          </button>
          {running && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
          <span class="hint">Ctrl+Enter sends</span>
        </div>
      </form>

      <section class="card" aria-labelledby="answer-title">
        <h2 id="answer-title">Answer</h2>
        <output class="answer" aria-live="polite" data-testid="answer">
          {result.text || (running ? '…' : <span class="muted">The answer streams here.</span>)}
        </output>
        {error ? <ErrorBox error={error} /> : null}
        <dl class="stats">
          <div>
            <dt>Time to first token</dt>
            <dd data-testid="ttft">{fmtMs(result.ttftMs)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{fmtMs(result.durationMs)}</dd>
          </div>
          <div>
            <dt>Tokens in / out</dt>
            <dd data-testid="tokens">
              {fmtInt(result.promptTokens)} / {fmtInt(result.completionTokens)}
            </dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd>{fmtUsd(result.costUsd)}</dd>
          </div>
          <div>
            <dt>Request id</dt>
            <dd>{result.requestId ? <a href={`#/logs?request=${result.requestId}`}>{result.requestId}</a> : '—'}</dd>
          </div>
        </dl>
      </section>

      <section class="card" aria-labelledby="code-title">
        <h2 id="code-title">The same request in code</h2>
        <h3>
          curl <CopyButton text={curl} />
        </h3>
        <pre>
          <code>{curl}</code>
        </pre>
        <h3>
          JavaScript (openai SDK) <CopyButton text={sdk} />
        </h3>
        <pre>
          <code>{sdk}</code>
        </pre>
      </section>
    </div>
  );
}
