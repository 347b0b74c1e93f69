/**
 * (Re)builds the project's test embedding model (tools/embed/test-model.ts) into a folder:
 *
 *   npx tsx scripts/build-rag-test-model.ts <dir> [--dim 128] [--seed 20250318] [--world-seed S --world-docs N]
 *
 * With --world-seed and --world-docs, that generated world's names join the vocabulary as whole
 * words (what the rag environment does for its own world). The same options always give the same
 * bytes; the hash printed at the end proves it. The rag environment builds the model it needs by
 * itself into its cache folder, so this is for using the model elsewhere (`--env-opt model=<dir>`).
 */
import { buildTestModel } from '../tools/embed/index.js';

const argv = process.argv.slice(2);
const dir = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
const num = (name: string): number | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : undefined;
};
if (!dir) {
  process.stderr.write(
    'usage: npx tsx scripts/build-rag-test-model.ts <dir> [--dim 128] [--seed N] [--world-seed S --world-docs N]\n',
  );
  process.exit(2);
}
const worldSeed = num('world-seed');
const worldDocs = num('world-docs');
const info = buildTestModel(dir, {
  ...(num('dim') ? { dim: num('dim') } : {}),
  ...(num('seed') !== undefined ? { seed: num('seed') } : {}),
  ...(worldSeed !== undefined ? { world: { seed: worldSeed, docs: worldDocs ?? 300 } } : {}),
});
process.stdout.write(`${JSON.stringify(info)}\n`);
