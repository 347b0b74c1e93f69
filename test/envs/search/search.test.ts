import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectInMemory,
  type Environment,
  type OracleObservation,
  type Split,
  type StepResult,
  type Task,
  type TaskFamily,
} from '../../../envs/core/index.js';
import {
  createSearchEnv,
  normalizeAnswer,
  paginate,
  planOracle,
  type SearchRef,
  scoreAnswer,
  tokenF1,
} from '../../../envs/search/index.js';
import { current, previous } from '../../../tools/corpus/index.js';

// The conformance suite runs over every registered environment in test/envs/registered.test.ts.

// A small world keeps these tests fast; the default (3000 documents) runs the conformance suite.
const small = createSearchEnv({ docs: 600, seed: 11 });
const world = () => {
  const w = small.backend().corpus.world;
  if (!w) throw new Error('generated corpus without a world');
  return w;
};

async function playOracle(env: Environment, family: TaskFamily<any>, task: Task): Promise<{ last: StepResult; calls: string[] }> {
  await env.reset({ taskId: task.id });
  const history: OracleObservation[] = [];
  const calls: string[] = [];
  for (let i = 0; i < 20; i++) {
    const act = family.oracle(task, history);
    const r = await env.step(act);
    if (act.kind === 'answer') return { last: r, calls };
    act.calls.forEach((c, k) => {
      calls.push(c.name);
      const result = r.observation.toolResults?.[k];
      if (!result) throw new Error('missing tool result');
      expect(result.isError, JSON.stringify(result).slice(0, 300)).not.toBe(true);
      history.push({ call: c, result });
    });
  }
  throw new Error(`oracle did not answer ${task.id}`);
}

describe('search env tasks', () => {
  const byName = (n: string) => small.families.find((f) => f.name === n) as TaskFamily<SearchRef>;

  it('has the four families with difficulties from 1 to 5', () => {
    expect(small.families.map((f) => f.name)).toEqual(['lookup', 'multihop', 'compare', 'changed']);
    const seen = new Set<number>();
    for (const f of small.families) for (let i = 0; i < 40; i++) seen.add(f.generate('train', i).difficulty);
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  for (const name of ['lookup', 'multihop', 'compare', 'changed']) {
    it(`lets the oracle score 1.0 with real search and open calls on a sample of ${name} tasks`, async () => {
      const fam = byName(name);
      const env = small.create();
      try {
        for (const split of ['train', 'test'] as Split[]) {
          for (const i of [0, 3, 17, 101]) {
            const task = fam.generate(split, i);
            const { last, calls } = await playOracle(env, fam, task);
            expect(last.reward, `${task.id}: ${task.prompt}`).toBe(1);
            expect(last.info.verdict?.correct).toBe(true);
            expect(last.terminated).toBe(true);
            expect(calls).toContain('open');
            if (task.reference.plan[0]?.via === 'search') expect(calls[0]).toBe('search');
          }
        }
      } finally {
        await env.close();
      }
    });
  }

  it('searches independent options in one turn and opens them in the next, so a five-option comparison fits in eight turns', () => {
    const plan = ['a', 'b', 'c', 'd', 'e'].map((x) => ({ via: 'search' as const, query: `Q ${x}`, target: x }));
    const seen = (c: { name: string; arguments: Record<string, unknown> }): OracleObservation['result'] => {
      const arg = String(Object.values(c.arguments)[0]);
      const structuredContent = c.name === 'search' ? { results: [{ id: arg.slice(2) }] } : { id: arg, links: [] as unknown[] };
      return { content: [{ type: 'text', text: '' }], structuredContent };
    };
    const history: OracleObservation[] = [];
    const turns: string[][] = [];
    for (let i = 0; i < 10; i++) {
      const act = planOracle(plan, 'the answer', history);
      if (act.kind === 'answer') {
        expect(act.answer).toBe('the answer');
        break;
      }
      turns.push(act.calls.map((c) => `${c.name} ${String(Object.values(c.arguments)[0])}`));
      for (const c of act.calls) history.push({ call: c, result: seen(c) });
    }
    expect(turns).toEqual([
      ['search Q a', 'search Q b', 'search Q c', 'search Q d'],
      ['open a', 'open b', 'open c', 'open d'],
      ['search Q e'],
      ['open e'],
    ]);
  });

  it('scores a wrong answer 0, with all components reported', async () => {
    const env = small.create();
    try {
      for (const f of small.families) {
        await env.reset({ taskId: f.generate('test', 5).id });
        const r = await env.step({ kind: 'answer', answer: 'Nobody In Particular' });
        expect(r.reward).toBe(0);
        expect(r.info.verdict?.correct).toBe(false);
        expect(Object.keys(r.info.verdict?.components ?? {}).sort()).toEqual(['correct', 'f1', 'format']);
      }
    } finally {
      await env.close();
    }
  });

  it('scores the outdated value of a changed fact as wrong', async () => {
    const fam = byName('changed');
    const w = world();
    let checked = 0;
    for (let i = 0; i < 60 && checked < 5; i++) {
      const task = fam.generate('train', i);
      const m = /current mayor of (.+)\?$/.exec(task.prompt);
      if (!m) continue;
      const city = w.cities.find((c) => c.name === m[1]);
      if (!city) throw new Error(`no city ${m[1]}`);
      const old = w.entities.get((previous(city.mayor) as { value: string }).value)?.name ?? '';
      expect((await fam.verify(task, old)).reward).toBe(0);
      expect((await fam.verify(task, w.entities.get(current(city.mayor))?.name ?? '')).reward).toBe(1);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('keeps train and test questions about different subjects', () => {
    for (const f of small.families) {
      const train = new Set(Array.from({ length: 200 }, (_, i) => f.generate('train', i).reference.plan[0]?.target));
      for (let i = 0; i < 100; i++) expect(train.has(f.generate('test', i).reference.plan[0]?.target)).toBe(false);
    }
  });
});

describe('search env verifier', () => {
  const ref = { answer: '12 March 1967', aliases: ['March 12, 1967', '1967-03-12'] };
  it('accepts the answer and its aliases regardless of case, punctuation and wrapping', () => {
    for (const a of ['12 March 1967', 'march 12 1967', '1967-03-12', '<answer>12 March 1967.</answer>', 'Answer: 12 march 1967'])
      expect(scoreAnswer(ref, a).correct, a).toBe(true);
  });
  it('rejects near misses but gives them partial token F1', () => {
    const v = scoreAnswer(ref, '13 March 1967');
    expect(v.correct).toBe(false);
    expect(v.reward).toBe(0);
    expect(v.components.f1).toBeCloseTo(2 / 3, 3);
  });
  it('joins digit groups and drops articles when normalising', () => {
    expect(normalizeAnswer('The 2,817,973')).toBe('2817973');
    expect(scoreAnswer({ answer: '2,817,973', aliases: [] }, '2817973').correct).toBe(true);
    expect(tokenF1('the Varnel Institute', 'Varnel Institute')).toBe(1);
  });
  it('gives format 0 to an empty or rambling multi-line answer', () => {
    expect(scoreAnswer(ref, '').components.format).toBe(0);
    expect(scoreAnswer(ref, 'I think\nit is 12 March 1967').components.format).toBe(0);
    expect(scoreAnswer(ref, '12 March 1967').components.format).toBe(1);
  });
});

describe('search env tools', () => {
  const call = async (env: Environment, name: string, args: Record<string, unknown>) => {
    const r = await env.step({ kind: 'tool_calls', calls: [{ name, arguments: args }] });
    const res = r.observation.toolResults?.[0];
    if (!res) throw new Error('no result');
    return res;
  };

  it('finds an article by its name at the top of the results, with highlighted snippets', async () => {
    const env = small.create();
    await env.reset({ seed: 1 });
    const p = world().people[5];
    const r = await call(env, 'search', { query: p.name, k: 3 });
    const results = (r.structuredContent as { results: Array<{ id: string; snippet: string }> }).results;
    expect(results[0].id).toBe(p.id);
    expect(results).toHaveLength(3);
    expect(r.content[0].text).toContain(`(id: ${p.id})`);
    expect(results[0].snippet).toMatch(/\*\*[^*]+\*\*/);
    await env.close();
  });

  it('opens an article by id, url or title, paginates it, and lists its links', async () => {
    const env = small.create();
    await env.reset({ seed: 1 });
    const doc = small.backend().corpus.docs.find((d) => d.links.length > 2) ?? small.backend().corpus.docs[0];
    for (const ref of [doc.id, doc.url, `http://127.0.0.1:9/wiki/${doc.id}`, doc.title]) {
      const r = await call(env, 'open', { id_or_url: ref });
      expect(r.isError, ref).not.toBe(true);
      expect((r.structuredContent as { id: string }).id).toBe(doc.id);
    }
    const r = await call(env, 'open', { id_or_url: doc.id });
    expect(r.content[0].text).toContain(`[1] ${doc.links[0].text} (id: ${doc.links[0].target})`);
    const bad = await call(env, 'open', { id_or_url: doc.id, page: 99 });
    expect(bad.isError).toBe(true);
    expect(bad.content[0].text).toMatch(/page between 1 and/);
    const missing = await call(env, 'open', { id_or_url: 'no-such-article' });
    expect(missing.isError).toBe(true);
    await env.close();
  });

  it('splits long texts into pages at paragraph boundaries without losing text', () => {
    const text = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${'word '.repeat(20).trim()}.`).join('\n\n');
    const pages = paginate(text, 500);
    expect(pages.length).toBeGreaterThan(3);
    expect(pages.every((p) => p.length <= 500)).toBe(true);
    expect(pages.join('\n\n')).toBe(text);
  });

  it('lists and reads corpus documents as MCP resources', async () => {
    const client = await connectInMemory(small);
    try {
      const listed = await client.listResources();
      const doc = small.backend().corpus.docs[3];
      const uri = `toolgym://search/docs/${doc.id}`;
      expect(listed.resources.map((r) => r.uri)).toContain(uri);
      const read = await client.readResource({ uri });
      expect(String((read.contents[0] as { text?: string }).text)).toContain(doc.text.slice(0, 60));
    } finally {
      await client.close();
    }
  });

  it('exposes every document as a resource', () => {
    const res = small.resources?.() ?? [];
    expect(res.length).toBe(600);
    expect(res[0].uri).toMatch(/^toolgym:\/\/search\/docs\//);
    expect(res[0].read()).toContain(small.backend().corpus.docs[0].text.slice(0, 50));
  });
});

describe('search env on a user corpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-search-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('searches a folder of documents and solves JSONL questions with the oracle', async () => {
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'harbour.md'), '# Harbour\n\nThe harbour lighthouse was built in 1882.\n');
    writeFileSync(join(dir, 'docs', 'market.md'), '# Market\n\nThe market opens at dawn.\n');
    const lines = Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({ question: `When was the harbour lighthouse built? (${i})`, answer: '1882', doc: 'harbour' }),
    );
    writeFileSync(join(dir, 'tasks.jsonl'), `${lines.join('\n')}\n`);
    const def = createSearchEnv({ corpus: join(dir, 'docs'), tasks: join(dir, 'tasks.jsonl') });
    expect(def.families.map((f) => f.name)).toEqual(['qa']);
    expect(def.families[0].splitSizes).toEqual({ train: 4, test: 1 });
    const env = def.create();
    const { last, calls } = await playOracle(env, def.families[0], def.families[0].generate('test', 0));
    expect(last.reward).toBe(1);
    expect(calls).toEqual(['search', 'open']);
    await env.close();
    expect(() => createSearchEnv({ docs: 500, bogus: 1 } as never)).toThrow();
  });

  it('solves a question without a doc by searching it and reading the top result', async () => {
    const lines = [
      { question: 'When was the harbour lighthouse built?', answer: '1882' },
      { question: 'When does the market open?', answer: 'at dawn', aliases: ['dawn'] },
    ].map((r) => JSON.stringify(r));
    writeFileSync(join(dir, 'nodoc.jsonl'), `${[...lines, ...lines, lines[0]].join('\n')}\n`);
    const def = createSearchEnv({ corpus: join(dir, 'docs'), tasks: join(dir, 'nodoc.jsonl') });
    const qa = def.families[0];
    const env = def.create();
    try {
      for (const index of [0, 1]) {
        const task = qa.generate('train', index);
        await env.reset({ taskId: task.id });
        const history: OracleObservation[] = [];
        const act1 = qa.oracle(task, history);
        expect(act1.kind === 'tool_calls' && act1.calls.map((c) => [c.name, c.arguments.query])).toEqual([
          ['search', task.prompt],
        ]);
        const r1 = await env.step(act1);
        if (act1.kind !== 'tool_calls') throw new Error('unreachable');
        history.push({ call: act1.calls[0], result: r1.observation.toolResults?.[0] as never });
        const act2 = qa.oracle(task, history);
        // the top result is the document that holds the answer
        expect(act2.kind === 'tool_calls' && act2.calls.map((c) => [c.name, c.arguments.id_or_url])).toEqual([
          ['open', index === 0 ? 'harbour' : 'market'],
        ]);
        const r2 = await env.step(act2);
        if (act2.kind !== 'tool_calls') throw new Error('unreachable');
        history.push({ call: act2.calls[0], result: r2.observation.toolResults?.[0] as never });
        const act3 = qa.oracle(task, history);
        expect(act3.kind).toBe('answer');
        expect((await env.step(act3)).reward).toBe(1);
      }
    } finally {
      await env.close();
    }
  });
});
