/**
 * Requests refused for authentication: counted here, never recorded as usage.
 *
 * Anyone can send a request without a key, thousands per second; a usage row (or an info log
 * line) for each would let them fill the disk, and fill the bounded usage buffer during a
 * database outage so that real requests' records were dropped. So a refusal only increments
 * a counter, and a warning line summarises them at most once per REPORT_EVERY_MS.
 */
import type { FastifyBaseLogger } from 'fastify';

/** At most one summary line per this interval, however many refusals. */
const REPORT_EVERY_MS = 10_000;

export class AuthFailures {
  /** Refusals since start. */
  total = 0;
  /** Refusals since start by error code (missing_api_key, invalid_api_key, api_key_required, vapi_no_credential). */
  readonly byCode: Record<string, number> = {};
  /** Refusals since the last line; the next line includes them. */
  private unreported = 0;
  private lastReport = -Infinity;

  constructor(private readonly reportEveryMs = REPORT_EVERY_MS) {}

  note(code: string, log: FastifyBaseLogger, remoteAddress: string | undefined): void {
    this.total++;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    this.unreported++;
    const now = performance.now();
    if (now - this.lastReport < this.reportEveryMs) return;
    // The request's logger: the line carries this (latest) refusal's request id.
    log.warn(
      { refused: this.unreported, total: this.total, byCode: this.byCode, code, remoteAddress },
      `requests refused for authentication (one line per ${this.reportEveryMs / 1000} s at most; not recorded as usage)`,
    );
    this.lastReport = now;
    this.unreported = 0;
  }
}
