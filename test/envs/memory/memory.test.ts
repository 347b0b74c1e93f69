import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPolicy, runBatch, type Trajectory } from '../../../agent/index.js';
import { CONTROL, connectInMemory, META, readEpisodeMeta, UserTurnResultSchema } from '../../../envs/core/index.js';
import {
  ABILITIES,
  answerFrom,
  createMemoryEnv,
  generateScenario,
  hygiene,
  memoryEnv,
  type Scenario,
  scoreQuestion,
  scriptOf,
  verdictOf,
} from '../../../envs/memory/index.js';

const scenario = (a: (typeof ABILITIES)[number], d = 3, seed = 11): Scenario => generateScenario(a, d, seed);

describe('memory scenarios', () => {
  it('grow with difficulty: more sessions, more interfering facts, chit-chat sessions', () => {
    const easy = scenario('extraction', 1);
    const hard = scenario('extraction', 5);
    expect(easy.sessions.length).toBe(2);
    expect(hard.sessions.length).toBe(8); // 6 fact sessions and 2 chit-chat ones
    expect(hard.sessions.filter((s) => s.facts.length === 0)).toHaveLength(2);
    expect(hard.sessions.flatMap((s) => s.facts).filter((f) => f.key.includes("'s ")).length).toBeGreaterThan(2);
  });

  it('scripts one user turn per session, then one per question; each session after the first opens a new context', () => {
    const s = scenario('abstention', 3);
    const script = scriptOf(s);
    expect(script).toHaveLength(s.sessions.length + s.questions.length);
    expect(script.map((t) => t.newContext)).toEqual([
      false,
      ...s.sessions.slice(1).map(() => true),
      true,
      ...s.questions.slice(1).map(() => false),
    ]);
    expect(script[0].content).toMatch(/^\[Session 1 of \d+ · \d{4}-\d{2}-\d{2}\]/);
  });

  it('keeps train and test tasks apart', () => {
    for (const f of memoryEnv.families) {
      const train = new Set(Array.from({ length: 50 }, (_, i) => f.generate('train', i).prompt));
      for (let i = 0; i < 50; i++) expect(train.has(f.generate('test', i).prompt)).toBe(false);
    }
  });
});

describe('memory verdicts', () => {
  it('scores exact answers, list answers as sets, and "I don\'t know" only where nothing was said', () => {
    expect(scoreQuestion({ question: 'q', answer: 'Porto', kind: 'value' }, ' porto. ')).toBe(1);
    expect(scoreQuestion({ question: 'q', answer: 'Porto', kind: 'value' }, 'Lisbon')).toBe(0);
    expect(scoreQuestion({ question: 'q', answer: ['Oslo', 'Rome'], kind: 'list' }, 'rome and oslo')).toBe(1);
    expect(scoreQuestion({ question: 'q', answer: ['Oslo', 'Rome'], kind: 'list' }, 'Oslo')).toBe(0);
    expect(scoreQuestion({ question: 'q', answer: null, kind: 'value' }, "I don't know.")).toBe(1);
    expect(scoreQuestion({ question: 'q', answer: null, kind: 'value' }, 'Porto')).toBe(0);
    expect(scoreQuestion({ question: 'q', answer: 'Porto', kind: 'value' }, "I don't know")).toBe(0);
  });

  it('lowers hygiene for a superseded value left as current and for duplicate lines, not for marked history', () => {
    expect(hygiene([{ text: 'city: Porto' }], ['Lisbon'])).toBe(1);
    expect(hygiene([{ text: 'city: Porto\ncity: Lisbon' }], ['Lisbon'])).toBe(0.5);
    expect(hygiene([{ text: 'city: Porto\nformerly lived in Lisbon' }], ['Lisbon'])).toBe(1);
    expect(hygiene([{ text: 'city: Porto' }, { text: 'city: Porto' }], [])).toBe(0.75);
  });

  it('gives reward 1 to right replies over a clean store, and less to wrong replies or a stale store', () => {
    const s = scenario('update', 4);
    const right = s.questions.map((q) => (Array.isArray(q.answer) ? q.answer.join(', ') : (q.answer ?? "I don't know")));
    const clean = verdictOf(s, right, [{ text: right.join('\n') }]);
    expect(clean).toMatchObject({ reward: 1, correct: true });
    const stale = s.sessions.flatMap((x) => x.facts).find((f) => f.key === s.questions[0].keys?.[0]);
    const dirty = verdictOf(s, right, [{ text: `${right.join('\n')}\n${stale?.value}` }]);
    expect(dirty.correct).toBe(true);
    expect(dirty.reward).toBeLessThan(1);
    const wrong = verdictOf(
      s,
      right.map(() => 'Nowhere'),
      [],
    );
    expect(wrong.correct).toBe(false);
    expect(wrong.reward).toBeLessThanOrEqual(0.2);
  });

  it('answers "which first" from the dates in memory', () => {
    const q = { question: 'q', answer: 'b', keys: ['a', 'b'], kind: 'earliest' as const };
    expect(
      answerFrom(q, [
        ['a', '2024-03-02'],
        ['b', '2024-01-09'],
      ]),
    ).toBe('b');
    expect(answerFrom(q, [])).toBe("I don't know");
  });
});

function allTasks(n: number): string[] {
  const out: string[] = [];
  for (const a of ABILITIES)
    for (const split of ['train', 'test']) for (let i = 0; i < n; i++) out.push(`memory/${a}/${split}/${i}`);
  return out;
}

describe('memory episodes through the rollout loop', () => {
  it('the oracle solves every family at every difficulty, in both splits, with a clean store', async () => {
    const policy = await createPolicy('oracle', { env: memoryEnv });
    const { trajectories } = await runBatch({ env: memoryEnv, policy, tasks: allTasks(5), progress: false, keep: true });
    const bad = trajectories.filter((t) => !t.correct || t.reward !== 1 || t.ending !== 'terminated');
    expect(bad.map((t) => `${t.ids.task}: ${t.reason} ${t.reward}`)).toEqual([]);
    expect(trajectories).toHaveLength(ABILITIES.length * 2 * 5);
  });

  it('records one context per session, each with its own messages, and the turns with their context index', async () => {
    const policy = await createPolicy('oracle', { env: memoryEnv });
    const [t] = (await runBatch({ env: memoryEnv, policy, tasks: ['memory/update/test/3'], progress: false, keep: true }))
      .trajectories as Trajectory[];
    const s = memoryEnv.getTask('memory/update/test/3').reference as Scenario;
    expect(t.contexts).toHaveLength(s.sessions.length);
    for (const [i, c] of (t.contexts ?? []).entries()) {
      expect(c.messages[0].role).toBe('system');
      expect(c.messages[1].content).toContain(`[Session ${i + 1} of`);
    }
    expect(t.messages[1].content).toContain(`[Session ${s.sessions.length + 1} of`);
    expect(Math.max(...t.turns.map((x) => x.context ?? 0))).toBe(s.sessions.length);
  });

  it('a policy that stores nothing cannot answer and gets little reward', async () => {
    const forgetful = {
      spec: 'forgetful',
      async generate() {
        return { text: 'Noted.', finishReason: 'stop' as const };
      },
    };
    const { trajectories } = await runBatch({
      env: memoryEnv,
      policy: forgetful,
      tasks: ['memory/extraction/test/2', 'memory/update/test/2'],
      progress: false,
      keep: true,
    });
    for (const t of trajectories) {
      expect(t.ending).toBe('terminated');
      expect(t.correct).toBe(false);
      expect(t.reward).toBeLessThanOrEqual(0.2);
    }
  });
});

describe('memory over plain MCP', () => {
  it('plays a whole episode with gym_start, the tools and gym_submit, the next session arriving in the submit result', async () => {
    const client = await connectInMemory(memoryEnv, { clientName: 'plain' });
    try {
      const task = memoryEnv.getTask('memory/extraction/test/0');
      const s = task.reference as Scenario;
      await client.callTool({ name: CONTROL.gym_start, arguments: { taskId: task.id } });
      const facts = s.sessions.flatMap((x) => x.facts).map((f) => `${f.key}: ${f.value}`);
      await client.callTool({ name: 'create', arguments: { path: '/memories/facts.md', file_text: facts.join('\n') } });
      let r = await client.callTool({ name: CONTROL.gym_submit, arguments: { answer: 'Noted.' } });
      const next = UserTurnResultSchema.parse(r.structuredContent);
      expect(next).toMatchObject({ newContext: true, context: 1 });
      expect(readEpisodeMeta(r._meta)).toMatchObject({ [META.terminated]: false, [META.context]: 1 });
      expect((r.content as Array<{ text: string }>)[0].text).toMatch(/new session begins[\s\S]*\[Session 2 of/);
      for (let i = 1; i < s.sessions.length; i++)
        r = await client.callTool({ name: CONTROL.gym_submit, arguments: { answer: 'ok' } });
      for (const q of s.questions)
        r = await client.callTool({ name: CONTROL.gym_submit, arguments: { answer: q.answer as string } });
      expect(readEpisodeMeta(r._meta)).toMatchObject({ [META.terminated]: true, [META.correct]: true, [META.reward]: 1 });
    } finally {
      await client.close();
    }
  });
});

describe('scenarios from a JSONL file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-memory-jsonl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const line = (city: string, retract = false) =>
    JSON.stringify({
      sessions: [
        { date: '2024-03-01', user: 'I live in Porto.', facts: [{ key: 'home city', value: 'Porto' }] },
        retract
          ? { user: 'I gave up my flat.', facts: [{ key: 'home city', value: 'Porto', op: 'retract' }] }
          : { date: '2024-04-02', user: `I moved to ${city}.`, facts: [{ key: 'home city', value: city }] },
      ],
      questions: [
        { question: 'Where do I live?', answer: retract ? null : city, keys: ['home city'] },
        { question: 'What is my dog called?', answer: null, keys: ["dog's name"] },
      ],
    });

  it("plays the user's scenarios, alternating lines into train and test, and the oracle solves them", async () => {
    const file = join(dir, 'ok.jsonl');
    writeFileSync(file, `${line('Braga')}\n${line('Faro')}\n\n${line('', true)}\n`);
    const env = createMemoryEnv({ tasks: file });
    expect(env.families.map((f) => [f.name, f.splitSizes])).toEqual([['jsonl', { train: 2, test: 1 }]]);
    const policy = await createPolicy('oracle', { env });
    const tasks = ['memory/jsonl/train/0', 'memory/jsonl/test/0', 'memory/jsonl/train/1'];
    const { trajectories } = await runBatch({ env, policy, tasks, progress: false, keep: true });
    expect(trajectories.map((t) => [t.ids.task, t.correct, t.reward])).toEqual(tasks.map((t) => [t, true, 1]));
  });

  it('names the line and the field of a bad scenario', () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${line('Braga')}\n{"sessions": [], "questions": [{"question": "q", "answer": 1}]}\n`);
    expect(() => createMemoryEnv({ tasks: file })).toThrow(/bad\.jsonl:2: sessions/);
  });
});
