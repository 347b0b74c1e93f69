import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, SPECIAL_TOKENS, TokenizerFormatError, trainMerges } from '../../trainer/tokenizer/index.js';

const corpus = [
  '<|im_start|>system\nYou may call one or more functions.<|im_end|>\n<|im_start|>user\nCompute 12 * 34 with run_code.<|im_end|>\n',
  '<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>\n{"name": "run_code", "arguments": {"code": "12 * 34"}}\n</tool_call><|im_end|>\n',
];

describe('byte tokenizer', () => {
  const plain = new ByteTokenizer();
  const bpe = ByteTokenizer.train([...corpus, ...corpus], 60);

  it('maps every Qwen3 special token to a single id', () => {
    for (const s of SPECIAL_TOKENS) {
      const id = plain.specialId(s);
      expect(id).toBeDefined();
      expect(plain.encode(s)).toEqual([id]);
      expect(bpe.encode(`x${s}y`)).toContain(id);
    }
    expect(plain.specialId('<|nope|>')).toBeUndefined();
    expect(plain.vocabSize).toBe(256 + SPECIAL_TOKENS.length);
  });

  it('round-trips any string losslessly, with and without merges', () => {
    const specials = fc.constantFrom(...SPECIAL_TOKENS);
    const text = fc
      .array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string(), specials, fc.constantFrom('run_code', '"arguments": ')), {
        maxLength: 8,
      })
      .map((xs) => xs.join(''));
    fc.assert(
      fc.property(text, (s) => {
        expect(plain.decode(plain.encode(s))).toBe(s);
        expect(bpe.decode(bpe.encode(s))).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it('learns the same merges from the same corpus and shortens template text', () => {
    expect(trainMerges([...corpus, ...corpus], 60)).toEqual(bpe.merges);
    expect(bpe.encode(corpus[1]).length).toBeLessThan(plain.encode(corpus[1]).length / 2);
  });

  it('never merges digits, so a number is the same ids wherever it appears', () => {
    const t = ByteTokenizer.train(['n=12345,s=0 for 12345 to', 'n=12345,s=0 for 12345 to', 'x 999 y 999 z 999'], 200);
    const digits = (s: string) => t.encode(s).filter((id) => t.decode([id]).match(/[0-9]/));
    expect(digits('n=12345,s')).toEqual(digits('for 12345 to'));
    for (const id of t.encode('n=12345,s=0 for 12345 to')) {
      const text = t.decode([id]);
      if (/[0-9]/.test(text)) expect(text).toHaveLength(1);
    }
  });

  it('encodes a text the same whether its parts were seen before or not, beyond the cache size', () => {
    const texts = Array.from({ length: 5000 }, (_, i) => `<|im_start|>user\nCompute ${i} * 34 with run_code.<|im_end|>\n`);
    const warm = ByteTokenizer.fromJSON(bpe.toJSON());
    const first = texts.map((t) => warm.encode(t));
    // second pass: early parts were evicted, late ones are remembered; every result is unchanged
    for (const [i, t] of texts.entries()) {
      const again = warm.encode(t);
      expect(again).toEqual(first[i]);
      if (i % 997 === 0) expect(again).toEqual(ByteTokenizer.fromJSON(bpe.toJSON()).encode(t));
    }
    // a returned array is the caller's: changing it does not change the next encoding
    const ids = warm.encode(corpus[0]);
    ids.fill(0);
    expect(warm.encode(corpus[0])).toEqual(bpe.encode(corpus[0]));
  });

  it('survives a JSON round trip and rejects a corrupt merge table', () => {
    const again = ByteTokenizer.fromJSON(JSON.parse(JSON.stringify(bpe.toJSON())));
    expect(again.encode(corpus[0])).toEqual(bpe.encode(corpus[0]));
    expect(() => ByteTokenizer.fromJSON({ kind: 'toolgym-byte-bpe', version: 1, merges: [[5000, 1]] })).toThrow(
      TokenizerFormatError,
    );
    expect(() => ByteTokenizer.fromJSON({ kind: 'other' })).toThrow(TokenizerFormatError);
  });
});
