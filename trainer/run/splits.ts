/**
 * Evaluation splits that can tell training methods apart (bench/learn, `runArms`):
 *
 * - `id`: in distribution: test-split tasks of the RL families and difficulties.
 * - `val`: validation: test-split tasks from `VALIDATION_OFFSET` on, same families and difficulties;
 *   used only to select checkpoints, never reported as a result.
 * - `ood-harder`: the RL families at the difficulties above `rl.maxDifficulty`.
 * - `ood-family`: compute families neither the demonstrations nor the RL query set used.
 * - `ood-reworded`: the `id` tasks with their prompt reworded (`ood.reworded.<family>`).
 * - `ood-flaky`: the `id` tasks with a `run_code` whose first call fails with a transient error and
 *   runs nothing (`ood.flaky.<family>`): the policy must call again.
 *
 * The two variant kinds live in `learnEnv()`, code-interp with the same id, tools, system prompt and
 * built-in families plus the variants, so a model trained on plain code-interp sees the same text
 * everywhere except where a split changes it on purpose.
 */
import { builtinCodeFamilies, type CodeEpisode, runCodeTool, systemPrompt } from '../../envs/code-interp/index.js';
import { createCodeEpisode } from '../../envs/code-interp/tool.js';
import { defineToolEnv, type EnvDefinition, type Oracle, type Task, type TaskFamily } from '../../envs/core/index.js';
import { hashString } from '../../tools/index.js';
import type { RunConfig } from './config.js';
import { selectTasks, VALIDATION_OFFSET } from './tasks.js';

export const SPLIT_NAMES = ['id', 'val', 'ood-harder', 'ood-family', 'ood-reworded', 'ood-flaky'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export const SPLIT_DESCRIPTIONS: Record<SplitName, string> = {
  id: 'in distribution: held-out tasks of the RL families and difficulties',
  val: 'validation: held-out tasks apart from every test split, used only to select checkpoints',
  'ood-harder': 'the RL families at harder levels than any training task',
  'ood-family': 'families neither the demonstrations nor the RL query set used',
  'ood-reworded': 'the in-distribution tasks with reworded prompts',
  'ood-flaky': 'the in-distribution tasks with a tool whose first call fails',
};

const REWORDED = 'ood.reworded.';
const FLAKY = 'ood.flaky.';

/** The transient error the flaky tool's first call returns (nothing ran). */
export const FLAKY_ERROR = 'Error: the sandbox was still starting and did not run the code. Call run_code again.';

const FRAMES: ReadonlyArray<(p: string) => string> = [
  (p) => `Here is a problem for you. ${p} Work it out exactly.`,
  (p) => `Task: ${p}`,
  (p) => `${p} Reply with the exact value only.`,
  (p) => `I need an exact result. ${p}`,
];

const REWRITES: ReadonlyArray<[RegExp, (...m: string[]) => string]> = [
  [
    /^How many Collatz steps does it take for (\d+) to reach 1\?$/,
    (_, n) =>
      `Starting at ${n}, apply the Collatz rule (halve even numbers, map odd n to 3n + 1) until you reach 1. How many steps is that?`,
  ],
  [
    /^Let x\(0\) = (\d+) and x\(k\+1\) = \((\d+) \* x\(k\) \+ (\d+)\) mod (\d+)\. What is x\((\d+)\)\?$/,
    (_, x0, a, c, m, n) =>
      `A linear congruential generator has multiplier ${a}, increment ${c}, modulus ${m} and seed ${x0}. What is its value after ${n} steps?`,
  ],
];

/** A reworded prompt: a known template rewritten, else the prompt in one of a few framings. */
export function rewordPrompt(prompt: string, index: number): string {
  for (const [re, f] of REWRITES) {
    const m = re.exec(prompt);
    if (m) return f(...m);
  }
  return FRAMES[(hashString(prompt) + index) % FRAMES.length](prompt);
}

function variant(base: TaskFamily<any>, prefix: string, prompt: (t: Task<any>, i: number) => string, oracle: Oracle<any>) {
  const name = `${prefix}${base.name}`;
  return {
    name,
    description: `${base.description} (${prefix === REWORDED ? 'reworded prompts' : 'a tool whose first call fails'})`,
    splitSizes: base.splitSizes,
    generate(split, index) {
      const t = base.generate(split, index);
      return { ...t, id: t.id.replace(`/${base.name}/`, `/${name}/`), family: name, prompt: prompt(t, index) };
    },
    verify: (task, answer) => base.verify(task, answer),
    oracle,
  } satisfies TaskFamily<any>;
}

/** The oracle of a flaky task: the base oracle after the failed first call, which it repeats. */
function flakyOracle(base: Oracle<any>): Oracle<any> {
  return (task, history) =>
    history.length > 0 && history[0].result.isError ? base(task, history.slice(1)) : base(task, history);
}

interface LearnEpisode {
  code: CodeEpisode;
  /** Calls left that fail before the sandbox runs anything. */
  failing: number;
}

const computeFamilies = builtinCodeFamilies.filter((f) => f.name.startsWith('compute.'));

/** code-interp plus reworded and flaky variants of its compute families (same id, tools and prompt). */
export function learnEnv(): EnvDefinition {
  const families = [
    ...builtinCodeFamilies,
    ...computeFamilies.map((f) => variant(f, REWORDED, (t, i) => rewordPrompt(t.prompt, i), f.oracle)),
    ...computeFamilies.map((f) => variant(f, FLAKY, (t) => t.prompt, flakyOracle(f.oracle))),
  ];
  const base = runCodeTool;
  return defineToolEnv<LearnEpisode>({
    id: 'code-interp',
    version: '1.0.0',
    description: 'code-interp with reworded and flaky-tool variants of its compute families (evaluation splits).',
    families,
    tools: [
      {
        ...base,
        async handler(args, ep, ctx) {
          if (ep.failing > 0) {
            ep.failing--;
            return { content: [{ type: 'text', text: FLAKY_ERROR }], isError: true };
          }
          return base.handler(args as { code: string }, ep.code, ctx);
        },
      },
    ],
    systemPrompt,
    createEpisode: (task, ctx) => ({
      code: createCodeEpisode(ctx.seed, ctx.options),
      failing: task.family.startsWith(FLAKY) ? 1 : 0,
    }),
    disposeEpisode: (ep) => ep.code.dispose(),
  });
}

/** The id of `id`'s task in a variant family. */
function asVariant(id: string, prefix: string): string {
  const [env, fam, ...rest] = id.split('/');
  return [env, `${prefix}${fam}`, ...rest].join('/');
}

export type Splits = Record<SplitName, string[]>;

/**
 * The task ids of every split for a run config with an RL query set (`rl.families`): `tasks` per
 * split (`val`: `rl.valTasks`, as the run uses). Throws when validation shares a task with a test split.
 */
export function learnSplits(def: EnvDefinition, cfg: RunConfig, o: { tasks: number; oodFamilies?: string }): Splits {
  if (!cfg.rl.families) throw new Error('learnSplits needs a run config with rl.families set (an RL query set)');
  const rl = cfg.rl;
  const used = `${cfg.families},${rl.families}`.split(',').map((s) => s.trim());
  const oodFamilies =
    o.oodFamilies ??
    computeFamilies
      .map((f) => f.name)
      .filter((n) => !used.some((p) => p && n.startsWith(p)))
      .join(',');
  const pick = (prefix: string, min: number, max: number, seed: number, offset = 0, count = o.tasks) =>
    selectTasks(def, { split: 'test', prefix, minDifficulty: min, maxDifficulty: max, count, seed, offset });
  const id = pick(rl.families, rl.minDifficulty, rl.maxDifficulty, cfg.seed + 3);
  const splits: Splits = {
    id,
    val: pick(rl.families, rl.minDifficulty, rl.maxDifficulty, cfg.seed + 2, VALIDATION_OFFSET, rl.valTasks),
    'ood-harder': rl.maxDifficulty < 5 ? pick(rl.families, rl.maxDifficulty + 1, 5, cfg.seed + 4) : [],
    'ood-family': oodFamilies ? pick(oodFamilies, rl.minDifficulty, rl.maxDifficulty, cfg.seed + 5) : [],
    'ood-reworded': id.map((x) => asVariant(x, REWORDED)),
    'ood-flaky': id.map((x) => asVariant(x, FLAKY)),
  };
  const val = new Set(splits.val);
  for (const name of SPLIT_NAMES)
    if (name !== 'val' && splits[name].some((x) => val.has(x)))
      throw new Error(`split ${name} shares a task with the validation split: raise VALIDATION_OFFSET`);
  return splits;
}
