/** How the embedded database (PGlite) is run: settings shared by its worker and its tests. */

/**
 * PostgreSQL settings for an embedded database that shares a machine with the gateway.
 * PGlite's default shared_buffers is 128 MB, all of it resident once used; usage rows are
 * written once and read rarely, so 16 MB is plenty (the OS page cache holds the files too).
 * Measured side by side (docs/benchmarks.md), together with the separate init worker: idle
 * RSS of the whole process 918 → 378 MiB.
 */
export const EMBEDDED_START_PARAMS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB'];

/**
 * Nice value of the serving worker's thread. On a core shared with the request thread,
 * a usage batch running in PostgreSQL's WebAssembly made requests arriving meanwhile wait
 * for the core (event-loop delay p99 6.5 ms against the bare proxy's 3.4 ms in the
 * benchmark; 3.5 ms at this priority). A lower priority lets the request thread preempt it, while the weight of
 * nice 5 still guarantees the writer about a quarter of a fully busy core, more than the
 * usage rows of that much traffic need (docs/benchmarks.md). Several cores: no effect.
 */
export const EMBEDDED_WORKER_NICE = 5;
