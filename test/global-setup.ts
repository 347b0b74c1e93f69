import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Some tests spawn the built CLI (`dist/bin/gym.js`), as a user would. Build it once before the
 * run so those tests never see a stale or missing build.
 */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  if (!existsSync(tsc)) throw new Error('TypeScript is not installed: run `npm ci` first.');
  const t0 = Date.now();
  try {
    execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    // tsc still emits JavaScript when it reports type errors; the type-check proper is its own CI
    // step (`npm run typecheck`), so a type error elsewhere must not hide every test's result.
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    process.stdout.write(
      `[global-setup] tsc reported type errors (emitted anyway):\n${out.split('\n').slice(0, 10).join('\n')}\n`,
    );
  }
  // tsc writes files without the execute bit; `npx gym` runs the bin file itself, so it needs one.
  const gym = join(root, 'dist', 'bin', 'gym.js');
  if (existsSync(gym)) chmodSync(gym, 0o755);
  process.stdout.write(`[global-setup] built dist/ in ${Date.now() - t0} ms\n`);
}
