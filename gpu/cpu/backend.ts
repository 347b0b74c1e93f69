/**
 * The CPU backend: tensors are host TypedArrays and a dispatch runs the kernel's CPU function at
 * once. Matrix products and attention reach onnxruntime-node through their kernels' CPU functions
 * (see `ort.ts`); everything else is plain TypedArray code.
 */
import { cpus } from 'node:os';
import type { CreateDeviceOptions, Device, DeviceInfo, Dispatch } from '../device.js';
import { type DType, type HostArray, ShapeError, type Storage, Tensor, numel } from '../tensor.js';
import { setOrtThreads } from './ort.js';

export class CpuStorage implements Storage {
  freed = false;
  constructor(public data: HostArray) {}
  get bytes(): number {
    return this.data.byteLength;
  }
}

let nextDeviceId = 1;

export class CpuDevice implements Device {
  readonly kind = 'cpu' as const;
  readonly info: DeviceInfo;
  private readonly id = nextDeviceId++;

  constructor(opts: CreateDeviceOptions = {}) {
    const cores = cpus();
    this.info = { kind: 'cpu', name: `${cores[0]?.model ?? 'cpu'} x${cores.length}`, software: false };
    if (opts.threads) setOrtThreads(opts.threads);
  }

  alloc(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const n = numel(shape);
    const data = dtype === 'i32' ? new Int32Array(n) : new Float32Array(n);
    return new Tensor([...shape], dtype, new CpuStorage(data), this.id);
  }

  upload(data: HostArray | readonly number[], shape: readonly number[], dtype?: DType): Tensor {
    const dt: DType = dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    const t = this.alloc(shape, dt);
    if (data.length !== t.size) throw new ShapeError(`upload of ${data.length} values into shape [${shape}]`);
    (t.storage as CpuStorage).data.set(data as ArrayLike<number>);
    return t;
  }

  write(t: Tensor, data: HostArray): void {
    const s = this.storageOf(t);
    if (data.length !== t.size) throw new ShapeError(`write of ${data.length} values into shape [${t.shape}]`);
    s.data.set(data);
  }

  async download(t: Tensor): Promise<HostArray> {
    return this.storageOf(t).data.slice();
  }

  /** The live host array behind a CPU tensor (no copy): for callers that know they are on the CPU. */
  view(t: Tensor): HostArray {
    return this.storageOf(t).data;
  }

  dispatch(d: Dispatch): void {
    const bufs = d.tensors.map((t) => this.storageOf(t).data);
    d.kernel.cpu(bufs, d.uniforms ?? {});
  }

  async sync(): Promise<void> {}

  free(...ts: (Tensor | undefined)[]): void {
    for (const t of ts) {
      if (!t) continue;
      const s = t.storage as CpuStorage;
      s.freed = true;
      s.data = new Float32Array(0);
    }
  }

  destroy(): void {}

  private storageOf(t: Tensor): CpuStorage {
    if (t.deviceId !== this.id || !(t.storage instanceof CpuStorage)) {
      throw new ShapeError(`tensor #${t.id} [${t.shape}] belongs to another device`);
    }
    if (t.storage.freed) throw new ShapeError(`tensor #${t.id} [${t.shape}] was freed`);
    return t.storage;
  }
}
