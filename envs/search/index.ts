/**
 * search: question answering over a hermetic, seeded encyclopedia of a fictional world.
 *
 * Observation
 *   reset: a system message (how to work, how to answer) and the user's question. Tool results are
 *   text (plus `structuredContent`): ranked results with ids, titles and highlighted snippets; an
 *   article page with its numbered links; in browser mode, a rendered web page with its links.
 *
 * Tools
 *   search({query, k?})        BM25 over the corpus; ids, titles, snippets with **highlighted** terms.
 *   open({id_or_url, page?})   readable text of an article, paginated (~1500 characters a page), links listed.
 *   With `browser: true` also (real headless Chromium over the corpus served on 127.0.0.1):
 *   browse({url})              load a page of the site ("/", "/search?q=...", "/wiki/<id>").
 *   click({target})            follow a link of the current page by its number or its text.
 *   find({text})               occurrences of a phrase on the current page, with context.
 *
 * Reward
 *   `correct` (normalised exact match against the answer or an alias: case, accents, punctuation,
 *   articles and digit grouping ignored) is the reward, 1 or 0. Logged beside it: `f1` (best token
 *   F1 over the aliases) and `format` (a non-empty, single-line answer of at most 120 characters).
 *
 * Episode end
 *   terminated by an answer; truncated by the session's step limit (the MCP session or the rollout
 *   loop). Tool failures (unknown article, bad page number, page timeout or crash) are `isError`
 *   results and the episode goes on.
 *
 * Options (`createSearchEnv`)
 *   docs (3000)       documents in the generated world (articles + archived snapshots).
 *   seed              world seed (default fixed, so task ids name the same questions everywhere).
 *   corpus            a folder of .md/.txt/.html or a .jsonl file instead of the generated world;
 *   tasks             with `corpus`: a JSONL file of {question, answer, aliases?, doc?} (family `qa`).
 *   browser (false)   add the browser tools; browsers (2) pooled Chromium processes;
 *   browserTimeoutMs (5000) per browser call.
 *
 * Families: lookup (difficulty 1-2), multihop (2-4 hops, 3-5), compare (2-5 options, 2-5), changed
 * (current vs outdated facts, 2-4). Splits are disjoint by subject entity.
 *
 * Version history
 *   1.0.0  first release: world generator, BM25, search/open, browser tools, four families.
 */
import { z } from 'zod';
import type { Corpus } from '../../tools/corpus/index.js';
import type { EnvDefinition, EnvResource, TaskFamily, ToolSpec } from '../core/index.js';
import { defineToolEnv } from '../core/index.js';
import { type BackendOptions, backendFor, DEFAULT_BACKEND, type SearchBackend } from './backend.js';
import { qaFamily, worldFamilies } from './families.js';
import { BROWSER_TOOLS, type SearchEpisode, TEXT_TOOLS } from './tools.js';

export const SEARCH_ENV_ID = 'search';
export const SEARCH_ENV_VERSION = '1.0.0';

export const SearchEnvOptionsSchema = z
  .object({
    docs: z
      .number()
      .int()
      .min(40)
      .max(200_000)
      .optional()
      .describe('Documents in the generated world: more makes search harder and startup slower.'),
    seed: z.number().int().optional().describe('World seed: a different world, with different facts, for the same task ids.'),
    corpus: z
      .string()
      .optional()
      .describe("A user's corpus (folder of .md/.txt/.html, or .jsonl) instead of the generated world."),
    tasks: z.string().optional().describe('With `corpus`: JSONL questions {question, answer, aliases?, doc?}.'),
    browser: z.boolean().optional().describe('Add the browse/click/find tools backed by headless Chromium.'),
    browsers: z
      .number()
      .int()
      .min(1)
      .max(16)
      .optional()
      .describe('Chromium processes in the pool; episodes get contexts, not browsers.'),
    browserTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .optional()
      .describe('Limit of one browser call; a page past it is reset.'),
  })
  .strict()
  // Questions of a user's own are answered from the user's corpus: without one they would be
  // dropped silently and the generated world's families served instead.
  .refine((o) => o.tasks === undefined || o.corpus !== undefined, {
    path: ['tasks'],
    message: 'search reads a task file together with its corpus: give `corpus` (--corpus <path>) as well',
  });
export type SearchEnvOptions = z.infer<typeof SearchEnvOptionsSchema>;

export interface SearchEnvDefinition extends EnvDefinition {
  readonly options: SearchEnvOptions;
  /** The shared corpus + index (built on first use). */
  backend(): SearchBackend;
  /** Stops the corpus site and the browsers of this definition. */
  shutdown(): Promise<void>;
}

const SYSTEM_PROMPT = [
  'You answer questions about a fictional world. Its facts are not in your memory: they are only in an encyclopedia you reach through your tools.',
  'Search for the names in the question, open the articles, and follow links for questions that chain several facts.',
  'Some facts changed over time: archived snapshots are outdated, so prefer the current article and the current value.',
  'When you know the answer, reply with only the short answer (a name, a date or a number), nothing else.',
].join(' ');

function resourcesOf(corpus: Corpus): EnvResource[] {
  return corpus.docs.map((d) => ({
    uri: `toolgym://search/docs/${encodeURIComponent(d.id)}`,
    name: d.id,
    title: d.title,
    mimeType: 'text/markdown',
    read: () => `# ${d.title}\n\n${d.text}\n`,
  }));
}

export function createSearchEnv(options: SearchEnvOptions = {}): SearchEnvDefinition {
  const opts = SearchEnvOptionsSchema.parse(options);
  const backendOpts: BackendOptions = {
    worldSeed: opts.seed ?? DEFAULT_BACKEND.worldSeed,
    docs: opts.docs ?? DEFAULT_BACKEND.docs,
    browsers: opts.browsers ?? DEFAULT_BACKEND.browsers,
    ...(opts.corpus ? { corpus: opts.corpus } : {}),
  };
  const backend = (): SearchBackend => backendFor(backendOpts);
  let snapshots: ReadonlySet<string> | undefined;
  const families: TaskFamily<any>[] = opts.corpus
    ? opts.tasks
      ? [qaFamily(SEARCH_ENV_ID, opts.tasks)]
      : []
    : worldFamilies({
        envId: SEARCH_ENV_ID,
        world: () => backend().corpus.world as NonNullable<Corpus['world']>,
        snapshots: () => {
          snapshots ??= new Set(backend().corpus.docs.flatMap((d) => (d.kind === 'snapshot' && d.entity ? [d.entity] : [])));
          return snapshots;
        },
      });
  const tools: ToolSpec<SearchEpisode, any>[] = opts.browser ? [...TEXT_TOOLS, ...BROWSER_TOOLS] : [...TEXT_TOOLS];
  const def = defineToolEnv<SearchEpisode>({
    id: SEARCH_ENV_ID,
    version: SEARCH_ENV_VERSION,
    description:
      'Question answering over a hermetic, seeded encyclopedia: BM25 search, paginated articles, optional real browser.',
    families,
    tools,
    systemPrompt: SYSTEM_PROMPT,
    createEpisode: () => ({
      backend: backend(),
      browser: opts.browser === true,
      browserTimeoutMs: opts.browserTimeoutMs ?? 5000,
    }),
    disposeEpisode: async (ep) => {
      const tab = ep.tab;
      ep.tab = undefined;
      await tab?.close();
    },
  });
  return {
    ...def,
    options: opts,
    resources: () => resourcesOf(backend().corpus),
    backend,
    shutdown: () => backend().shutdown(),
  };
}

/** The registered default: generated world of 3000 documents, text tools only. */
export const searchEnv: SearchEnvDefinition = createSearchEnv();

export { PAGE_CHARS, paginate, SearchBackend } from './backend.js';
export { planOracle, qaFamily, SPLIT_SIZES, TaskFileError, worldFamilies } from './families.js';
export type { PlanStep, SearchRef } from './questions.js';
export type { SearchEpisode } from './tools.js';
export type { AnswerRef } from './verify.js';
export { normalizeAnswer, scoreAnswer, tokenF1 } from './verify.js';
