/**
 * Harness errors of envs/core. A tool failure is never one of these: it is a result with
 * `isError: true`. These are thrown when the harness itself is misused or misconfigured, and each
 * message says what to do next.
 */

export class ToolgymError extends Error {
  override name = 'ToolgymError';
}

/** `getEnv(id)` with an id nobody registered. */
export class UnknownEnvError extends ToolgymError {
  override name = 'UnknownEnvError';
  constructor(
    readonly envId: string,
    known: readonly string[],
  ) {
    super(
      `Unknown environment "${envId}". Known: ${known.length ? known.join(', ') : '(none)'}. Run \`gym envs\` to list environments.`,
    );
  }
}

/** Options an environment's factory does not take, or options for an environment that takes none. */
export class EnvOptionsError extends ToolgymError {
  override name = 'EnvOptionsError';
}

/** Two environments registered under one id. */
export class DuplicateEnvError extends ToolgymError {
  override name = 'DuplicateEnvError';
  constructor(readonly envId: string) {
    super(`An environment with id "${envId}" is already registered; pick another id or pass { replace: true }.`);
  }
}

/** A task id that does not parse or names no family / index of the environment. */
export class UnknownTaskError extends ToolgymError {
  override name = 'UnknownTaskError';
  constructor(
    readonly taskId: string,
    why: string,
  ) {
    super(
      `Unknown task "${taskId}": ${why}. Task ids look like <env>/<family>/<split>/<index>; call gym_list_tasks to list them.`,
    );
  }
}

/** `step` before `reset` (or after `close`) on an `Environment`. */
export class EpisodeNotStartedError extends ToolgymError {
  override name = 'EpisodeNotStartedError';
  constructor(envId: string) {
    super(`Environment "${envId}" has no running episode: call reset() before step().`);
  }
}

/**
 * The environment's own machinery failed inside a tool (a sandbox that cannot start, a browser that
 * crashed): not the policy's doing. Thrown from a tool handler it ends the episode `aborted`
 * (`toolgym/aborted` in `_meta`; masked from training, left out of success rates) instead of
 * becoming an error result the policy is charged with. Errors from `tools/`, which cannot import this
 * class, carry the same `envFault` marker.
 */
export class EnvFaultError extends ToolgymError {
  override name = 'EnvFaultError';
  readonly envFault = true;
}

/** Whether a tool's error is a fault of the environment's machinery (see `EnvFaultError`). */
export function isEnvFault(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { envFault?: unknown }).envFault === true;
}

/** A server option that would be unsafe or cannot work (e.g. a public bind without a token). */
export class ServerConfigError extends ToolgymError {
  override name = 'ServerConfigError';
}
