import { describe, expect, it } from 'vitest';
import { envOptions } from '../../bin/commands/env-options.js';
import { buildEnv, EnvOptionsError, getEnv } from '../../envs/index.js';

const base = { envOpt: [] as string[] };

describe('gym serve environment options', () => {
  it('serves the registered instance when no option is given', () => {
    expect(buildEnv('code-interp', envOptions('code-interp', base))).toBe(getEnv('code-interp'));
  });

  it('adds the browser tools to search with --browser', () => {
    const plain = buildEnv('search', envOptions('search', { ...base, docs: '200' }));
    const browsing = buildEnv('search', envOptions('search', { ...base, browser: true, docs: '200' }));
    expect(plain.tools.map((t) => t.name)).not.toContain('browse');
    expect(browsing.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['search', 'open', 'browse', 'click', 'find']));
  });

  it('parses --env-opt values as JSON when they parse and as strings otherwise', () => {
    expect(envOptions('search', { ...base, envOpt: ['docs=300', 'corpus=./my docs'] })).toEqual({
      docs: 300,
      corpus: './my docs',
    });
  });

  it('rejects an option the environment does not take, naming it', () => {
    expect(() => buildEnv('code-interp', { colour: 'blue' })).toThrow(EnvOptionsError);
    expect(() => buildEnv('code-interp', { colour: 'blue' })).toThrow(/colour/);
    expect(() => buildEnv('search', { colour: 'blue' })).toThrow(/colour/);
  });

  it("maps --task-file to code-interp's task files, in place of the built-in families", () => {
    expect(envOptions('code-interp', { ...base, taskFile: 'tasks.jsonl' })).toEqual({ jsonl: 'tasks.jsonl', onlyJsonl: true });
    expect(envOptions('code-interp', { ...base, taskFile: 't.jsonl', envOpt: ['onlyJsonl=false'] })).toEqual({
      jsonl: 't.jsonl',
      onlyJsonl: false,
    });
    expect(envOptions('search', { ...base, taskFile: 'q.jsonl', corpus: 'docs/' })).toEqual({
      tasks: 'q.jsonl',
      corpus: 'docs/',
    });
  });
});
