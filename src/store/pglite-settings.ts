/** How the embedded database (PGlite) is run: settings shared by its worker and its tests. */

/**
 * PostgreSQL settings for an embedded database that shares a machine with the gateway.
 * PGlite's default shared_buffers is 128 MB, all of it resident once used; usage rows are
 * written once and read rarely, so 16 MB is plenty (the OS page cache holds the files too).
 * Measured (docs/benchmarks.md): idle RSS of the whole process 884 MiB → about 250 MiB
 * together with the separate init worker.
 */
export const EMBEDDED_START_PARAMS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB'];

/**
 * Nice value of the serving worker's thread. On a core shared with the request thread,
 * a usage batch running in PostgreSQL's WebAssembly made requests arriving meanwhile wait
 * for the core (event-loop delay p99 ~5 ms against ~2 ms for the bare proxy in the
 * benchmark). A lower priority lets the request thread preempt it, while the weight of
 * nice 5 still guarantees the writer about a quarter of a fully busy core, more than the
 * usage rows of that much traffic need (docs/benchmarks.md). Several cores: no effect.
 */
export const EMBEDDED_WORKER_NICE = 5;
