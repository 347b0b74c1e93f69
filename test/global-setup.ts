import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
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
  execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  const gym = join(root, 'dist', 'bin', 'gym.js');
  if (existsSync(gym)) statSync(gym);
  process.stdout.write(`[global-setup] built dist/ in ${Date.now() - t0} ms\n`);
}
