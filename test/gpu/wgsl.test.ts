import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wgslSource } from '../../gpu/webgpu/wgsl.js';

const ops = new URL('../../gpu/ops/', import.meta.url);
const kernels = readdirSync(ops)
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => f.slice(0, -'.wgsl'.length));

describe('WGSL sources', () => {
  it('splice the shared reduction prelude into every kernel that includes it, once', () => {
    const including = kernels.filter((k) => /^\/\/!include reduce$/m.test(readFileSync(new URL(`${k}.wgsl`, ops), 'utf8')));
    expect(including.sort()).toEqual(['adamw', 'distill', 'kl', 'logprob', 'rmsnorm', 'softmax']);
    for (const k of including) {
      const src = wgslSource(k);
      expect(src).not.toMatch(/^\/\/!include/m);
      expect(src.match(/fn reduce_sum\(/g)).toHaveLength(1);
      expect(src.match(/var<workgroup> red:/g)).toHaveLength(1);
    }
  });

  it('keep no private copy of the tree reduction in any kernel file', () => {
    for (const k of kernels.filter((x) => x !== 'reduce')) {
      const raw = readFileSync(new URL(`${k}.wgsl`, ops), 'utf8');
      expect(raw, k).not.toMatch(/fn reduce/);
    }
  });
});
