/**
 * Choosing and creating a backend of the device seam (`seam.ts`): `GYM_DEVICE`, `createDevice`.
 * Backends are loaded on demand, so a CPU-only run never loads Dawn.
 */
import { type CreateDeviceOptions, type Device, type DeviceRequest, DeviceUnavailableError } from './seam.js';

export * from './seam.js';

/** `GYM_DEVICE` (cpu | webgpu | auto), defaulting to `auto`. */
export function requestedDevice(env: NodeJS.ProcessEnv = process.env): DeviceRequest {
  const v = (env.GYM_DEVICE ?? 'auto').trim().toLowerCase();
  if (v === 'cpu' || v === 'webgpu' || v === 'auto') return v;
  throw new DeviceUnavailableError(`GYM_DEVICE=${env.GYM_DEVICE} is not one of cpu, webgpu, auto`);
}

/**
 * `cpu`: TypedArray code plus onnxruntime-node for matrix products.
 * `webgpu`: the first WebGPU adapter, software (lavapipe) included.
 * `auto`: a hardware WebGPU adapter when there is one, else `cpu`.
 */
export async function createDevice(req: DeviceRequest = requestedDevice(), opts: CreateDeviceOptions = {}): Promise<Device> {
  if (req === 'cpu') {
    const { CpuDevice } = await import('./cpu/backend.js');
    return new CpuDevice(opts);
  }
  const { WebGpuDevice } = await import('./webgpu/backend.js');
  if (req === 'webgpu') return WebGpuDevice.create({ allowSoftware: true });
  try {
    return await WebGpuDevice.create({ allowSoftware: false });
  } catch (err) {
    if (!(err instanceof DeviceUnavailableError)) throw err;
    const { CpuDevice } = await import('./cpu/backend.js');
    return new CpuDevice(opts);
  }
}
