/**
 * The CPU backend: tensors are host TypedArrays and a dispatch runs the kernel's CPU function at
 * once. Matrix products and attention reach onnxruntime-node through their kernels' CPU functions
 * (see `ort.ts`); everything else is plain TypedArray code.
 */
import { cpus } from 'node:os';
import type { CreateDeviceOptions, Device, DeviceInfo, Dispatch } from '../seam.js';
import { type DType, type HostArray, numel, ShapeError, type Storage, Tensor } from '../tensor.js';
import { setOrtThreads } from './ort.js';

export class CpuStorage implements Storage {
  freed = false;
  /** `owned: false` for arrays the caller lent through `wrap`: never recycled. */
  constructor(
    public data: HostArray,
    readonly owned = true,
  ) {}
  get bytes(): number {
    return this.data.byteLength;
  }
}

let nextDeviceId = 1;

export class CpuDevice implements Device {
  readonly kind = 'cpu' as const;
  readonly info: DeviceInfo;
  private readonly id = nextDeviceId++;
  /** Freed arrays by length (i32 keyed negative), reused by `empty`/`alloc`. */
  private readonly pool = new Map<number, HostArray[]>();
  private pooledBytes = 0;
  private static readonly POOL_LIMIT = 512 * 1024 * 1024;

  constructor(opts: CreateDeviceOptions = {}) {
    const cores = cpus();
    this.info = { kind: 'cpu', name: `${cores[0]?.model ?? 'cpu'} x${cores.length}`, software: false };
    if (opts.threads) setOrtThreads(opts.threads);
  }

  alloc(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.empty(shape, dtype);
    (t.storage as CpuStorage).data.fill(0);
    return t;
  }

  empty(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const n = numel(shape);
    const key = dtype === 'i32' ? -n - 1 : n;
    const hit = this.pool.get(key)?.pop();
    if (hit) this.pooledBytes -= hit.byteLength;
    const data = hit ?? (dtype === 'i32' ? new Int32Array(n) : new Float32Array(n));
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

  /**
   * A tensor over the caller's own array, without copying (CPU only): ops read it and write into
   * it in place. `free` on it only detaches it; the array is never recycled.
   */
  wrap(data: HostArray, shape: readonly number[]): Tensor {
    if (numel(shape) !== data.length) throw new ShapeError(`wrap of ${data.length} values as shape [${shape}]`);
    return new Tensor([...shape], data instanceof Int32Array ? 'i32' : 'f32', new CpuStorage(data, false), this.id);
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
      if (!t || !(t.storage instanceof CpuStorage) || t.storage.freed) continue;
      const s = t.storage;
      s.freed = true;
      // Recycle large arrays: a fresh multi-megabyte array costs page faults and zeroing on every
      // step, which shows up beside onnxruntime's own recycled (arena) memory.
      const data = s.data;
      s.data = new Float32Array(0);
      if (s.owned && data.length >= 1024 && this.pooledBytes + data.byteLength <= CpuDevice.POOL_LIMIT) {
        const key = data instanceof Int32Array ? -data.length - 1 : data.length;
        const list = this.pool.get(key);
        if (list) list.push(data);
        else this.pool.set(key, [data]);
        this.pooledBytes += data.byteLength;
      }
    }
  }

  destroy(): void {
    this.pool.clear();
    this.pooledBytes = 0;
  }

  private storageOf(t: Tensor): CpuStorage {
    if (t.deviceId !== this.id || !(t.storage instanceof CpuStorage)) {
      throw new ShapeError(`tensor #${t.id} [${t.shape}] belongs to another device`);
    }
    if (t.storage.freed) throw new ShapeError(`tensor #${t.id} [${t.shape}] was freed`);
    return t.storage;
  }
}
