/**
 * The rollout loop passes episode handles and hides them from the policy: the same episode played
 * in-process (a 2025-11-25 in-memory session), over a 2025-11-25 HTTP session and over a sessionless
 * 2026-07-28 HTTP client yields identical prompts and token ids, and the policy's tool schemas are
 * the environment's own (no `episode`, no SDK dialect marker).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { qwen3Tokenizer } from '../../../agent/format/index.js';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import type { GenerateRequest, GenerateResult, Policy } from '../../../agent/types.js';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import { serveHttp } from '../../../envs/core/index.js';
import { toolInputJsonSchema } from '../../../envs/core/schema.js';
import { arithEnv } from '../fixtures/arith-env.js';

const TASK = 'arith/arith.add/train/3';

/** The oracle's text as Qwen3 token ids, recording every request it is sent. */
class TokenOracle implements Policy {
  readonly spec = 'token-oracle';
  readonly tokenizer = qwen3Tokenizer();
  readonly requests: GenerateRequest[] = [];
  private readonly inner = new OraclePolicy(arithEnv);

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.requests.push(req);
    const text = (await this.inner.generate(req)).text;
    const ids = [...this.tokenizer.encode(text), this.tokenizer.specialId('<|im_end|>') as number];
    return { text, tokenIds: ids, logprobs: ids.map(() => -0.5), finishReason: 'stop' };
  }
}

let server: HttpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('episode handles in the rollout loop', () => {
  it('leave prompts and token ids unchanged across in-memory, 2025-11-25 and 2026-07-28 connections', async () => {
    server = await serveHttp(arithEnv, { port: 0, log: () => undefined });
    const targets = {
      inMemory: arithEnv,
      session: { url: server.url },
      sessionless: { url: server.url, revision: '2026-07-28' as const },
    };
    const runs: Record<string, { tokens: number[]; prompt: number[]; tools: unknown; reward: number }> = {};
    const sessions: number[] = [];
    for (const [name, env] of Object.entries(targets)) {
      sessions.push(server.sessionCount());
      const policy = new TokenOracle();
      const t = await runEpisode({ env, policy, taskId: TASK });
      expect(t.correct, `${name}: ${t.error ?? ''}`).toBe(true);
      runs[name] = {
        tokens: t.tokens as number[],
        prompt: policy.requests[0].promptIds as number[],
        tools: policy.requests[0].tools,
        reward: t.reward,
      };
    }
    // The 2025-11-25 run opened a session; the 2026-07-28 one opened none, so it could only finish
    // by passing the handle on every call.
    expect([...sessions, server.sessionCount()]).toEqual([0, 0, 1, 1]);
    expect(runs.session).toEqual(runs.inMemory);
    expect(runs.sessionless).toEqual(runs.inMemory);
    // The policy sees the environment's own schemas: nothing of the handle.
    expect(runs.inMemory.tools).toEqual(
      arithEnv.tools.map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: toolInputJsonSchema(t) },
      })),
    );
    const prompt = qwen3Tokenizer().decode(runs.inMemory.prompt);
    expect(prompt).toContain('"name": "add"');
    expect(prompt).not.toMatch(/episode|x-mcp-header|\$schema/);
  });
});
