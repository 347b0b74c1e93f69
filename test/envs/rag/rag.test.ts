/**
 * The RAG environment's own tests (the shared conformance suite and the CLI oracle run over it from
 * test/envs/registered.test.ts and test/e2e/oracle-cli.test.ts): the verifier on known-correct and
 * known-wrong answers and citations, the tools, the paraphrase split, BM25 alone, a user's corpus
 * with its questions file, and the MCP resources.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { connectInMemory, type Environment, type OracleObservation, type ToolResult } from '../../../envs/core/index.js';
import {
  createRagEnv,
  exactMatch,
  isAbstention,
  normalizeAnswer,
  paraphraseSplit,
  parseCitations,
  type RagRef,
  recallAtK,
  scoreRag,
  TaskFileError,
  tokenF1,
} from '../../../envs/rag/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'toolgym-rag-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = join(tmp, 'cache');

const one: RagRef = { answer: 'Ilvar Tesk', aliases: [], gold: [['kravik-works#0', 'ilvar-tesk#3']], unanswerable: false };
const two: RagRef = {
  answer: '1987',
  aliases: [],
  gold: [['ilvar-tesk#0'], ['kravik-works#0', 'kravik-works#1']],
  unanswerable: false,
};
const none: RagRef = { answer: 'unanswerable', aliases: [], gold: [], unanswerable: true };

describe('the RAG verifier', () => {
  it('normalises answers as FlashRAG does and scores exact match and token F1', () => {
    expect(normalizeAnswer('  The Kravik-Works!  ')).toBe('kravikworks');
    expect(normalizeAnswer('An apple, a day')).toBe('apple day');
    expect(exactMatch('the ilvar tesk.', ['Ilvar Tesk'])).toBe(1);
    expect(exactMatch('Ilvar Teske', ['Ilvar Tesk'])).toBe(0);
    expect(tokenF1('Ilvar Tesk of Vikholm', ['Ilvar Tesk'])).toBeCloseTo(2 / 3, 6); // precision 2/4, recall 2/2
    expect(tokenF1('yes', ['no'])).toBe(0);
  });

  it('separates inline citations from the answer, one bracket or several ids per bracket', () => {
    expect(parseCitations('1987 [ilvar-tesk#0] [kravik-works#1].')).toEqual({
      answer: '1987.',
      cited: ['ilvar-tesk#0', 'kravik-works#1'],
    });
    expect(parseCitations('1987 [a#0, b/c#12; a#0]').cited).toEqual(['a#0', 'b/c#12']);
    expect(parseCitations('Tesk [not a citation]').answer).toBe('Tesk [not a citation]');
  });

  it('pays 1 for a correct answer citing a chunk of every gold fact', () => {
    const v = scoreRag(one, 'Ilvar Tesk [ilvar-tesk#3]');
    expect(v).toMatchObject({ reward: 1, correct: true });
    expect(v.components).toMatchObject({ correct: 1, f1: 1, citation_precision: 1, citation_recall: 1, abstain: 0 });
    expect(scoreRag(two, '<answer>1987 [ilvar-tesk#0] [kravik-works#1]</answer>').reward).toBe(1);
  });

  it('pays less for a correct answer whose citations are missing, partial or wrong', () => {
    expect(scoreRag(one, 'Ilvar Tesk')).toMatchObject({ reward: 0.5, correct: false });
    expect(scoreRag(one, 'Ilvar Tesk').components.citation_recall).toBe(0);
    const half = scoreRag(two, '1987 [ilvar-tesk#0]');
    expect(half.components).toMatchObject({ citation_precision: 1, citation_recall: 0.5 });
    expect(half.reward).toBe(0.875);
    const wrongCite = scoreRag(one, 'Ilvar Tesk [ilvar-tesk#3] [vikholm#1]');
    expect(wrongCite.components.citation_precision).toBe(0.5);
    expect(wrongCite.correct).toBe(false);
  });

  it('pays nothing for a wrong answer, however well cited, or for abstaining when the corpus holds the answer', () => {
    expect(scoreRag(one, 'Ilvar Teske [ilvar-tesk#3]')).toMatchObject({ reward: 0, correct: false });
    const abstained = scoreRag(one, 'unanswerable');
    expect(abstained).toMatchObject({ reward: 0, correct: false });
    expect(abstained.components.abstain).toBe(1);
  });

  it('pays an abstention on an unanswerable question, less when it cites, nothing for an answer', () => {
    expect(scoreRag(none, 'unanswerable')).toMatchObject({ reward: 1, correct: true });
    expect(scoreRag(none, 'The corpus does not say.')).toMatchObject({ reward: 1 });
    expect(scoreRag(none, 'unanswerable [ilvar-tesk#0]')).toMatchObject({ reward: 0.5, correct: false });
    expect(scoreRag(none, 'Vikholm [ilvar-tesk#0]')).toMatchObject({ reward: 0, correct: false });
    expect(isAbstention("I don't know")).toBe(true);
    expect(isAbstention('Vikholm')).toBe(false);
  });
});

async function call(env: Environment, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const r = await env.step({ kind: 'tool_calls', calls: [{ name, arguments: args }] });
  return r.observation.toolResults?.[0] as ToolResult;
}

describe('the rag environment over the generated world', () => {
  const def = createRagEnv({ cacheDir });

  it('retrieves chunks by hybrid retrieval and reads a chunk with its neighbours', async () => {
    const env = def.create();
    try {
      const single = def.families.find((f) => f.name === 'single');
      if (!single) throw new Error('no single family');
      const task = single.generate('test', 0);
      await env.reset({ taskId: task.id });
      const r = await call(env, 'retrieve', { query: task.prompt, k: 3 });
      const sc = r.structuredContent as { mode: string; results: Array<{ id: string; text: string; doc: string }> };
      expect(sc.mode).toBe('hybrid');
      expect(sc.results).toHaveLength(3);
      expect(sc.results[0]?.id).toMatch(/^[a-z0-9-]+#\d+$/);
      const gold = (task.reference as RagRef).gold[0]?.[0] as string;
      const read = await call(env, 'read', { chunk_id: gold });
      const rc = read.structuredContent as { id: string; chunks: Array<{ id: string; requested: boolean }> };
      expect(rc.id).toBe(gold);
      expect(rc.chunks.find((c) => c.requested)?.id).toBe(gold);
      const bad = await call(env, 'read', { chunk_id: `${gold.split('#')[0]}#999` });
      expect(bad.isError).toBe(true);
      expect(bad.content[0]?.text).toMatch(/has chunks .*#0 to/);
    } finally {
      await env.close();
    }
  });

  it('ranks better with dense + BM25 than with BM25 alone on a paraphrase split', async () => {
    const b = def.backend();
    const retriever = await b.retriever();
    const world = b.corpus.world;
    if (!world) throw new Error('the generated world is missing');
    const qs = paraphraseSplit(world, (d) => b.chunksOf(d), 400, 3);
    const ranked = async (mode: 'bm25' | 'hybrid' | 'dense') =>
      Promise.all(qs.map(async (q) => (await retriever.retrieve(q.query, 5, mode)).map((h) => h.id)));
    const bm25 = recallAtK(qs, await ranked('bm25'), 5);
    const hybrid = recallAtK(qs, await ranked('hybrid'), 5);
    const dense = recallAtK(qs, await ranked('dense'), 5);
    console.log(`[rag] paraphrase recall@5 over ${qs.length} questions: bm25 ${bm25}, dense ${dense}, hybrid ${hybrid}`);
    // 0.90 / 0.96 / 0.93 here: a margin of about ten questions, well above rounding-level rank swaps.
    expect(hybrid).toBeGreaterThan(bm25);
    expect(dense).toBeGreaterThan(bm25);
  });

  it('gives every family a task with gold chunks that hold its answer', () => {
    for (const f of def.families) {
      const t = f.generate('train', 3);
      const ref = t.reference as RagRef;
      if (ref.unanswerable) expect(ref.gold).toEqual([]);
      else {
        expect(ref.gold.length).toBeGreaterThanOrEqual(f.name === 'synthesis' ? 2 : 1);
        for (const g of ref.gold) for (const id of g) expect(def.backend().byId.has(id)).toBe(true);
      }
    }
  });
});

describe('the rag environment without an embedding model', () => {
  it('says plainly that retrieval is BM25 alone, and retrieves by BM25', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const def = createRagEnv({ model: 'none', cacheDir, docs: 150 });
    const env = def.create();
    try {
      def.preflight?.();
      expect(spy.mock.calls.map((c) => String(c[0])).join('')).toMatch(/no embedding model, so retrieval is BM25 alone/);
      const { observation } = await env.reset({ seed: 3 });
      expect(observation.messages?.[0]?.content).toMatch(/BM25 keyword matching alone/);
      const r = await call(env, 'retrieve', { query: 'mayor' });
      expect((r.structuredContent as { mode: string }).mode).toBe('bm25');
      expect(r.content[0]?.text).toMatch(/BM25 keyword match alone/);
      expect(spy.mock.calls.map((c) => String(c[0])).join('')).toMatch(/no embedding model, so retrieval is BM25 alone/);
    } finally {
      spy.mockRestore();
      await env.close();
    }
  });
});

describe("the rag environment over a user's corpus", () => {
  const folder = join(tmp, 'notes');
  mkdirSync(join(folder, 'guides'), { recursive: true });
  writeFileSync(
    join(folder, 'guides', 'Boiler.md'),
    '# Boiler\n\nThe boiler was installed in 2019.\n\n## Service\n\nThe boiler is serviced every October by Acme Heating.',
  );
  writeFileSync(join(folder, 'garden.txt'), 'The garden shed is painted green. The hose is kept in the shed.');
  const questions = join(tmp, 'questions.jsonl');
  const rows = [
    { question: 'When was the boiler installed?', answer: '2019', gold: ['guides/boiler#0'] },
    { question: 'Who services the boiler?', answer: 'Acme Heating', gold: ['guides/boiler#1'] },
    { question: 'What colour is the shed?', answer: 'green', gold: ['garden'] },
    { question: 'Where is the hose kept?', answer: 'in the shed', aliases: ['shed'], gold: ['garden#0'] },
    { question: 'What is the boiler made of?', unanswerable: true },
  ];
  writeFileSync(questions, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

  it('serves the questions file as the qa family, with document ids as gold, and its oracle solves each task', async () => {
    const def = createRagEnv({ corpus: folder, tasks: questions, cacheDir });
    const qa = def.families[0];
    if (!qa) throw new Error('no qa family');
    expect(qa.name).toBe('qa');
    expect(qa.splitSizes).toEqual({ train: 4, test: 1 });
    expect((qa.generate('train', 2).reference as RagRef).gold).toEqual([['garden#0']]);
    for (const [split, n] of [
      ['train', 4],
      ['test', 1],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const task = qa.generate(split, i);
        const env = def.create();
        await env.reset({ taskId: task.id });
        const history: OracleObservation[] = [];
        for (let s = 0; s < 6; s++) {
          const act = qa.oracle(task, history);
          if (act.kind === 'answer') {
            const r = await env.step({ kind: 'answer', answer: act.answer });
            expect(r.info.verdict?.correct, `${task.id}: ${act.answer}`).toBe(true);
            break;
          }
          const r = await env.step({ kind: 'tool_calls', calls: act.calls });
          act.calls.forEach((c, k) => {
            history.push({ call: c, result: r.observation.toolResults?.[k] as ToolResult });
          });
        }
        await env.close();
      }
    }
  });

  it('fails before any episode when the model folder has no model, saying what it needs', () => {
    const def = createRagEnv({ corpus: folder, tasks: questions, cacheDir, model: join(tmp, 'no-model') });
    expect(() => def.preflight?.()).toThrow(/no model\.onnx in .*no-model/);
  });

  it('rejects a questions file whose gold names no chunk or document, naming the line', () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(
      bad,
      `${JSON.stringify({ question: 'q', answer: 'a', gold: ['garden#0'] })}\n${JSON.stringify({ question: 'q2', answer: 'a', gold: ['cellar#0'] })}\n`,
    );
    expect(() => createRagEnv({ corpus: folder, tasks: bad, cacheDir })).toThrow(TaskFileError);
    expect(() => createRagEnv({ corpus: folder, tasks: bad, cacheDir })).toThrow(/bad\.jsonl:2: gold "cellar#0"/);
    writeFileSync(bad, `${JSON.stringify({ question: 'q', answer: 'a' })}\n`);
    expect(() => createRagEnv({ corpus: folder, tasks: bad, cacheDir })).toThrow(/needs "gold"/);
  });

  it('lists and reads documents and chunks as MCP resources', async () => {
    const def = createRagEnv({ corpus: folder, tasks: questions, cacheDir });
    const client = await connectInMemory(def);
    try {
      const listed = (await client.listResources()).resources.map((r) => r.uri);
      expect(listed).toContain('toolgym://rag/docs/guides%2Fboiler');
      expect(listed).toContain('toolgym://rag/chunks/guides%2Fboiler%231');
      const chunk = await client.readResource({ uri: 'toolgym://rag/chunks/guides%2Fboiler%231' });
      expect(String((chunk.contents[0] as { text?: string }).text)).toContain('serviced every October by Acme Heating');
      const doc = await client.readResource({ uri: 'toolgym://rag/docs/garden' });
      expect(String((doc.contents[0] as { text?: string }).text)).toContain('Chunks: garden#0');
    } finally {
      await client.close();
    }
  });
});
