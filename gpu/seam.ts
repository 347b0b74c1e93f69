/**
 * The device seam (the types every backend and op is written against; `device.ts` chooses and
 * creates a backend, and backends import only this file, so no import runs back up): a narrow interface (alloc / upload / download / dispatch / sync / free) that
 * every backend implements. Ops are written once against it: an op names a `Kernel` (a WGSL entry
 * point plus its CPU reference) and `dispatch`es it; the CPU backend runs the reference at once,
 * the WebGPU backend records the dispatch into the pending command buffer and submits in batches.
 * Nothing is read back to JS unless `download` is called, so a training step stays on the device.
 */
import type { DType, HostArray, Tensor } from './tensor.js';

export type DeviceKind = 'cpu' | 'webgpu';
export type DeviceRequest = DeviceKind | 'auto';
export type UniformType = 'u32' | 'i32' | 'f32';
/** How a kernel uses each tensor binding: read-only or read-write storage. */
export type Access = 'r' | 'rw';

/** One compute kernel: a WGSL entry point and the CPU function that computes the same thing. */
export interface Kernel {
  /** Unique, used as the pipeline-cache key: `<op>.<entry>`. */
  readonly name: string;
  /** Basename of the `.wgsl` file next to the op (`gpu/ops/<file>.wgsl`). */
  readonly file: string;
  readonly entry: string;
  /** Tensor bindings 1..n in order; binding 0 is always the uniform struct. */
  readonly bindings: readonly Access[];
  /** Uniform struct fields in WGSL declaration order (all 4-byte scalars). */
  readonly uniforms: readonly (readonly [string, UniformType])[];
  /** CPU reference: the same math over the bound tensors' host arrays. */
  readonly cpu: (bufs: HostArray[], u: Readonly<Record<string, number>>) => void;
}

export interface Dispatch {
  readonly kernel: Kernel;
  readonly tensors: readonly Tensor[];
  readonly uniforms?: Readonly<Record<string, number>>;
  /** Workgroup counts (x, y, z); ignored by the CPU backend. */
  readonly workgroups: readonly [number, number?, number?];
}

export interface DeviceInfo {
  readonly kind: DeviceKind;
  /** Adapter or CPU description, for logs and benchmark output. */
  readonly name: string;
  /** True for lavapipe/SwiftShader-like adapters: correct but slow. */
  readonly software: boolean;
}

export interface Device {
  readonly kind: DeviceKind;
  readonly info: DeviceInfo;
  /** Zero-filled tensor. */
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  /** Tensor with unspecified contents (recycled memory), for outputs a kernel overwrites entirely. */
  empty(shape: readonly number[], dtype?: DType): Tensor;
  /** New tensor holding a copy of `data`. */
  upload(data: HostArray | readonly number[], shape: readonly number[], dtype?: DType): Tensor;
  /** Overwrite a tensor's contents (ordered after every dispatch recorded before it). */
  write(t: Tensor, data: HostArray): void;
  /** Copy a tensor's contents to the host; the only call that waits for the device. */
  download(t: Tensor): Promise<HostArray>;
  /** Record (WebGPU) or run (CPU) one kernel over the given tensors. */
  dispatch(d: Dispatch): void;
  /** Submit pending work and wait until the device is idle. */
  sync(): Promise<void>;
  /** Release tensors' storage (views share it: free one view only). Safe to call twice. */
  free(...ts: (Tensor | undefined)[]): void;
  /** Release everything; the device is unusable afterwards. */
  destroy(): void;
}

/** The device could not be created as asked; the message says what to install or set. */
export class DeviceUnavailableError extends Error {
  override name = 'DeviceUnavailableError';
}

export interface CreateDeviceOptions {
  /** Intra-op threads for onnxruntime on the CPU backend (default: all cores). */
  threads?: number;
}
