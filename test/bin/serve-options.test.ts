import { describe, expect, it } from 'vitest';
import { envOptions } from '../../bin/commands/serve.js';
import { buildEnv, EnvOptionsError, getEnv } from '../../envs/index.js';

const base = { envModule: [], allowHost: [], allowOrigin: [], idleTimeout: '1800', envOpt: [] as string[] };

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

  it('maps --tasks to the user task file of code-interp', () => {
    expect(envOptions('code-interp', { ...base, tasks: 'tasks.jsonl' })).toEqual({ jsonl: 'tasks.jsonl' });
  });
});
