/** Python sandbox (Pyodide in worker threads): a seeded REPL per episode, a pool of warm interpreters. */
export { HARNESS_SOURCE } from './harness.js';
export { type PyPoolOptions, PyWorker, PyWorkerDiedError, PyWorkerPool, sharedPyPool } from './pool.js';
export { formatPyResult, PY_DEFAULT_LIMITS, type PyRunOptions, PySandbox, type PySandboxOptions } from './sandbox.js';
