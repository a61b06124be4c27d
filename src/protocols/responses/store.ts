/**
 * Where stored responses live (`store`, default true): the response object and this turn's
 * input items, owned by the key that created it. previous_response_id reads a chain of them
 * back as history. Two implementations: the database's (src/store/responses.ts, what Parley
 * runs with) and a bounded in-memory one for a Parley built without a database (tests, embedding).
 */
import type { Item } from './items.js';
import type { ResponseObject } from './response.js';

export interface StoredResponse {
  id: string;
  /** The key that created it (its Principal keyId; "open" when Parley runs without keys). */
  keyId: string;
  previousResponseId: string | null;
  response: ResponseObject;
  /** This turn's input items (not the history before them), with ids. */
  inputItems: Item[];
  createdAt: Date;
}

export interface ResponseStore {
  save(r: StoredResponse): Promise<void>;
  /** The response if it exists and belongs to `keyId`, else null (another key's is "not found" too). */
  get(id: string, keyId: string): Promise<StoredResponse | null>;
  /** Whether one was deleted. */
  delete(id: string, keyId: string): Promise<boolean>;
  /** Deletes what was created before `cutoff`; returns how many. */
  deleteOlderThan(cutoff: Date): Promise<number>;
}

/** Longest previous_response_id chain followed: a bound on the lookups one request can cause. */
export const MAX_CHAIN = 1000;

/**
 * The conversation before a new turn: along the previous_response_id chain, oldest first, each
 * response's input items then its output. The response named must exist for this key (else
 * null: a 404); an older link that is gone (deleted, or past retention) ends the history there.
 */
export async function historyOf(store: ResponseStore, id: string, keyId: string): Promise<Item[] | null> {
  const first = await store.get(id, keyId);
  if (!first) return null;
  const turns: StoredResponse[] = [first];
  let prev = first.previousResponseId;
  const seen = new Set([first.id]);
  while (prev && turns.length < MAX_CHAIN && !seen.has(prev)) {
    seen.add(prev);
    const r = await store.get(prev, keyId);
    if (!r) break;
    turns.push(r);
    prev = r.previousResponseId;
  }
  return turns.reverse().flatMap((t) => [...t.inputItems, ...t.response.output]);
}

/** Kept in process memory: the newest `max` responses, for a Parley without a database. */
export class MemoryResponseStore implements ResponseStore {
  private readonly byId = new Map<string, StoredResponse>();

  constructor(private readonly max = 10_000) {}

  async save(r: StoredResponse): Promise<void> {
    this.byId.set(r.id, structuredClone(r));
    // Maps iterate in insertion order: the first key is the oldest.
    while (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value!);
  }

  async get(id: string, keyId: string): Promise<StoredResponse | null> {
    const r = this.byId.get(id);
    return r && r.keyId === keyId ? structuredClone(r) : null;
  }

  async delete(id: string, keyId: string): Promise<boolean> {
    const r = this.byId.get(id);
    if (!r || r.keyId !== keyId) return false;
    return this.byId.delete(id);
  }

  async deleteOlderThan(cutoff: Date): Promise<number> {
    let n = 0;
    for (const [id, r] of this.byId) {
      if (r.createdAt < cutoff) {
        this.byId.delete(id);
        n++;
      }
    }
    return n;
  }
}
