/** Chat requests in flight, so shutdown can end the streams that outlive its grace period. */
import { errors } from '../../protocol/errors.js';

export class Inflight {
  private readonly requests = new Set<AbortController>();

  add(ac: AbortController): void {
    this.requests.add(ac);
  }

  delete(ac: AbortController): void {
    this.requests.delete(ac);
  }

  get size(): number {
    return this.requests.size;
  }

  /** Ends every request still running: each stream ends with a shutting_down error event. */
  abortAll(): void {
    const reason = errors.streamShutDown();
    for (const ac of this.requests) ac.abort(reason);
  }
}
