import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../../bin/commands/serve.js';

const root = join(import.meta.dirname, '..', '..', '..');
const gym = join(root, 'dist', 'bin', 'gym.js');

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; kill(): void }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gym, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      // A server that started prints its URL: stop it, the test only needs the line.
      if (/http:\/\/\S+\n/.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, kill: () => child.kill() }));
  });
}

// Each case spawns the built CLI, which loads every built-in environment: slow on a busy machine.
describe('gym serve options', { timeout: 120_000 }, () => {
  it('parses HOST:PORT forms, defaulting the host to 127.0.0.1', () => {
    expect(parseHostPort('127.0.0.1:7777')).toEqual({ host: '127.0.0.1', port: 7777 });
    expect(parseHostPort(':8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseHostPort('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(() => parseHostPort('localhost:http')).toThrow(/HOST:PORT/);
    expect(() => parseHostPort('1.2.3.4:70000')).toThrow(/out of range/);
  });

  it('refuses a non-loopback bind without a token and says how to fix it', async () => {
    const r = await run(['serve', '--env', 'code-interp', '--http', '0.0.0.0:0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--token or GYM_TOKEN/);
  });

  it('serves over HTTP with the token from GYM_TOKEN and prints the URL on stdout', async () => {
    const r = await run(['serve', '--env', 'code-interp', '--http', '0.0.0.0:0'], { GYM_TOKEN: 'abc' });
    expect(r.stdout).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/mcp\n$/);
    expect(r.stderr).toMatch(/bearer token required/);
  });

  it('names the known environments when --env is unknown', async () => {
    const r = await run(['serve', '--env', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unknown environment "nope".*gym envs/);
  });
});
