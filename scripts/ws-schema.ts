/**
 * Writes docs/ws-protocol.schema.json from the protocol's zod schemas (envs/core/ws-protocol.ts),
 * formatted as the repo's formatter (biome) writes JSON.
 *   npx tsx scripts/ws-schema.ts
 * test/envs/ws/ws-server.test.ts fails when the shipped file differs from what this writes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { wsProtocolJsonSchema } from '../envs/core/ws-protocol.js';

const root = join(import.meta.dirname, '..');
const out = join(root, 'docs', 'ws-protocol.schema.json');
writeFileSync(out, `${JSON.stringify(wsProtocolJsonSchema(), null, 2)}\n`);
execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', out], { stdio: 'ignore' });
process.stdout.write(`wrote ${out}\n`);
