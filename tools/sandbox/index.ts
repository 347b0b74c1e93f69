/** JavaScript sandbox (isolated-vm): a seeded REPL per episode, a pool of warm isolates, hidden tests. */
export { BOOTSTRAP_SOURCE } from './bootstrap.js';
export { deepEqual, encodeValue, type HiddenTestOptions, runHiddenTests, stripCodeFence } from './hidden-tests.js';
export { clockStartFor, SandboxStartError } from './isolate.js';
export { buildForNode, IsolatedVmUnavailableError, isolatedVmInfo, loadIsolatedVm } from './ivm.js';
export { IsolatePool, type PoolOptions, sharedPool } from './pool.js';
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
