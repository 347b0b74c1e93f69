/**
 * Sandboxes: JavaScript (isolated-vm) and Python (Pyodide in worker threads), each a seeded REPL per
 * episode with a pool of warm runtimes, and one hidden-test runner for both.
 */
export { BOOTSTRAP_SOURCE } from './bootstrap.js';
export {
  type CodeLanguage,
  deepEqual,
  encodeValue,
  type HiddenTestOptions,
  runHiddenTests,
  stripCodeFence,
} from './hidden-tests.js';
export { clockStartFor, SandboxStartError } from './isolate.js';
export { buildForNode, IsolatedVmUnavailableError, isolatedVmInfo, loadIsolatedVm } from './ivm.js';
export { IsolatePool, type PoolOptions, sharedPool } from './pool.js';
export {
  formatPyResult,
  PY_DEFAULT_LIMITS,
  type PyPoolOptions,
  type PyRunOptions,
  PySandbox,
  type PySandboxOptions,
  PyWorkerPool,
  sharedPyPool,
} from './python/index.js';
export {
  type EvalResult,
  formatRunResult,
  formatUncaught,
  hardDeadlineMs,
  JsSandbox,
  type RunOptions,
  type SandboxOptions,
  truncationMarker,
} from './sandbox.js';
export {
  DEFAULT_LIMITS,
  type HiddenTest,
  type RunResult,
  type RunStatus,
  type SandboxLimits,
  type TestOutcome,
  type TestReport,
} from './types.js';
