/**
 * code-interp: tasks solved by running JavaScript in a sandboxed REPL.
 *
 * ## Observation
 * On reset: a system message (how to use the sandbox and how to answer) and a user message stating
 * the task. After each tool call: the call's result text: console output (capped, with a visible
 * truncation marker), then the value of the last expression, or the uncaught error, as a Node REPL
 * would show them.
 *
 * ## Tools
 * `run_code({code})`: runs JavaScript as a script in the episode's isolate (isolated-vm). State
 * persists across calls within an episode and never across episodes. No `require`, `import`,
 * `process`, file system, network or timers. `Math.random` and `Date` are seeded from the episode seed
 * (the clock is virtual and its time zone is UTC), so the same seed gives the same results.
 * Hostile code is contained: a run past the time limit is stopped (state kept); a run past the memory
 * limit resets the sandbox and says so; deep recursion and thrown values are ordinary errors.
 *
 * ## Reward
 * compute.* families: exact match after normalisation (`correct` in {0,1}; `format` says whether the
 * answer had the expected shape, weight 0). program family: the fraction of hidden tests the submitted
 * code passes in a fresh sandbox (`tests`), `correct` = 1 only when all pass. JSONL families: exact
 * match (text) or hidden tests, as each line says.
 *
 * ## Episode end
 * Terminated by an answer (`gym_submit`, or an answer action). Truncated by the session's step limit.
 * A tool error never ends the episode.
 *
 * ## Options
 * `create(options)` and `reset({options})`: `timeoutMs` (per run, default 2000), `memoryLimitMb`
 * (default 64), `outputLimit` (characters per run, default 8000). `createCodeInterpEnv({jsonl})` adds
 * task families loaded from JSONL files (see `jsonlFamily`).
 *
 * ## Version history
 * - 1.0.0: run_code on isolated-vm; families compute.bigint, compute.numtheory, compute.dates,
 *   compute.strings, compute.sim, program; JSONL user tasks.
 */
import { loadIsolatedVm } from '../../tools/sandbox/index.js';
import { defineToolEnv, type EnvDefinition, type TaskFamily, type TaskPublic } from '../core/index.js';
import { datesFamily, stringsFamily } from './families/dates-strings.js';
import { jsonlFamily } from './families/jsonl.js';
import { bigintFamily, numtheoryFamily } from './families/math.js';
import { programFamily } from './families/program.js';
import { simFamily } from './families/sim.js';
import { ENV_ID } from './family.js';
import { type CodeEpisode, createCodeEpisode, runCodeTool } from './tool.js';

export const CODE_INTERP_VERSION = '1.0.0';

export const builtinCodeFamilies: readonly TaskFamily<any>[] = [
  bigintFamily,
  numtheoryFamily,
  datesFamily,
  stringsFamily,
  simFamily,
  programFamily,
];

export function systemPrompt(task: TaskPublic): string {
  const answerHow =
    task.family === 'program' || task.prompt.startsWith('Write')
      ? 'When your function works, give the complete JavaScript source of the function as your final answer.'
      : 'When you know the result, give only the final value as your answer, e.g. <answer>42</answer>.';
  return [
    'You are solving a task with a JavaScript sandbox. Call the run_code tool to run code; its variables persist between calls.',
    'Print results with console.log. Use BigInt (e.g. 2n ** 64n) for exact integer arithmetic beyond 2^53.',
    answerHow,
  ].join('\n');
}

export interface CodeInterpEnvOptions {
  /** JSONL task files to add as families (`jsonl.<file name>`). */
  jsonl?: readonly string[];
  /** Replace the built-in families instead of adding to them. */
  onlyJsonl?: boolean;
}

/** Builds the code-interp environment definition, optionally with user task files. */
export function createCodeInterpEnv(opts: CodeInterpEnvOptions = {}): EnvDefinition {
  const user = (opts.jsonl ?? []).map((p) => jsonlFamily(p));
  const families = opts.onlyJsonl ? user : [...builtinCodeFamilies, ...user];
  return defineToolEnv<CodeEpisode>({
    id: ENV_ID,
    version: CODE_INTERP_VERSION,
    description: 'Solve computation and programming tasks by running JavaScript in a sandboxed, seeded REPL (isolated-vm).',
    families,
    tools: [runCodeTool],
    systemPrompt,
    createEpisode: (_task, ctx) => createCodeEpisode(ctx.seed, ctx.options),
    disposeEpisode: (ep) => ep.dispose(),
    // The isolated-vm build for the running Node: a missing or mismatched one says which `npm ci` fixes it.
    preflight: () => {
      loadIsolatedVm();
    },
  });
}

export const codeInterpEnv: EnvDefinition = createCodeInterpEnv();

export { type AnswerKind, answerWellFormed, normalizeAnswer } from './answer.js';
export { type JsonlRef, JsonlTaskError } from './families/jsonl.js';
export { bigintPyFamily, numtheoryPyFamily } from './families/math.js';
export type { ProgramRef } from './families/program.js';
export { PY_PROGRAM_TEMPLATES, programPyFamily, pyCallText, pyLiteral } from './families/program-py.js';
export { CODE_TOOL, type ComputeDraw, type ComputeRef, computeFamily, drawInSplit, PY_ENV_ID, splitOfPrompt } from './family.js';
export {
  builtinPyFamilies,
  CODE_INTERP_PY_VERSION,
  type CodeInterpPyEnvOptions,
  codeInterpPyEnv,
  createCodeInterpPyEnv,
  PyCodeEpisode,
  pySystemPrompt,
  runPythonDescription,
  runPythonTool,
} from './python.js';
export { type CodeEpisode, type CodeInterpOptions, RUN_CODE_DESCRIPTION, runCodeTool } from './tool.js';
export { bigintFamily, datesFamily, jsonlFamily, numtheoryFamily, programFamily, simFamily, stringsFamily };
