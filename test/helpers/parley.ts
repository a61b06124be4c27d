/** Starts a real Parley on an ephemeral loopback port for a test, with settings overrides. */
import { readSettings, type Settings } from '../../src/config/env.js';
import type { FileConfig } from '../../src/config/file.js';
import { createParley, type Parley } from '../../src/server.js';
import type { RequestRecord, UsageSink } from '../../src/usage/record.js';

export interface TestParley {
  url: string; // root, e.g. http://127.0.0.1:1234
  parley: Parley;
  close(): Promise<void>;
}

export async function startParley(
  env: Record<string, string> = {},
  fileConfig?: FileConfig,
  extra: Partial<Settings> = {},
  usage?: UsageSink,
): Promise<TestParley> {
  const settings: Settings = {
    ...readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', LOG_LEVEL: 'silent', ...env }),
    port: 0,
    ...extra,
  };
  const parley = await createParley({ settings, fileConfig, usage });
  const url = await parley.listen();
  return { url, parley, close: () => parley.shutdown() };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Reads an SSE response into its data payloads (including "[DONE]"). */
export async function sseEvents(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.trim())
    .map((e) => {
      if (!e.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(e)}`);
      return e.slice(6);
    });
}

/** A usage sink that keeps records in memory, for assertions. */
export function memorySink(): UsageSink & { records: RequestRecord[] } {
  const records: RequestRecord[] = [];
  return { records, record: (r) => void records.push(r), flush: async () => {} };
}
