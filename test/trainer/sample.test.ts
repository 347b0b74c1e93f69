import { describe, expect, it } from 'vitest';
import { Rng } from '../../tools/index.js';
import { sampleToken, topKIds } from '../../trainer/model/sample.js';

/** The candidate order by definition: a full sort, most likely first, ties by smaller id. */
function sortedIds(p: Float64Array): number[] {
  return Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
}

function randomLogits(rng: Rng, V: number, ties: boolean): Float32Array {
  const row = new Float32Array(V);
  // quantised logits make many exact ties, the case where the order rule matters
  for (let v = 0; v < V; v++) row[v] = ties ? Math.round(rng.next() * 6) : (rng.next() - 0.5) * 12;
  return row;
}

describe('next-token sampling', () => {
  it('selects the top k like a full sort, ties by smaller id', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const V = 1 + Math.floor(rng.next() * 300);
      const p = Float64Array.from(randomLogits(rng, V, trial % 2 === 0), (x) => Math.exp(x));
      for (const k of [1, 2, 5, 20, V - 1, V, V + 3].filter((x) => x >= 1)) {
        expect(topKIds(p, k)).toEqual(sortedIds(p).slice(0, k));
      }
    }
  });

  it('samples only among the top k and top p, and greedy takes the argmax', () => {
    const row = Float32Array.from([0, 5, 4.9, -3, 4.8, 1]);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(sampleToken(row, { temperature: 1, topK: 2, topP: 1 }, new Rng(i)).id);
    expect([...seen].sort()).toEqual([1, 2]);
    const nucleus = new Set<number>();
    // softmax mass of ids 1, 2 and 4 is ~0.99: top-p 0.5 keeps the two most likely
    for (let i = 0; i < 300; i++) nucleus.add(sampleToken(row, { temperature: 1, topK: 0, topP: 0.5 }, new Rng(i)).id);
    expect([...nucleus].sort()).toEqual([1, 2]);
    const g = sampleToken(row, { temperature: 0, topK: 20, topP: 0.8 }, new Rng(1));
    expect(g.id).toBe(1);
    // the log-prob is that of the full distribution, not the truncated one
    const z = Array.from(row).reduce((s, x) => s + Math.exp(x), 0);
    expect(g.logp).toBeCloseTo(5 - Math.log(z), 10);
  });

  it("draws the same ids as sorting the whole vocabulary would (Qwen3's recommended settings)", () => {
    // the reference: the same draw over a fully sorted candidate list
    const reference = (row: Float32Array, T: number, topK: number, topP: number, rng: Rng): number => {
      let mx = -Infinity;
      for (const x of row) mx = Math.max(mx, x);
      const p = Float64Array.from(row, (x) => Math.exp((x - mx) / T));
      const sum = p.reduce((s, x) => s + x, 0);
      let ids = sortedIds(p).slice(0, topK);
      const keep: number[] = [];
      let acc = 0;
      for (const id of ids) {
        keep.push(id);
        acc += p[id] / sum;
        if (acc >= topP) break;
      }
      ids = keep;
      let r = rng.next() * ids.reduce((s, id) => s + p[id], 0);
      for (const id of ids) {
        r -= p[id];
        if (r <= 0) return id;
      }
      return ids[ids.length - 1];
    };
    const data = new Rng(5);
    for (let trial = 0; trial < 300; trial++) {
      const row = randomLogits(data, 1093, trial % 3 === 0);
      const [T, topP] = trial % 2 ? [0.7, 0.8] : [0.6, 0.95];
      const got = sampleToken(row, { temperature: T, topK: 20, topP }, new Rng(trial)).id;
      expect(got).toBe(reference(row, T, 20, topP, new Rng(trial)));
    }
  });
});
