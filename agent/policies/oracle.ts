/**
 * `oracle[:err=0.2,seed=7,json=..,type=..,tool=..,answer=..]`: a scripted policy that solves each
 * task through real tool calls. It looks the task up by id (the env definition's `getTask`), asks
 * the family's `oracle(task, history)` for the next action, and renders it as a Qwen3 turn
 * (`renderAssistant`), with a short reasoning trace in the think block in `/think` mode.
 *
 * With an error rate it makes the mistakes real models make, each kind at its own per-turn rate,
 * seeded by (policy seed, episode seed, turn):
 *   - `json`:   malformed JSON in the call (a closing brace dropped)      -> parser kind `invalid_json`
 *   - `type`:   an argument of the wrong type (a string sent as a number) -> parser kind `schema_wrong_type`
 *   - `tool`:   an unknown tool name (`run_code` -> `runcode`)           -> parser kind `unknown_tool`
 *   - `answer`: a wrong final answer (numbers off by one)                 -> `correct: false`
 * `err=R` sets json = type = tool = R/3 (tool-call turns) and answer = R (answer turns). After a
 * faulty turn the next turn is always clean, so the episode recovers.
 *
 * Thinking budget: when the trace is longer than the budget, the first part is returned with
 * finishReason `budget`; the continuation (after the loop's stop-thinking text) is the action.
 */
import type { EnvDefinition, OracleAction, OracleObservation, Task, TaskFamily } from '../../envs/core/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { renderAssistant, softSwitchIn } from '../format/index.js';
import type { GenerateRequest, GenerateResult, Policy, ToolCallMsg, ToolExchange } from '../types.js';
import { type PolicyContext, parseOptionList, registerPolicyFactory } from './registry.js';

// ---------------------------------------------------------------------------------------------
// Types

export type OracleFault = 'json' | 'type' | 'tool' | 'answer';

export interface OracleOptions {
  /** Per-turn probability of each fault kind on the turns it applies to. */
  rates?: Partial<Record<OracleFault, number>>;
  seed?: number;
}

export class OracleError extends Error {
  override name = 'OracleError';
}

// ---------------------------------------------------------------------------------------------
// Pure functions

export function parseOracleSpec(rest: string): OracleOptions {
  const o = parseOptionList(rest);
  const num = (k: string): number | undefined => {
    if (o[k] === undefined) return undefined;
    const v = Number(o[k]);
    if (!Number.isFinite(v) || v < 0 || v > 1) throw new RangeError(`oracle option ${k}=${o[k]} must be a number in [0, 1]`);
    return v;
  };
  for (const k of Object.keys(o)) {
    if (!['err', 'seed', 'json', 'type', 'tool', 'answer'].includes(k)) {
      throw new RangeError(`unknown oracle option "${k}": use err, seed, json, type, tool, answer (e.g. oracle:err=0.2,seed=7)`);
    }
  }
  const err = num('err') ?? 0;
  const rates: Record<OracleFault, number> = {
    json: num('json') ?? err / 3,
    type: num('type') ?? err / 3,
    tool: num('tool') ?? err / 3,
    answer: num('answer') ?? err,
  };
  return { rates, seed: o.seed !== undefined ? Number(o.seed) : 0 };
}

/** The fault (if any) a turn makes: a pure function of its seed so the "recover after an error" rule can look back. */
export function faultFor(
  rates: Partial<Record<OracleFault, number>>,
  seed: number,
  turn: number,
  kind: OracleAction['kind'],
): OracleFault | undefined {
  const kinds: OracleFault[] = kind === 'answer' ? ['answer'] : ['json', 'type', 'tool'];
  const u = new Rng(mixSeed(seed, turn, 'oracle-fault')).next();
  let acc = 0;
  for (const k of kinds) {
    acc += rates[k] ?? 0;
    if (u < acc) return k;
  }
  return undefined;
}

/** A numeric answer off by one; any other answer reversed (or marked) so it no longer verifies. */
export function wrongAnswer(answer: string): string {
  const a = answer.trim();
  if (/^-?\d+$/.test(a)) return (BigInt(a) + 1n).toString();
  if (/^-?\d*\.\d+$/.test(a)) return String(Number(a) + 1);
  const rev = [...a].reverse().join('');
  return rev !== a ? rev : `${a}?`;
}

/** The same call with its first argument sent as the wrong JSON type. */
export function wrongTypeCall(call: ToolCallMsg): ToolCallMsg {
  const args = { ...call.arguments };
  const key = Object.keys(args)[0];
  if (key === undefined) return { name: call.name, arguments: { input: 1 } };
  const v = args[key];
  args[key] = typeof v === 'string' ? v.length : typeof v === 'number' ? String(v) : typeof v === 'boolean' ? String(v) : 42;
  return { name: call.name, arguments: args };
}

export function unknownToolName(name: string): string {
  return name.includes('_') ? name.replace(/_/g, '') : `${name}s`;
}

/** Drops the closing brace of the first call's JSON: the commonest malformed-JSON slip. */
export function breakJson(raw: string): string {
  const i = raw.indexOf('}\n</tool_call>');
  return i < 0 ? raw : raw.slice(0, i) + raw.slice(i + 1);
}

/**
 * A recorded exchange as the family oracle reads it: the call and the result an MCP client saw,
 * its text and its `structuredContent` (oracles read ids from the structured part).
 */
export function oracleObservation(x: ToolExchange): OracleObservation {
  const result: OracleObservation['result'] = { content: [{ type: 'text', text: x.result }], isError: x.isError };
  if (x.structuredContent) result.structuredContent = x.structuredContent;
  return { call: { name: x.name, arguments: x.arguments }, result };
}

function hasSoftSwitch(messages: GenerateRequest['messages']): boolean {
  return messages.some((m) => (m.role === 'user' || m.role === 'system') && softSwitchIn(m.content) !== undefined);
}

function defaultThought(task: Task, action: OracleAction): string {
  if (action.thought) return action.thought;
  if (action.kind === 'answer') return `The tool results give what the task asks for, so I can answer: ${action.answer}.`;
  const names = action.calls.map((c) => c.name).join(', ');
  return `The task (${task.family}) needs a computation I should not do by hand. I will call ${names} and read the result.`;
}

// ---------------------------------------------------------------------------------------------
// The policy

const TASK_CACHE_SIZE = 1024;

export class OraclePolicy implements Policy {
  readonly spec: string;
  private readonly families = new Map<string, TaskFamily<any>>();
  private readonly rates: Partial<Record<OracleFault, number>>;
  private readonly seed: number;
  // Generating a task can cost milliseconds (references are computed): keep the recent ones, bounded.
  private readonly tasks = new Map<string, Task>();

  constructor(
    private readonly env: Pick<EnvDefinition, 'getTask' | 'families'>,
    opts: OracleOptions = {},
    spec = 'oracle',
  ) {
    this.spec = spec;
    for (const f of env.families) this.families.set(f.name, f);
    this.rates = opts.rates ?? {};
    this.seed = opts.seed ?? 0;
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const task = this.task(req.episode.taskId);
    const family = this.families.get(task.family);
    if (!family) throw new OracleError(`no oracle for family "${task.family}" of task ${task.id}`);
    const history = (req.history ?? []).map(oracleObservation);
    const action = family.oracle(task, history, req.userTurns);
    const epSeed = mixSeed(this.seed, req.seed);
    // Recover after an error: a turn that answers an error observation (a parse failure, or a tool
    // that rejected its arguments) is always clean.
    const last = req.messages[req.messages.length - 1];
    const lastWasError =
      last?.role === 'tool' && (last.name === 'error' || req.history?.[req.history.length - 1]?.isError === true);
    const fault = lastWasError ? undefined : faultFor(this.rates, epSeed, req.turn, action.kind);

    // Under a `/no_think` soft switch Qwen3 itself writes the empty think block (with
    // enable_thinking=false the template's generation prompt already holds it).
    const emptyThink = !req.enableThinking && hasSoftSwitch(req.messages);
    const thinking = req.enableThinking ? defaultThought(task, action) : emptyThink ? '' : undefined;
    const render = { enableThinking: req.enableThinking || emptyThink };
    let raw: string;
    if (action.kind === 'answer') {
      raw = renderAssistant({ thinking, content: fault === 'answer' ? wrongAnswer(action.answer) : action.answer }, render);
    } else {
      let calls = action.calls.map((c) => ({ name: c.name, arguments: c.arguments }));
      if (fault === 'type') calls = [wrongTypeCall(calls[0] as ToolCallMsg), ...calls.slice(1)];
      if (fault === 'tool')
        calls = [{ ...(calls[0] as ToolCallMsg), name: unknownToolName((calls[0] as ToolCallMsg).name) }, ...calls.slice(1)];
      raw = renderAssistant({ thinking, calls }, render);
      if (fault === 'json') raw = breakJson(raw);
    }
    return this.budgeted(raw, req);
  }

  private task(id: string): Task {
    let t = this.tasks.get(id);
    if (!t) {
      t = this.env.getTask(id);
      if (this.tasks.size >= TASK_CACHE_SIZE) this.tasks.delete(this.tasks.keys().next().value as string);
      this.tasks.set(id, t);
    }
    return t;
  }

  /** Applies the thinking budget (about 4 characters a token) the way a sampling policy would. */
  private budgeted(raw: string, req: GenerateRequest): GenerateResult {
    if (req.continuation !== undefined) {
      // After the stop-thinking text: emit what follows the think block.
      const end = raw.indexOf('</think>');
      const rest = end >= 0 ? raw.slice(end + '</think>'.length).replace(/^\n+/, '') : raw;
      return { text: rest, finishReason: 'stop' };
    }
    const budget = req.thinkingBudget;
    const end = raw.indexOf('</think>');
    if (budget !== undefined && req.enableThinking && end >= 0 && (end - '<think>\n'.length) / 4 > budget) {
      return { text: raw.slice(0, '<think>\n'.length + budget * 4), finishReason: 'budget', completionTokens: budget };
    }
    return { text: raw, finishReason: 'stop' };
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

export class OracleNeedsEnvError extends Error {
  override name = 'OracleNeedsEnvError';
}

registerPolicyFactory('oracle', (rest: string, ctx: PolicyContext, spec: string) => {
  if (!ctx.env) {
    throw new OracleNeedsEnvError(
      'the oracle policy needs the env definition to look tasks up: run it with an in-process env (--env <id>), not a remote URL',
    );
  }
  const opts = parseOracleSpec(rest);
  if (ctx.seed !== undefined && !/seed=/.test(rest)) opts.seed = ctx.seed;
  return new OraclePolicy(ctx.env, opts, spec);
});
