/** The model's input limits, shared by the device model, the runner and the host reference. */
import { ContextLengthError } from '../../agent/index.js';
import type { ModelConfig } from './config.js';

/** A sequence longer than the model's context; a policy's run into it ends the episode `truncated` (`context_length`). */
export class SequenceTooLongError extends ContextLengthError {
  override name = 'SequenceTooLongError';
}

/** Throws unless `total` tokens fit a cache of `capacity` positions and the model's length. */
export function checkFits(total: number, capacity: number, c: ModelConfig): void {
  const limit = Math.min(capacity, c.maxSeqLen);
  if (total > limit)
    throw new SequenceTooLongError(
      `sequence of ${total} tokens exceeds the model's limit of ${limit}: lower max tokens or use a preset with a larger maxSeqLen`,
    );
}

/** Throws unless `id` is a token id of a vocabulary of `V` ids. */
export function checkTokenId(id: number, V: number): void {
  if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`token id ${id} is outside the vocabulary (size ${V})`);
}
