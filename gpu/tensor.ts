/**
 * Tensors: a shape, a dtype and a handle to backend storage. Row-major, contiguous, no strides:
 * every op takes dense inputs, so a reshape is a free view and a transpose is an op flag.
 *
 * Only fp32 (activations, weights, optimizer state) and i32 (token ids, positions) exist today.
 * bf16/f16 would enter here as a third dtype for weights and activations, with f32 kept for
 * optimizer moments and reductions (the WGSL side would need the `shader-f16` feature).
 */

export type DType = 'f32' | 'i32';
export type TypedArrayOf<D extends DType> = D extends 'i32' ? Int32Array : Float32Array;
export type HostArray = Float32Array | Int32Array;

/** Backend storage: a Float32Array/Int32Array on the CPU, a GPUBuffer on WebGPU. */
export interface Storage {
  readonly bytes: number;
  freed: boolean;
}

let nextId = 1;

export class Tensor {
  readonly id: number;
  readonly size: number;

  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** Shared by every view of the same allocation. */
    readonly storage: Storage,
    /** The device that owns the storage (typed loosely to keep tensor.ts free of backends). */
    readonly deviceId: number,
  ) {
    this.id = nextId++;
    this.size = numel(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Size of dimension `i`; negative counts from the end. */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new ShapeError(`dim ${i} out of range for shape [${this.shape}]`);
    return d;
  }

  /** A view with another shape over the same storage (sizes must match; one -1 is inferred). */
  reshape(shape: readonly number[]): Tensor {
    const s = inferShape(shape, this.size);
    return new Tensor(s, this.dtype, this.storage, this.deviceId);
  }
}

/** A shape or dtype mismatch between an op's arguments: a bug in the caller, never data-dependent. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`bad dimension ${d} in shape [${shape}]`);
    n *= d;
  }
  return n;
}

export function inferShape(shape: readonly number[], size: number): number[] {
  const free = shape.indexOf(-1);
  if (free < 0) {
    if (numel(shape) !== size) throw new ShapeError(`cannot view ${size} elements as [${shape}]`);
    return [...shape];
  }
  const rest = numel(shape.filter((_, i) => i !== free));
  if (rest === 0 || size % rest !== 0) throw new ShapeError(`cannot view ${size} elements as [${shape}]`);
  const out = [...shape];
  out[free] = size / rest;
  return out;
}

export function expectDtype(t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype) throw new ShapeError(`${what} must be ${dtype}, got ${t.dtype} [${t.shape}]`);
}

export function expectShape(t: Tensor, shape: readonly number[], what: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${what} must have shape [${shape}], got [${t.shape}]`);
  }
}

/** Product of all dims but the last, and the last: the (rows, cols) view row-wise ops use. */
export function rowsCols(t: Tensor): [number, number] {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  return [cols === 0 ? 0 : t.size / cols, cols];
}
