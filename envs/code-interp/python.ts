/**
 * code-interp-py: tasks solved by running Python in a sandboxed REPL (Pyodide, CPython 3.14 in
 * WebAssembly, offline from the npm package).
 *
 * ## Observation
 * On reset: a system message (how to use the sandbox and how to answer) and a user message stating
 * the task. After each tool call: the call's result text: stdout and stderr (capped, with the same
 * visible truncation marker as JavaScript), then the `repr()` of the last expression, or the
 * traceback, as Python's REPL shows them.
 *
 * ## Tools
 * `run_python({code})`: runs Python in the episode's interpreter. State (variables, functions,
 * classes, imports) persists across calls within an episode and never across episodes: each
 * episode starts from the interpreter's baseline memory image. Only the standard library is
 * available (plus the wheels of a folder the user names with the `wheels` option); no network,
 * subprocess, `js` module, `pyodide.ffi`, `ctypes` or host file system, and files can be written
 * only under /tmp and /home/pyodide (emptied between episodes). `random`, `os.urandom` and the clock
 * (`time`, `datetime`; UTC; `time.sleep` advances it without waiting) are seeded from the episode
 * seed, so the same seed gives the same results. Hostile code is contained: past the time limit
 * the run is stopped by KeyboardInterrupt (state kept), or, if it cannot be interrupted, the
 * interpreter is replaced (state reset, said so); MemoryError at the memory cap resets the state and
 * says so; a crashed interpreter is replaced and the call says so.
 *
 * Why a separate environment and tool, not `run_code({language})`: the tool schemas are part of the
 * system prompt the chat template renders, so adding a `language` field to `run_code` would change
 * the prompt, and the token ids, of every existing JavaScript code-interp task, trajectory and
 * checkpoint. A second environment keeps code-interp byte-for-byte as it was and gives Python its
 * own tool whose name says the language (`run_python`), its own task ids (`code-interp-py/...`) and
 * its own version history; `gym train|eval|serve --env code-interp-py` work as for any environment.
 *
 * ## Reward
 * compute.* families: exact match after normalisation (`correct` in {0,1}; `format`, weight 0).
 * program family: the fraction of hidden tests (Python expressions) the submitted code passes in a
 * fresh interpreter (`tests`); `correct` = 1 only when all pass. JSONL families: exact match (text)
 * or hidden tests, as each line says (lines with `"language": "python"`).
 *
 * ## Episode end
 * Terminated by an answer (`gym_submit`, or an answer action). Truncated by the session's step limit.
 * A tool error never ends the episode.
 *
 * ## Options
 * `create(options)` and `reset({options})`: `timeoutMs` (per run, default 2000), `memoryLimitMb`
 * (the interpreter's memory cap, default 256), `outputLimit` (characters per run, default 8000).
 * `createCodeInterpPyEnv({jsonl, onlyJsonl, wheels})`: task files (their Python lines), and a folder
 * of Pyodide wheels (`*.whl` built for Pyodide 314, e.g. numpy's) that every interpreter loads at start.
 *
 * ## Version history
 * - 1.0.0: run_python on Pyodide 314 (Python 3.14); families compute.bigint, compute.numtheory
 *   (the JavaScript environment's tasks, solved in Python) and program (Python templates); JSONL
 *   user tasks with `"language": "python"`; a user wheels folder.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { formatPyResult, PySandbox, type PySandboxOptions, PyWorkerPool, SandboxStartError } from '../../tools/sandbox/index.js';
import { defineToolEnv, type EnvDefinition, type TaskFamily, type TaskPublic, type ToolSpec } from '../core/index.js';
import { jsonlFamily } from './families/jsonl.js';
import { bigintPyFamily, numtheoryPyFamily } from './families/math.js';
import { programPyFamily } from './families/program-py.js';
import { PY_ENV_ID } from './family.js';
import { LazySandbox, limitsFromOptions, sandboxTool } from './tool.js';

export const CODE_INTERP_PY_VERSION = '1.0.0';

export const builtinPyFamilies: readonly TaskFamily<any>[] = [bigintPyFamily, numtheoryPyFamily, programPyFamily];

/** One episode's interpreter, taken from the pool on the first `run_python` (an idle episode holds none). */
export class PyCodeEpisode extends LazySandbox<PySandbox> {
  constructor(readonly options: PySandboxOptions) {
    super(() => PySandbox.create(options));
  }
}

// ---------------------------------------------------------------------------------------------
// Pure functions

export function runPythonDescription(packages: readonly string[] = []): string {
  const extra =
    packages.length > 0
      ? `Only the standard library and these packages are installed: ${packages.join(', ')}; nothing can be installed.`
      : 'Only the standard library is installed (no numpy, pandas or pip installs).';
  return [
    'Run Python 3 in a persistent sandbox (like the python REPL) and return what it printed.',
    'State persists between calls: variables, functions, classes and imports stay defined.',
    'Use print() to show results; the value of the last expression is shown after the output, as the REPL shows it.',
    extra,
    'There is no network, subprocess or host access; files can be written only under /tmp.',
    'Each call has a time and memory limit; long output is truncated.',
  ].join(' ');
}

export function pySystemPrompt(task: TaskPublic): string {
  const answerHow =
    task.family === 'program' || task.prompt.startsWith('Write')
      ? 'When your function works, give the complete Python source of the function as your final answer.'
      : 'When you know the result, give only the final value as your answer, e.g. <answer>42</answer>.';
  return [
    'You are solving a task with a Python sandbox. Call the run_python tool to run code; its variables persist between calls.',
    'Print results with print(). Python integers are exact at any size.',
    answerHow,
  ].join('\n');
}

/** Package names of the wheels in a folder (`numpy-2.2.5-cp314-...whl` -> `numpy`). */
export function wheelPackages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.whl'))
    .map((f) => f.split('-')[0])
    .sort();
}

export function createPyCodeEpisode(seed: number, options: Record<string, unknown>, pool?: PyWorkerPool): PyCodeEpisode {
  return new PyCodeEpisode({ seed, ...limitsFromOptions(options), ...(pool ? { pool } : {}) });
}

// ---------------------------------------------------------------------------------------------
// The tool

export function runPythonTool(packages: readonly string[] = []): ToolSpec<PyCodeEpisode, { code: z.ZodString }> {
  return sandboxTool({
    name: 'run_python',
    title: 'Run Python',
    description: runPythonDescription(packages),
    code: 'Python source to run in the sandbox, e.g. "print(2 ** 100)". The last expression\'s value is shown.',
    format: formatPyResult,
  });
}

// ---------------------------------------------------------------------------------------------
// The environment

export interface CodeInterpPyEnvOptions {
  /** JSONL task files; their `"language": "python"` lines become families (`jsonl.<file name>`). */
  jsonl?: readonly string[];
  /** Replace the built-in families instead of adding to them. */
  onlyJsonl?: boolean;
  /** Folder of Pyodide wheels every interpreter of this environment loads at start. */
  wheels?: string;
}

/** Fails early, saying what to do, when Pyodide's package is not installed. */
function pyodidePreflight(): void {
  try {
    createRequire(import.meta.url).resolve('pyodide/package.json');
  } catch {
    throw new SandboxStartError('the pyodide package is not installed: run `npm ci` (it is a dependency of toolgym).');
  }
}

export function createCodeInterpPyEnv(opts: CodeInterpPyEnvOptions = {}): EnvDefinition {
  const user = (opts.jsonl ?? []).map((p) => jsonlFamily(p, { language: 'python' }));
  const families = opts.onlyJsonl ? user : [...builtinPyFamilies, ...user];
  // A wheels folder needs interpreters of its own: the shared pool's have only the standard library.
  const pool = opts.wheels ? new PyWorkerPool({ wheelsDir: opts.wheels }) : undefined;
  const packages = opts.wheels ? wheelPackages(opts.wheels) : [];
  return defineToolEnv<PyCodeEpisode>({
    id: PY_ENV_ID,
    version: CODE_INTERP_PY_VERSION,
    description: 'Solve computation and programming tasks by running Python in a sandboxed, seeded REPL (Pyodide).',
    families,
    tools: [runPythonTool(packages)],
    systemPrompt: pySystemPrompt,
    createEpisode: (_task, ctx) => createPyCodeEpisode(ctx.seed, ctx.options, pool),
    disposeEpisode: (ep) => ep.dispose(),
    preflight: pyodidePreflight,
  });
}

export const codeInterpPyEnv: EnvDefinition = createCodeInterpPyEnv();
