/**
 * The `run_code` tool and the per-episode state it works on (one JavaScript REPL sandbox).
 */
import { z } from 'zod';
import { formatRunResult, JsSandbox, type SandboxLimits, type SandboxOptions } from '../../tools/sandbox/index.js';
import type { ToolResult, ToolSpec } from '../core/index.js';

/**
 * One episode's sandbox, built on the first call that needs it, not at reset: an episode that never
 * runs code, such as one a client started and abandoned, holds none. It is built from the episode's
 * seed either way, so its clock and random numbers are the same.
 */
export class LazySandbox<S extends { dispose(): void }> {
  #sandbox?: Promise<S>;
  constructor(private readonly make: () => Promise<S>) {}

  sandbox(): Promise<S> {
    this.#sandbox ??= this.make();
    return this.#sandbox;
  }

  /** Whether the sandbox was built (tests and benchmarks). */
  get started(): boolean {
    return this.#sandbox !== undefined;
  }

  async dispose(): Promise<void> {
    const pending = this.#sandbox;
    this.#sandbox = undefined;
    if (pending) (await pending.catch(() => undefined))?.dispose();
  }
}

/** One episode's JavaScript REPL (an isolate, about 1.2 MB once built). */
export class CodeEpisode extends LazySandbox<JsSandbox> {
  constructor(readonly options: SandboxOptions) {
    super(() => JsSandbox.create(options));
  }
}

/** Env options read from `create(options)` / reset options (all optional). */
export interface CodeInterpOptions {
  timeoutMs?: number;
  memoryLimitMb?: number;
  outputLimit?: number;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Reads sandbox limits from untyped env options, ignoring values of the wrong type or range. */
export function limitsFromOptions(options: Record<string, unknown>): Partial<SandboxLimits> {
  const out: Partial<SandboxLimits> = {};
  const num = (k: string, lo: number, hi: number): number | undefined => {
    const v = options[k];
    return typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : undefined;
  };
  const t = num('timeoutMs', 1, 600_000);
  const m = num('memoryLimitMb', 8, 4096);
  const o = num('outputLimit', 100, 10_000_000);
  if (t !== undefined) out.timeoutMs = t;
  if (m !== undefined) out.memoryLimitMb = m;
  if (o !== undefined) out.outputLimit = o;
  return out;
}

export function createCodeEpisode(seed: number, options: Record<string, unknown>): CodeEpisode {
  return new CodeEpisode({ seed, ...limitsFromOptions(options) });
}

// ---------------------------------------------------------------------------------------------
// The tool

export const RUN_CODE_DESCRIPTION = [
  'Run JavaScript in a persistent sandbox (like a Node.js REPL without Node APIs) and return what it printed.',
  'State persists between calls: top-level variables, functions and classes stay defined.',
  'Use console.log to print results; the value of the last expression is shown after the output.',
  'BigInt (123n) gives exact big integers. There is no require, import, process, file system, network or timers.',
  'Each call has a time and memory limit; long output is truncated.',
].join(' ');

/** What a code tool needs of its episode's sandbox. */
interface CodeSandbox<R> {
  readonly limits: SandboxLimits;
  run(code: string): Promise<R>;
  dispose(): void;
}

/**
 * A tool that runs its `code` argument in the episode's sandbox and shows the result as
 * `format` words it (`run_code`, `run_python`).
 */
export function sandboxTool<S extends CodeSandbox<R>, R>(o: {
  name: string;
  title: string;
  description: string;
  code: string;
  format: (r: R, limits: SandboxLimits) => { text: string; isError: boolean };
}): ToolSpec<LazySandbox<S>, { code: z.ZodString }> {
  return {
    name: o.name,
    title: o.title,
    description: o.description,
    inputSchema: { code: z.string().min(1).describe(o.code) },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async handler(args, episode, ctx): Promise<ToolResult> {
      if (ctx.signal.aborted)
        return { content: [{ type: 'text', text: 'Error: the call was cancelled before the code ran.' }], isError: true };
      // A sandbox that cannot start is the environment's fault (SandboxStartError is an env fault): the episode aborts.
      const sandbox = await episode.sandbox();
      const { text, isError } = o.format(await sandbox.run(args.code), sandbox.limits);
      return isError ? { content: [{ type: 'text', text }], isError: true } : { content: [{ type: 'text', text }] };
    },
  };
}

export const runCodeTool: ToolSpec<CodeEpisode, { code: z.ZodString }> = sandboxTool({
  name: 'run_code',
  title: 'Run JavaScript',
  description: RUN_CODE_DESCRIPTION,
  code: 'JavaScript source to run as a script in the sandbox, e.g. "console.log(2n ** 100n)". Top-level await is allowed.',
  format: formatRunResult,
});
