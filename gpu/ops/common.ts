/** Small helpers shared by the op launchers. */
import type { Access, Kernel, UniformType } from '../device.js';
import type { HostArray } from '../tensor.js';

export function kernel(
  file: string,
  entry: string,
  bindings: readonly Access[],
  uniforms: readonly (readonly [string, UniformType])[],
  cpu: (bufs: HostArray[], u: Readonly<Record<string, number>>) => void,
): Kernel {
  return { name: `${file}.${entry}`, file, entry, bindings, uniforms, cpu };
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/**
 * Split a 1-D workgroup count over x and y: WebGPU caps each dimension at 65535. Kernels that use
 * this rebuild the linear index as `wid.x + wid.y * nwg.x` (`nwg` = num_workgroups).
 */
export function grid1d(groups: number): [number, number] {
  if (groups <= 65535) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** Float view of a binding (kernels that only take f32 arrays). */
export function f32(a: HostArray): Float32Array {
  return a as Float32Array;
}
export function i32(a: HostArray): Int32Array {
  return a as Int32Array;
}
