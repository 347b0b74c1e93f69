/**
 * Loads a kernel's `.wgsl` source, with its `//!include` preludes spliced in. The sources live beside the op files in `gpu/ops/`; a build to
 * `dist/` copies no `.wgsl`, so from `dist/gpu/webgpu/` the loader also looks back in the source tree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DeviceUnavailableError } from '../seam.js';

const cache = new Map<string, string>();

export function wgslSource(file: string): string {
  const hit = cache.get(file);
  if (hit !== undefined) return hit;
  const candidates = [`../ops/${file}.wgsl`, `../../../gpu/ops/${file}.wgsl`].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new DeviceUnavailableError(`WGSL source ${file}.wgsl not found (looked in ${candidates.join(', ')})`);
  // `//!include <name>` splices in gpu/ops/<name>.wgsl (shared preludes such as `reduce`; WGSL has no includes).
  const src = readFileSync(path, 'utf8').replace(/^\/\/!include (\w[\w-]*)[ \t]*$/gm, (_line, name: string) => {
    if (name === file) throw new DeviceUnavailableError(`${file}.wgsl includes itself`);
    return wgslSource(name);
  });
  cache.set(file, src);
  return src;
}
