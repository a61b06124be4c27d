/**
 * The usage writer as docs/data.md describes it: one batch every PARLEY_USAGE_FLUSH_MS or every
 * 1,000 records, failed writes retried with backoff (doubling, capped), and the shutdown flush
 * retrying a failing database until its deadline instead of giving up at the first failure.
 * Driven through a stand-in for the database write, so every attempt is seen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { BatchedUsageSink, type PendingRecord } from '../src/store/usage-sink.js';
import { eventually } from './helpers/store.js';
import { sampleRecord } from './helpers/usage-record.js';

const silent = pino({ level: 'silent' });

const usageRecord = (requestId: string) => sampleRecord(requestId);

describe('usage writer batches', () => {
  it('writes at once when 1,000 records are waiting, not before (the flush timer is an hour away)', async () => {
    const batches: number[] = [];
    const sink = new BatchedUsageSink(async (batch) => void batches.push(batch.length), silent, {
      maxBuffer: 10_000,
      flushIntervalMs: 3_600_000,
    });
    try {
      for (let i = 0; i < 999; i++) sink.record(usageRecord(`b-${i}`));
      await sleep(50); // a few turns of the event loop: nothing may be written at 999
      assert.deepEqual(batches, [], '999 records are not a batch');
      sink.record(usageRecord('b-999'));
      await eventually(() => batches.length === 1, 'a batch written without the timer');
      assert.deepEqual(batches, [1000]);
      assert.equal(sink.pending, 0);
    } finally {
      sink.close();
    }
  });
});

describe('usage writer retries', () => {
  it('retries a failing write with a doubling backoff, capped, not sooner', async () => {
    const MIN = 40;
    const MAX = 160;
    const attempts: number[] = [];
    let failures = 7;
    const sink = new BatchedUsageSink(
      async () => {
        attempts.push(performance.now());
        if (failures-- > 0) throw new Error('database unreachable');
      },
      silent,
      { maxBuffer: 100, flushIntervalMs: 10, retryMinMs: MIN, retryMaxMs: MAX },
    );
    try {
      sink.record(usageRecord('retry-1'));
      await eventually(() => sink.pending === 0, 'the record written once the database answers', 30_000);
      assert.equal(attempts.length, 8, 'seven failures, then the write that succeeded');
      const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
      const due = [40, 80, 160, 160, 160, 160, 160]; // doubling from MIN, capped at MAX
      for (const [i, gap] of gaps.entries()) {
        assert.ok(
          gap >= due[i]! - 2,
          `retry ${i + 1} came after ${gap.toFixed(0)} ms, before its backoff of ${due[i]} ms`,
        );
      }
      // Capped: uncapped, the last wait would be 40 × 2⁶ = 2,560 ms.
      assert.ok(
        gaps.at(-1)! < 1_500,
        `the last retry waited ${gaps.at(-1)!.toFixed(0)} ms: the backoff is not capped at ${MAX} ms`,
      );
    } finally {
      sink.close();
    }
  });

  it('waits the documented 0.25 s, then 0.5 s, before its first retries (docs/data.md: 0.25 s doubling to 30 s)', async () => {
    const attempts: number[] = [];
    let failures = 2;
    const sink = new BatchedUsageSink(
      async () => {
        attempts.push(performance.now());
        if (failures-- > 0) throw new Error('database unreachable');
      },
      silent,
      { maxBuffer: 100, flushIntervalMs: 10 },
    );
    try {
      sink.record(usageRecord('retry-default'));
      await eventually(() => sink.pending === 0, 'the record written once the database answers', 30_000);
      const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
      assert.equal(gaps.length, 2);
      assert.ok(gaps[0]! >= 248, `first retry after ${gaps[0]!.toFixed(0)} ms, before 250 ms`);
      assert.ok(gaps[1]! >= 498, `second retry after ${gaps[1]!.toFixed(0)} ms, before 500 ms`);
    } finally {
      sink.close();
    }
  });

  it('keeps retrying during the shutdown flush until the database takes the records, spilling nothing', async () => {
    let failures = 3;
    const written: string[] = [];
    const spilled: PendingRecord[][] = [];
    const sink = new BatchedUsageSink(
      async (batch) => {
        if (failures-- > 0) throw new Error('database restarting');
        written.push(...batch.map((p) => p.r.requestId));
      },
      silent,
      {
        maxBuffer: 100,
        flushIntervalMs: 3_600_000,
        retryMinMs: 20,
        retryMaxMs: 40,
        spill: (records) => {
          spilled.push(records);
          return 'the-file';
        },
      },
    );
    try {
      for (const id of ['s-1', 's-2']) sink.record(usageRecord(id));
      await sink.flush(20_000);
      assert.deepEqual(written, ['s-1', 's-2']);
      assert.deepEqual(spilled, [], 'nothing spilled: the deadline was far');
      assert.equal(sink.pending, 0);
    } finally {
      sink.close();
    }
  });
});
