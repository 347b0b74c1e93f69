/**
 * Matrix products of the host reference model (`Transformer`, `--device host`) through the CPU
 * device's onnxruntime GEMM, synchronously (the device exposes its host arrays); single-row
 * products stay in the loops. Runs on a device proper go through `ModelRunner` instead.
 */
import { createDevice, type Device, type DeviceRequest, matmul } from '../../../gpu/index.js';
import { type MatmulEngine, setMatmulEngine } from './host-loops.js';

interface HostView {
  view(t: ReturnType<Device['alloc']>): Float32Array | Int32Array;
}

/** An engine over a CPU device, or undefined for devices without synchronous host access. */
export function deviceMatmulEngine(dev: Device): MatmulEngine | undefined {
  if (dev.kind !== 'cpu' || typeof (dev as unknown as Partial<HostView>).view !== 'function') return undefined;
  const host = dev as unknown as HostView;
  return {
    mm(A, B, M, K, N, transA, transB) {
      const a = dev.upload(A, transA ? [K, M] : [M, K]);
      const b = dev.upload(B, transB ? [N, K] : [K, N]);
      const c = matmul(dev, a, b, { transA, transB });
      const out = Float32Array.from(host.view(c) as Float32Array);
      dev.free(a, b, c);
      return out;
    },
  };
}

/**
 * Creates a CPU device and routes the host reference's larger products to its GEMM. Returns what was
 * used, for logs: `cpu (onnxruntime)`, or `host loops` when the device gives no synchronous path.
 */
export async function useDevice(req: DeviceRequest, threads?: number): Promise<{ device?: Device; engine: string }> {
  // the host loops need synchronous host arrays: only the CPU backend gives them
  if (req !== 'cpu')
    throw new RangeError(
      `the host reference's products run on the CPU backend only (asked for ${req}): run the model on ${req} instead`,
    );
  let dev: Device;
  try {
    dev = await createDevice(req, { threads });
  } catch {
    setMatmulEngine(undefined);
    return { engine: 'host loops' };
  }
  const e = deviceMatmulEngine(dev);
  setMatmulEngine(e);
  const label = e ? `${dev.info.name} (onnxruntime GEMM)` : 'host loops';
  return { device: dev, engine: label };
}
