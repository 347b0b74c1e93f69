/**
 * memory: an assistant that must remember across conversations. An episode is several sessions with
 * a seeded, scripted user; between sessions the conversation is cleared and only the memory store
 * (SQLite, one in-memory database per episode) survives. The last session asks questions.
 *
 * Observation
 *   reset: a system message (the store, the sessions, how to answer) and the first session's user
 *   message, headed `[Session 1 of N · YYYY-MM-DD]`. Each reply the agent gives (an answer, or
 *   `gym_submit` over MCP) is answered by the user: the next session opens a new context (system
 *   message and the session's message; the loop drops the earlier turns), and in the last session
 *   each further question follows in the same context. Tool results are text: numbered file lines,
 *   directory listings, search hits with **highlighted** words.
 *
 * Tools (Anthropic's memory tool and Letta's `memory` tool: same command and argument names)
 *   view({path, view_range?})                   a file's numbered lines, or a directory's files and sizes.
 *   create({path, file_text})                   create or overwrite a file.
 *   str_replace({path, old_str, new_str})       replace the one exact occurrence of old_str.
 *   insert({path, insert_line, insert_text})    insert lines after line insert_line (0 = top).
 *   delete({path})                              delete a file or a directory.
 *   rename({old_path, new_path})                move a file.
 *   memory_search({query, k?})                  BM25 (SQLite FTS5) over every file, with snippets.
 *   Every failure is an `isError` result showing what the agent needs to recover: the file's
 *   current text (a str_replace with no match or several), the paths that exist (a missing path),
 *   what takes the room (a write past the capacity).
 *
 * Reward
 *   Per question 1 or 0: normalised exact match (case, accents, punctuation, articles ignored), the
 *   set of items for list questions, and for a question never answered by the sessions a reply that
 *   says it is not known ("I don't know"). Components: `correct` (share of answerable questions
 *   right), `abstain` (share of unanswerable ones declined; present when there are any), `hygiene`
 *   (after the last session: half for superseded values not left as current, unless the line marks
 *   them as history, "formerly ...", half for no duplicate lines). Reward = 0.8 * mean question
 *   score + 0.2 * hygiene; the episode is `correct` when every question is.
 *
 * Episode end
 *   terminated by the reply to the last question; truncated by the step limit (the MCP session's,
 *   or the rollout loop's turns per user message, tokens or wall time).
 *
 * Options (`createMemoryEnv`)
 *   capacity (4000)   characters the store may hold; a write past it is refused (consolidate first).
 *   tasks             a JSONL file of scenarios (family `jsonl`, replacing the generated families):
 *                     {ability?, difficulty?, sessions: [{date?, user, facts?: [{key, value, op?}]}],
 *                      questions: [{question, answer: string | string[] | null, keys?, kind?}],
 *                      questionDate?}; `op` is set (default), add (a list item) or retract; `kind`
 *                     is value (default), list or earliest (which of `keys`, dates, came first);
 *                     `answer: null` means the right reply is "I don't know". Even lines are the
 *                     train split, odd lines the test split.
 *   `gym serve --env memory --db <file>` serves the tools over one persistent store instead (no
 *   episodes): see server.ts.
 *
 * Families: extraction, multi-session, temporal, update, abstention (LongMemEval's five abilities).
 * Difficulty d = 1..5 (index mod 5): d + 1 fact sessions, d - 1 interfering facts about other
 * people, floor(d / 2) chit-chat sessions, more questions, changes and list items as d grows.
 * Train and test tasks are drawn from disjoint seeds.
 *
 * Version history
 *   1.0.0  first release: the SQLite store and its seven tools, five families, JSONL scenarios.
 */
import { z } from 'zod';
import type { EnvDefinition, TaskFamily } from '../core/index.js';
import { defineToolEnv } from '../core/index.js';
import { abilityFamily, jsonlFamily, type MemoryState, nextUserTurn } from './families.js';
import { ABILITIES, type Scenario } from './scenario.js';
import { MemoryStore } from './store.js';
import { MEMORY_TOOLS } from './tools.js';

export const MEMORY_ENV_ID = 'memory';
export const MEMORY_ENV_VERSION = '1.0.0';
export const DEFAULT_EPISODE_CAPACITY = 4000;

export const MemoryEnvOptionsSchema = z
  .object({
    capacity: z
      .number()
      .int()
      .min(100)
      .max(10_000_000)
      .optional()
      .describe('Characters the store may hold: a small budget makes consolidation part of the task.'),
    tasks: z.string().optional().describe('A JSONL file of scenarios instead of the generated families.'),
  })
  .strict();
export type MemoryEnvOptions = z.infer<typeof MemoryEnvOptionsSchema>;

const SYSTEM_PROMPT = [
  'You are a personal assistant with a long-term memory: text files under /memories that you reach only through your memory tools.',
  'You talk with the user in sessions. Each new session starts with no trace of earlier conversations: only what you saved in /memories survives.',
  'When the user tells you something about themselves, save it. When a fact changes, update it so that your memory holds only what is current, with no duplicates.',
  'The session header gives the date: save the date of anything the user says happened today.',
  'When the user asks a question, look in your memory first, then reply with only the short answer (a name, a date as YYYY-MM-DD, or for a list the items separated by commas).',
  "If your memory does not hold the answer, reply: I don't know.",
  'Otherwise, when you have saved what matters, reply briefly.',
].join(' ');

export function createMemoryEnv(options: MemoryEnvOptions = {}): EnvDefinition {
  const opts = MemoryEnvOptionsSchema.parse(options);
  const families: TaskFamily<Scenario, MemoryState>[] = opts.tasks
    ? [jsonlFamily(MEMORY_ENV_ID, opts.tasks)]
    : ABILITIES.map((a) => abilityFamily(MEMORY_ENV_ID, a));
  return defineToolEnv<MemoryState>({
    id: MEMORY_ENV_ID,
    version: MEMORY_ENV_VERSION,
    description:
      'Multi-session episodes with a scripted user over a SQLite memory store (view/create/str_replace/insert/delete/rename, memory_search).',
    families,
    tools: [...MEMORY_TOOLS],
    systemPrompt: SYSTEM_PROMPT,
    createEpisode: () => ({ store: new MemoryStore({ capacity: opts.capacity ?? DEFAULT_EPISODE_CAPACITY }), replies: [] }),
    disposeEpisode: (ep) => ep.store.close(),
    user: (task, ep, reply) => nextUserTurn(task.reference as Scenario, ep, reply),
  });
}

/** The registered default: the five generated families. */
export const memoryEnv: EnvDefinition = createMemoryEnv();

export {
  abilityFamily,
  answerFrom,
  hygiene,
  jsonlFamily,
  type MemoryState,
  normalize,
  ORACLE_FILE,
  planOracle,
  ScenarioFileError,
  SPLIT_SIZES,
  scoreQuestion,
  verdictOf,
} from './families.js';
export { ABILITIES, type Ability, generateScenario, knobs, type Scenario, ScenarioSchema, scriptOf } from './scenario.js';
export { createMemoryServer, type MemoryServerHandle, serveMemoryStdio } from './server.js';
export { DEFAULT_CAPACITY, MemoryError, MemoryStore, type MemoryStoreOptions, normalizePath } from './store.js';
export { MEMORY_TOOLS, type MemoryEpisode } from './tools.js';
