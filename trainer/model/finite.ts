/**
 * Non-finite guards of an update: a NaN or an infinity in the loss, the gradient norm or the weights
 * stops training before anything of that step is written (the last good checkpoint stays).
 */

/** A step met a NaN or infinite loss, gradient or weight; the message says which and what to do. */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

/** Throws NonFiniteError before an update that would carry a NaN or infinity into the weights. */
export function refuseNonFiniteUpdate(what: string, loss: number, gradNorm: number): void {
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return;
  throw new NonFiniteError(
    `${what}: the loss is ${loss} and the gradient norm ${gradNorm}; the update was not applied (lower the learning rate or the gradient-norm clip)`,
  );
}

/** Throws NonFiniteError, naming the tensor, when an update left a weight NaN or infinite. */
export function refuseNonFiniteWeights(what: string, params: Map<string, Float32Array>): void {
  for (const [name, w] of params)
    for (let i = 0; i < w.length; i++)
      if (!Number.isFinite(w[i]))
        throw new NonFiniteError(
          `${what}: the update left tensor ${name} holding ${w[i]} at index ${i} (lower the learning rate)`,
        );
}
