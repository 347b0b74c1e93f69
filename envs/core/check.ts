/**
 * `checkEnv(def)`: the conformance checker every environment passes before its own tests
 * (in the spirit of Gymnasium's env_checker). Each check is a named, independent function, so the
 * shared vitest suite (`test/envs/conformance.ts`) can turn each into its own test case.
 */
import { isDeepStrictEqual } from 'node:util';
import { jsonSchemaProblems, toolInputJsonSchema, undescribedFields } from './schema.js';
import { connectInMemory } from './server.js';
import { parseTaskId } from './tool-env.js';
import type {
  Action,
  EnvDefinition,
  Environment,
  OracleObservation,
  Split,
  StepResult,
  Task,
  TaskFamily,
  ToolResult,
} from './types.js';
import { CONTROL, isControlTool, META, readEpisodeMeta, UserTurnResultSchema } from './wire.js';

export interface CheckOutcome {
  ok: boolean;
  /** The check could not run for this env (the reason is in `message`); not a failure. */
  skipped?: boolean;
  message: string;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  title: string;
  ms: number;
}

export interface ConformanceCheck {
  name: string;
  /** A sentence, used as the test name. */
  title: string;
  run(def: EnvDefinition): Promise<CheckOutcome>;
}

export interface CheckReport {
  envId: string;
  version: string;
  ok: boolean;
  checks: CheckResult[];
}

const SPLITS: readonly Split[] = ['train', 'test'];
/** Steps an oracle may take (tool calls and answers, replies to a scripted user included): the session's default limit. */
const ORACLE_STEP_LIMIT = 64;
const SAMPLE = 50;

// ---------------------------------------------------------------------------------------------
// Pure helpers

const pass = (message = 'ok'): CheckOutcome => ({ ok: true, message });
const fail = (message: string): CheckOutcome => ({ ok: false, message });
const skip = (message: string): CheckOutcome => ({ ok: true, skipped: true, message });

/** Up to `n` indices spread over [0, size): first, last and evenly between. */
export function sampleIndices(size: number, n: number): number[] {
  if (size <= n) return Array.from({ length: size }, (_, i) => i);
  const out = new Set<number>([0, size - 1]);
  for (let k = 1; out.size < n; k++) out.add(Math.floor((k * size) / (n + 1)));
  return [...out].sort((a, b) => a - b);
}

/**
 * Strings a leak would show: the reference itself when it is a string or number long enough not to
 * occur by chance, or its JSON for structured references (parts of which, such as example inputs,
 * may legitimately appear in a prompt).
 */
export function referenceNeedles(reference: unknown): string[] {
  if (typeof reference === 'string') return reference.trim().length >= 4 ? [reference.trim()] : [];
  if (typeof reference === 'number' || typeof reference === 'bigint')
    return String(reference).replace('-', '').length >= 4 ? [String(reference)] : [];
  if (reference && typeof reference === 'object') {
    const json = JSON.stringify(reference);
    return json && json.length >= 8 ? [json] : [];
  }
  return [];
}

function hasKeyDeep(value: unknown, key: string, depth = 0): boolean {
  if (depth > 8 || !value || typeof value !== 'object') return false;
  if (Object.hasOwn(value, key)) return true;
  return Object.values(value).some((v) => hasKeyDeep(v, key, depth + 1));
}

function firstTask(family: TaskFamily<any>, split: Split, index = 0): Task | undefined {
  return family.splitSizes[split] > index ? family.generate(split, index) : undefined;
}

/** The scripted user's next turn when an answer step did not end the episode, else undefined. */
function userTurnOf(r: StepResult): string | undefined {
  if (r.terminated || r.truncated || !r.observation.messages?.length) return undefined;
  return r.observation.messages.filter((m) => m.role === 'user').at(-1)?.content;
}

/**
 * Answers `answer` until the episode ends: an environment with a scripted user takes the first
 * answers as replies, so a check about the final answer gives it to every user turn.
 */
async function answerUntilEnd(env: Environment, answer: string): Promise<StepResult> {
  let r = await env.step({ kind: 'answer', answer });
  for (let i = 1; i < ORACLE_STEP_LIMIT && userTurnOf(r) !== undefined; i++) r = await env.step({ kind: 'answer', answer });
  return r;
}

async function withEnv<T>(def: EnvDefinition, fn: (env: Environment) => Promise<T>): Promise<T> {
  const env = def.create();
  try {
    return await fn(env);
  } finally {
    await env.close().catch(() => undefined);
  }
}

/** Plays the family's oracle on `task` for up to ORACLE_STEP_LIMIT steps; returns every step result. */
async function playOracle(
  env: Environment,
  family: TaskFamily<any>,
  task: Task,
): Promise<{ results: ToolResult[]; last?: StepResult; answered: boolean }> {
  await env.reset({ taskId: task.id, seed: task.seed });
  const history: OracleObservation[] = [];
  const results: ToolResult[] = [];
  const user = [task.prompt];
  let last: StepResult | undefined;
  for (let i = 0; i < ORACLE_STEP_LIMIT; i++) {
    const act = family.oracle(task, history, user);
    const action: Action =
      act.kind === 'answer' ? { kind: 'answer', answer: act.answer } : { kind: 'tool_calls', calls: act.calls };
    last = await env.step(action);
    if (act.kind === 'answer') {
      const next = userTurnOf(last);
      if (next === undefined) return { results, last, answered: true };
      user.push(next);
      continue;
    }
    const trs = last.observation.toolResults ?? [];
    act.calls.forEach((call, k) => {
      const result = trs[k] ?? { content: [{ type: 'text' as const, text: '' }], isError: true };
      results.push(result);
      history.push({ call, result });
    });
    if (last.terminated || last.truncated) break;
  }
  return { results, last, answered: false };
}

/** A tool result as an MCP client holds it: its text parts, `isError` and `structuredContent`, nothing else. */
export function resultAsClientSees(r: Record<string, unknown>): ToolResult {
  const parts = (Array.isArray(r.content) ? r.content : []) as Array<{ type?: string; text?: string }>;
  const out: ToolResult = {
    content: parts.map((p) => ({ type: 'text' as const, text: p.type === 'text' ? (p.text ?? '') : `[${p.type} content]` })),
  };
  if (r.isError === true) out.isError = true;
  const sc = r.structuredContent;
  if (sc && typeof sc === 'object' && !Array.isArray(sc)) out.structuredContent = sc as Record<string, unknown>;
  return out;
}

/**
 * Plays the family's oracle on `task` through the environment's own MCP server (in memory): the
 * oracle reads each result as a client receives it, the answer goes through `gym_submit`, and the
 * verdict comes back in `_meta`, as it does for `gym rollout --policy oracle` and any MCP agent.
 */
async function playOracleOverMcp(
  def: EnvDefinition,
  family: TaskFamily<any>,
  task: Task,
): Promise<{ answered: boolean; correct?: boolean; detail: string }> {
  const client = await connectInMemory(def, { clientName: 'toolgym-conformance' });
  try {
    await client.callTool({ name: CONTROL.gym_start, arguments: { taskId: task.id } });
    const history: OracleObservation[] = [];
    const user = [task.prompt];
    for (let i = 0; i < ORACLE_STEP_LIMIT; i++) {
      const act = family.oracle(task, history, user);
      if (act.kind === 'answer') {
        const r = await client.callTool({ name: CONTROL.gym_submit, arguments: { answer: act.answer } });
        const meta = readEpisodeMeta(r._meta);
        const next = UserTurnResultSchema.safeParse(r.structuredContent);
        if (next.success && !meta[META.terminated] && !meta[META.truncated]) {
          user.push(next.data.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
          continue;
        }
        return { answered: true, correct: meta[META.correct] === true, detail: JSON.stringify(r.content).slice(0, 200) };
      }
      for (const call of act.calls) {
        const r = await client.callTool({ name: call.name, arguments: call.arguments });
        history.push({ call: { name: call.name, arguments: call.arguments }, result: resultAsClientSees(r) });
        const meta = readEpisodeMeta(r._meta);
        if (meta[META.terminated] || meta[META.truncated])
          return { answered: false, detail: `the episode ended after ${call.name}` };
      }
    }
    return { answered: false, detail: `no answer within ${ORACLE_STEP_LIMIT} steps` };
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The checks

export const conformanceChecks: readonly ConformanceCheck[] = [
  {
    name: 'metadata',
    title: 'declares an id, a version, task families with non-empty splits, and uniquely named tools',
    async run(def) {
      const problems: string[] = [];
      if (!/^[a-z0-9][a-z0-9-]*$/.test(def.id)) problems.push(`id "${def.id}" should be lower-case letters, digits and dashes`);
      if (!/^\d+\.\d+\.\d+/.test(def.version)) problems.push(`version "${def.version}" should be semver`);
      if (def.families.length === 0) problems.push('no task families');
      const famNames = new Set<string>();
      for (const f of def.families) {
        if (famNames.has(f.name)) problems.push(`family "${f.name}" declared twice`);
        famNames.add(f.name);
        if (f.name.includes('/')) problems.push(`family "${f.name}" contains "/" (task ids use it as a separator)`);
        for (const s of SPLITS)
          if (!Number.isInteger(f.splitSizes[s]) || f.splitSizes[s] <= 0)
            problems.push(`family "${f.name}" ${s} split size ${f.splitSizes[s]}`);
      }
      const toolNames = new Set<string>();
      for (const t of def.tools) {
        if (toolNames.has(t.name)) problems.push(`tool "${t.name}" declared twice`);
        toolNames.add(t.name);
        if (isControlTool(t.name)) problems.push(`tool "${t.name}" collides with a control tool`);
        if (!/^[a-zA-Z0-9_-]{1,64}$/.test(t.name)) problems.push(`tool name "${t.name}" is not [a-zA-Z0-9_-]{1,64}`);
      }
      const envTools = await withEnv(def, async (env) => env.tools.map((t) => t.name).sort());
      if (!isDeepStrictEqual(envTools, [...toolNames].sort()))
        problems.push(`env instance tools ${envTools} differ from the definition's ${[...toolNames]}`);
      return problems.length ? fail(problems.join('; ')) : pass(`${def.families.length} families, ${def.tools.length} tools`);
    },
  },
  {
    name: 'tool-schemas',
    title: "converts every tool's input schema to valid JSON Schema whose fields all have descriptions",
    async run(def) {
      const problems: string[] = [];
      for (const t of def.tools) {
        if (!t.description?.trim()) problems.push(`${t.name}: no description`);
        let schema: Record<string, unknown>;
        try {
          schema = toolInputJsonSchema(t);
        } catch (err) {
          problems.push(`${t.name}: schema does not convert (${(err as Error).message})`);
          continue;
        }
        for (const p of jsonSchemaProblems(schema)) problems.push(`${t.name}: ${p}`);
        for (const f of undescribedFields(schema)) problems.push(`${t.name}: field "${f}" has no description`);
      }
      return problems.length ? fail(problems.join('; ')) : pass();
    },
  },
  {
    name: 'tasks-deterministic',
    title: 'generates the same task for the same split and index, with a well-formed id that getTask resolves',
    async run(def) {
      const problems: string[] = [];
      for (const f of def.families) {
        for (const split of SPLITS) {
          for (const i of sampleIndices(f.splitSizes[split], 5)) {
            const a = f.generate(split, i);
            const b = f.generate(split, i);
            if (!isDeepStrictEqual(a, b)) problems.push(`${f.name}/${split}/${i}: two generations differ`);
            const p = parseTaskId(a.id);
            if (!p || p.envId !== def.id || p.family !== f.name || p.split !== split || p.index !== i)
              problems.push(`${f.name}/${split}/${i}: id "${a.id}" is not ${def.id}/${f.name}/${split}/${i}`);
            if (a.family !== f.name || a.split !== split)
              problems.push(`${a.id}: family/split fields disagree with the generator`);
            if (![1, 2, 3, 4, 5].includes(a.difficulty)) problems.push(`${a.id}: difficulty ${a.difficulty} not in 1..5`);
            if (!a.prompt?.trim()) problems.push(`${a.id}: empty prompt`);
            try {
              if (!isDeepStrictEqual(def.getTask(a.id), a)) problems.push(`${a.id}: getTask gives a different task`);
            } catch (err) {
              problems.push(`${a.id}: getTask threw ${(err as Error).message}`);
            }
          }
        }
      }
      return problems.length ? fail(problems.slice(0, 10).join('; ')) : pass();
    },
  },
  {
    name: 'splits-disjoint',
    title: 'keeps train and test tasks disjoint (ids and prompts) on a sample',
    async run(def) {
      const problems: string[] = [];
      for (const f of def.families) {
        const train = sampleIndices(f.splitSizes.train, SAMPLE).map((i) => f.generate('train', i));
        const test = sampleIndices(f.splitSizes.test, SAMPLE).map((i) => f.generate('test', i));
        const ids = new Set(train.map((t) => t.id));
        const prompts = new Map(train.map((t) => [t.prompt, t.id]));
        for (const t of test) {
          if (ids.has(t.id)) problems.push(`${f.name}: id ${t.id} in both splits`);
          const twin = prompts.get(t.prompt);
          if (twin) problems.push(`${f.name}: ${t.id} has the same prompt as ${twin}`);
        }
      }
      return problems.length ? fail(problems.slice(0, 10).join('; ')) : pass();
    },
  },
  {
    name: 'reset-deterministic',
    title: 'gives the same task and observation for the same seed, in a fresh instance and after a second reset',
    async run(def) {
      const problems: string[] = [];
      for (const split of SPLITS) {
        for (const seed of [0, 7, 123456]) {
          const a = await withEnv(def, (env) => env.reset({ seed, split }));
          const b = await withEnv(def, async (env) => {
            await env.reset({ seed: seed + 1, split });
            return env.reset({ seed, split });
          });
          if (!isDeepStrictEqual(a.observation, b.observation)) problems.push(`${split} seed ${seed}: observations differ`);
          if (!isDeepStrictEqual(a.info.task, b.info.task))
            problems.push(`${split} seed ${seed}: tasks differ (${a.info.task.id} vs ${b.info.task.id})`);
          if (a.info.task.split !== split) problems.push(`${split} seed ${seed}: reset gave a ${a.info.task.split} task`);
        }
      }
      return problems.length ? fail(problems.join('; ')) : pass();
    },
  },
  {
    name: 'tool-results-deterministic',
    title: "gives the same tool results for the same task when the oracle's calls are replayed",
    async run(def) {
      const problems: string[] = [];
      let compared = 0;
      for (const f of def.families) {
        const task = firstTask(f, 'test') ?? firstTask(f, 'train');
        if (!task) continue;
        const a = await withEnv(def, (env) => playOracle(env, f, task));
        const b = await withEnv(def, (env) => playOracle(env, f, task));
        compared += a.results.length;
        if (!isDeepStrictEqual(a.results, b.results)) {
          const k = a.results.findIndex((r, i) => !isDeepStrictEqual(r, b.results[i]));
          problems.push(
            `${task.id}: result ${k} differs: ${JSON.stringify(a.results[k])?.slice(0, 200)} vs ${JSON.stringify(b.results[k])?.slice(0, 200)}`,
          );
        }
      }
      if (problems.length) return fail(problems.join('; '));
      return compared === 0
        ? skip('no oracle made a tool call, so there were no tool results to compare')
        : pass(`${compared} results compared`);
    },
  },
  {
    name: 'oracle-solves',
    title: "scores the oracle's answer as correct on a task of every family",
    async run(def) {
      const problems: string[] = [];
      for (const f of def.families) {
        const task = firstTask(f, 'test') ?? firstTask(f, 'train');
        if (!task) continue;
        const run = await withEnv(def, (env) => playOracle(env, f, task));
        const v = run.last?.info.verdict;
        if (!run.answered) problems.push(`${task.id}: the oracle did not answer within ${ORACLE_STEP_LIMIT} steps`);
        else if (!v?.correct || !run.last?.terminated) problems.push(`${task.id}: oracle answer scored ${JSON.stringify(v)}`);
      }
      return problems.length ? fail(problems.join('; ')) : pass();
    },
  },
  {
    name: 'oracle-over-mcp',
    title: 'solves a task of every family when its oracle sees only what an MCP client receives',
    async run(def) {
      const problems: string[] = [];
      for (const f of def.families) {
        const task = firstTask(f, 'test') ?? firstTask(f, 'train');
        if (!task) continue;
        const run = await playOracleOverMcp(def, f, task);
        if (!run.answered) problems.push(`${task.id}: the oracle did not answer over MCP (${run.detail})`);
        else if (!run.correct) problems.push(`${task.id}: the oracle's answer over MCP was not correct: ${run.detail}`);
      }
      return problems.length ? fail(problems.join('; ')) : pass();
    },
  },
  {
    name: 'wrong-answer',
    title: 'scores a wrong answer as not correct, with reward below 1, and terminates',
    async run(def) {
      const problems: string[] = [];
      for (const f of def.families) {
        const task = firstTask(f, 'test') ?? firstTask(f, 'train');
        if (!task) continue;
        const r = await withEnv(def, async (env) => {
          await env.reset({ taskId: task.id });
          return answerUntilEnd(env, 'toolgym conformance check: a deliberately wrong answer');
        });
        if (!r.terminated) problems.push(`${task.id}: an answer did not terminate the episode`);
        if (r.info.verdict?.correct !== false || r.reward >= 1)
          problems.push(`${task.id}: wrong answer scored reward ${r.reward}, correct ${r.info.verdict?.correct}`);
      }
      return problems.length ? fail(problems.join('; ')) : pass();
    },
  },
  {
    name: 'invalid-actions',
    title: 'answers an unknown tool and invalid arguments with error results, not exceptions, and keeps the episode going',
    async run(def) {
      return withEnv(def, async (env) => {
        const problems: string[] = [];
        await env.reset({ seed: 0 });
        const probe = async (label: string, action: Action): Promise<void> => {
          let r: StepResult;
          try {
            r = await env.step(action);
          } catch (err) {
            problems.push(`${label}: step threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
            return;
          }
          const results = r.observation.toolResults ?? [];
          if (results.length !== (action.kind === 'tool_calls' ? action.calls.length : 1))
            problems.push(`${label}: ${results.length} results for the calls`);
          if (!results.every((x) => x.isError === true))
            problems.push(`${label}: result is not isError: ${JSON.stringify(results).slice(0, 200)}`);
          if (r.terminated) problems.push(`${label}: an invalid call terminated the episode`);
        };
        await probe('unknown tool', { kind: 'tool_calls', calls: [{ name: 'no_such_tool_xyz', arguments: {} }] });
        for (const t of env.tools) {
          const props = Object.keys(t.inputSchema);
          if (props.length === 0) continue;
          const wrong = Object.fromEntries(props.map((p) => [p, { $invalid: [1] }]));
          await probe(`${t.name} with wrong-typed arguments`, {
            kind: 'tool_calls',
            calls: [{ name: t.name, arguments: wrong }],
          });
          const schema = toolInputJsonSchema(t);
          if (Array.isArray(schema.required) && schema.required.length > 0) {
            await probe(`${t.name} without required arguments`, { kind: 'tool_calls', calls: [{ name: t.name, arguments: {} }] });
          }
        }
        try {
          const after = await answerUntilEnd(env, 'x');
          if (!after.terminated) problems.push('an answer after invalid calls did not terminate the episode');
        } catch (err) {
          problems.push(`an answer after invalid calls threw ${(err as Error).message}`);
        }
        return problems.length ? fail(problems.join('; ')) : pass();
      });
    },
  },
  {
    name: 'reference-hidden',
    title: 'never shows the reference answer in the reset observation, the info, or error results',
    async run(def) {
      const problems: string[] = [];
      for (const f of def.families) {
        for (const i of sampleIndices(f.splitSizes.test, 3)) {
          const task = f.generate('test', i);
          const needles = referenceNeedles(task.reference);
          const seen = await withEnv(def, async (env) => {
            const r = await env.reset({ taskId: task.id });
            const bad = await env.step({ kind: 'tool_calls', calls: [{ name: 'no_such_tool_xyz', arguments: {} }] });
            return { reset: r, bad };
          });
          if (hasKeyDeep(seen.reset.info, 'reference')) problems.push(`${task.id}: reset info carries a "reference" field`);
          const text = JSON.stringify([seen.reset.observation, seen.reset.info, seen.bad.observation, seen.bad.info]);
          for (const n of needles)
            if (text.includes(n)) problems.push(`${task.id}: the reference ${JSON.stringify(n).slice(0, 60)} is visible`);
        }
      }
      return problems.length ? fail(problems.slice(0, 10).join('; ')) : pass();
    },
  },
  {
    name: 'close-twice',
    title: 'closes safely twice, with or without an episode',
    async run(def) {
      const problems: string[] = [];
      try {
        const fresh = def.create();
        await fresh.close();
        await fresh.close();
      } catch (err) {
        problems.push(`closing an unused instance twice threw ${(err as Error).message}`);
      }
      try {
        const used = def.create();
        await used.reset({ seed: 1 });
        await used.close();
        await used.close();
      } catch (err) {
        problems.push(`closing after an episode twice threw ${(err as Error).message}`);
      }
      return problems.length ? fail(problems.join('; ')) : pass();
    },
  },
];

// ---------------------------------------------------------------------------------------------

export async function runCheck(check: ConformanceCheck, def: EnvDefinition): Promise<CheckResult> {
  const t0 = performance.now();
  let outcome: CheckOutcome;
  try {
    outcome = await check.run(def);
  } catch (err) {
    outcome = fail(`the check threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
  }
  return { name: check.name, title: check.title, ms: Math.round(performance.now() - t0), ...outcome };
}

/** Runs every conformance check on `def`; `ok` is true when none failed (skips do not fail). */
export async function checkEnv(def: EnvDefinition, opts: { only?: string[] } = {}): Promise<CheckReport> {
  const checks: CheckResult[] = [];
  for (const c of conformanceChecks) if (!opts.only || opts.only.includes(c.name)) checks.push(await runCheck(c, def));
  return { envId: def.id, version: def.version, ok: checks.every((c) => c.ok), checks };
}
