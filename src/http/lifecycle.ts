/** Readiness as /health reports it: 503 while starting or shutting down, 200 in between. */
export type Phase = 'starting' | 'ready' | 'shutting_down';

export class Lifecycle {
  phase: Phase = 'starting';

  get ready(): boolean {
    return this.phase === 'ready';
  }
}
