/** Gradient clipping of host arrays (the host model's path; on a device gpu/ops/adamw clips). */

/** Global L2 norm of a list of gradient buffers, then scale them in place to at most maxNorm. Returns the norm before clipping. */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm && Number.isFinite(norm)) {
    const c = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= c;
  }
  return norm;
}
