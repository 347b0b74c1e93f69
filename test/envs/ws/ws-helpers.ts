/**
 * Helpers for the ws protocol tests: a raw socket that records every frame both ways and checks each
 * against the shipped JSON Schema (docs/ws-protocol.schema.json) with Ajv, and small test envs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { defineToolEnv, type EnvDefinition, EnvFaultError, type ToolSpec, textResult } from '../../../envs/core/index.js';
import { sum3 } from '../../fixtures/arith-env.js';

const schemaFile = join(import.meta.dirname, '..', '..', '..', 'docs', 'ws-protocol.schema.json');
export const shippedSchema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(shippedSchema);
const validateRequest = ajv.compile({ $ref: `${shippedSchema.$id as string}#/$defs/request` });
const validateResponse = ajv.compile({ $ref: `${shippedSchema.$id as string}#/$defs/response` });

/** Ajv's verdict on a frame, as a readable string (empty when valid). */
export function schemaProblems(direction: 'request' | 'response', msg: unknown): string {
  const v = direction === 'request' ? validateRequest : validateResponse;
  return v(msg) ? '' : ajv.errorsText(v.errors);
}

/** A raw socket: send frames, await answers by id, and every frame is checked against the schema. */
export class RawWs {
  readonly received: any[] = [];
  readonly invalid: string[] = [];
  private readonly waiters = new Map<unknown, (m: any) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      const p = schemaProblems('response', m);
      if (p) this.invalid.push(`${JSON.stringify(m).slice(0, 200)}: ${p}`);
      this.received.push(m);
      const w = this.waiters.get(m.id);
      if (w) {
        this.waiters.delete(m.id);
        w(m);
      }
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<RawWs> {
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawWs(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Sends one request (checked against the schema unless `raw`) and resolves with its answer. */
  send(msg: Record<string, unknown> | string, raw = false): void {
    if (!raw && typeof msg !== 'string') {
      const p = schemaProblems('request', msg);
      if (p) this.invalid.push(`request ${JSON.stringify(msg).slice(0, 200)}: ${p}`);
    }
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  answer(id: unknown): Promise<any> {
    const got = this.received.find((m) => m.id === id);
    if (got) return Promise.resolve(got);
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  async call(msg: Record<string, unknown>): Promise<any> {
    this.send(msg);
    return this.answer(msg.id);
  }

  close(): void {
    this.ws.close();
  }
}

/** Refusal of an upgrade: resolves with the HTTP status and body the server answered. */
export function refusal(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', () => undefined);
  });
}

/** An env whose `fault` tool fails the environment's own machinery (the episode aborts). */
const fault: ToolSpec<null, Record<string, never>> = {
  name: 'fault',
  description: 'Fail as a broken sandbox would.',
  inputSchema: {},
  handler: async () => {
    throw new EnvFaultError('the sandbox process died');
  },
};

/**
 * A tool that holds its call for `ms` and counts how many run at once (for the back-pressure test),
 * and how many stopped early because their call was aborted (a cancel reached the tool).
 */
export const concurrency = { now: 0, max: 0, aborted: 0 };
const hold: ToolSpec<null, { ms: z.ZodNumber }> = {
  name: 'hold',
  description: 'Wait, then answer.',
  inputSchema: { ms: z.number().describe('How long to wait, in ms.') },
  handler: async ({ ms }, _episode, { signal }) => {
    concurrency.now++;
    concurrency.max = Math.max(concurrency.max, concurrency.now);
    const stopped = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        { once: true },
      );
    });
    concurrency.now--;
    if (stopped) concurrency.aborted++;
    return textResult(stopped ? 'stopped' : 'held');
  },
};

const add: ToolSpec<null, { a: z.ZodNumber; b: z.ZodNumber }> = {
  name: 'add',
  description: 'Add two numbers and return their sum.',
  inputSchema: { a: z.number().describe('The first addend.'), b: z.number().describe('The second addend.') },
  handler: async ({ a, b }) => textResult(`${a} + ${b} = ${a + b}`),
};

export const faultyEnv: EnvDefinition = defineToolEnv<null>({
  id: 'faulty',
  version: '1.0.0',
  description: 'Arithmetic tasks with a tool that breaks the environment and one that waits.',
  families: [{ ...sum3, oracle: sum3.oracle }],
  tools: [add, fault, hold],
  systemPrompt: 'Add the numbers.',
  createEpisode: () => null,
});
