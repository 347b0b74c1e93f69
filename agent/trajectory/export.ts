/**
 * Exporters to the multi-turn formats other trainers read. Both keep tool calls as structured
 * `tool_calls` (arguments as objects: Hugging Face chat templates, Qwen3's included, accept objects
 * and render them with `tojson`) and tool results as `role: "tool"` messages.
 *
 * TRL (`toTrl`): the conversational dataset row SFTTrainer reads, with tool calling:
 *   { "messages": [ {role, content, reasoning_content?, tool_calls?: [{type: "function", function: {name, arguments}}]}, {role: "tool", name, content}, ... ],
 *     "tools"?: [ OpenAI function schemas ],
 *     "reward": number, "correct": boolean }            <- extra columns, ignored by TRL, handy for filtering
 *
 * verl (`toVerl`): one row per episode with the columns of verl's datasets:
 *   { "data_source": "<env id>",                         <- picks the reward function in verl
 *     "prompt": [ system and user messages ],            <- RLHFDataset's prompt_key
 *     "messages": [ the whole conversation ],            <- MultiTurnSFTDataset's messages_key
 *     "ability": "<task family>",
 *     "reward_model": { "style": "rule" },               <- no ground_truth: the reference never leaves the env;
 *                                                           score with the env's verifier (extra_info.task_id)
 *     "extra_info": { index, split, task_id, group, sample, seed, reward, components, correct, ending, policy,
 *                     tools_kwargs?,                     <- with `tools`: each tool's create_kwargs {task_id}, which
 *                                                           verl hands the tool's create() (docs/examples/verl)
 *                     tokens?, loss_mask?, logprobs? } } <- exact ids when recorded and `withTokens` is set
 */
import type { ChatMessage, ToolSchemaJson, Trajectory } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface ExportMessage {
  role: ChatMessage['role'];
  content: string;
  reasoning_content?: string;
  tool_calls?: Array<{ type: 'function'; function: { name: string; arguments: Record<string, unknown> } }>;
  name?: string;
}

export interface TrlRow {
  messages: ExportMessage[];
  tools?: ToolSchemaJson[];
  reward: number;
  correct: boolean;
}

export interface VerlRow {
  data_source: string;
  prompt: ExportMessage[];
  messages: ExportMessage[];
  ability: string;
  reward_model: { style: 'rule' };
  extra_info: {
    index: number;
    split: 'train' | 'test';
    task_id: string;
    group: string;
    sample: number;
    seed: number;
    reward: number;
    components: Record<string, number>;
    correct: boolean;
    ending: Trajectory['ending'];
    policy: string;
    tools_kwargs?: Record<string, { create_kwargs: { task_id: string } }>;
    tokens?: number[];
    loss_mask?: number[];
    logprobs?: number[];
  };
}

export interface ExportOptions {
  /** Tool schemas of the env (trajectories do not store them): added as TRL's `tools` column. */
  tools?: ToolSchemaJson[];
  /** Drop the thinking of assistant turns (for non-thinking SFT data). */
  dropThinking?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

export function exportMessage(m: ChatMessage, opts: ExportOptions = {}): ExportMessage {
  const out: ExportMessage = { role: m.role, content: m.content };
  if (m.reasoning_content !== undefined && !opts.dropThinking) out.reasoning_content = m.reasoning_content;
  if (m.tool_calls && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((c) => ({
      type: 'function',
      function: { name: c.function.name, arguments: c.function.arguments },
    }));
  }
  if (m.name !== undefined && m.role === 'tool') out.name = m.name;
  return out;
}

export function toTrl(t: Trajectory, opts: ExportOptions = {}): TrlRow {
  const row: TrlRow = { messages: t.messages.map((m) => exportMessage(m, opts)), reward: t.reward, correct: t.correct };
  if (opts.tools) row.tools = opts.tools;
  return row;
}

export function toVerl(t: Trajectory, index: number, opts: ExportOptions & { withTokens?: boolean } = {}): VerlRow {
  const messages = t.messages.map((m) => exportMessage(m, opts));
  const firstAssistant = messages.findIndex((m) => m.role === 'assistant');
  const row: VerlRow = {
    data_source: t.ids.env,
    prompt: firstAssistant < 0 ? messages : messages.slice(0, firstAssistant),
    messages,
    ability: t.ids.family,
    reward_model: { style: 'rule' },
    extra_info: {
      index,
      split: t.ids.split,
      task_id: t.ids.task,
      group: t.ids.group,
      sample: t.ids.sample,
      seed: t.ids.seed,
      reward: t.reward,
      components: t.components,
      correct: t.correct,
      ending: t.ending,
      policy: t.ids.policy,
    },
  };
  if (opts.tools?.length) {
    row.extra_info.tools_kwargs = Object.fromEntries(
      opts.tools.map((tool) => [tool.function.name, { create_kwargs: { task_id: t.ids.task } }]),
    );
  }
  if (opts.withTokens && t.tokens) {
    row.extra_info.tokens = t.tokens;
    if (t.mask) row.extra_info.loss_mask = t.mask;
    if (t.logprobs) row.extra_info.logprobs = t.logprobs;
  }
  return row;
}

/** Aborted episodes are infrastructure faults, never training data: exporters' callers usually drop them. */
export function exportable(t: Trajectory): boolean {
  return t.ending !== 'aborted';
}
