/**
 * The WebGPU backend (Dawn through the `webgpu` package).
 *
 * - Adapter selection: the default adapter (Vulkan on Linux; Mesa's lavapipe when there is no GPU),
 *   then Dawn's OpenGL ES backend (EGL surfaceless, compatibility feature level) as a fallback.
 *   `GYM_WEBGPU_BACKEND` (vulkan | opengles | ...) forces one. Software adapters are refused
 *   unless asked for (`createDevice('webgpu')` allows them, `auto` does not).
 * - Buffer pool: freed buffers go to size-class free lists and are cleared on reuse.
 * - Pipeline cache: one pipeline per kernel name, explicit bind-group layouts (binding 0 uniforms).
 * - Command batching: dispatches accumulate in one command encoder and compute pass; uniforms are
 *   packed into one buffer per batch at 256-byte slots; the batch is submitted on download/sync or
 *   when full. Uploads go through mapped staging buffers copied inside the encoder, so they stay
 *   ordered with the recorded dispatches without forcing a submit.
 */
import type { Device, DeviceInfo, Dispatch, Kernel } from '../seam.js';
import { DeviceUnavailableError } from '../seam.js';
import { type DType, type HostArray, numel, ShapeError, type Storage, Tensor } from '../tensor.js';
import { wgslSource } from './wgsl.js';

type WebGpuModule = typeof import('webgpu');

/**
 * Dawn's `GPU` object must outlive every device made from it: if it is garbage-collected the
 * process aborts. Every one created is kept here for the life of the process.
 */
const liveGpus: GPU[] = [];

const UNIFORM_SLOT = 256;
const BATCH_SLOTS = 512;

class GpuStorage implements Storage {
  freed = false;
  constructor(
    public buffer: GPUBuffer,
    readonly bytes: number,
    readonly capacity: number,
  ) {}
}

/** Size classes: powers of two split in quarters, so a reused buffer wastes at most ~25%. */
function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 256);
  const p = 2 ** Math.floor(Math.log2(b));
  const q = p / 4;
  return Math.ceil(b / q) * q;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

export interface WebGpuCreateOptions {
  allowSoftware: boolean;
  /** Dawn backend name; default from GYM_WEBGPU_BACKEND, else Dawn's choice then opengles. */
  backend?: string;
}

interface Usage {
  STORAGE: number;
  COPY_SRC: number;
  COPY_DST: number;
  MAP_READ: number;
  MAP_WRITE: number;
  UNIFORM: number;
}

let nextDeviceId = 1_000_000;

export class WebGpuDevice implements Device {
  readonly kind = 'webgpu' as const;
  private readonly id = nextDeviceId++;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly readPool = new Map<number, GPUBuffer[]>();
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private uniformBuf: GPUBuffer | null = null;
  private uniformData = new ArrayBuffer(UNIFORM_SLOT * BATCH_SLOTS);
  private slots = 0;
  private dispatches = 0;
  private staging: GPUBuffer[] = [];
  private readonly spareUniforms: GPUBuffer[] = [];
  private error: string | null = null;
  /** Dispatches submitted since creation (for tests and benchmarks). */
  submitted = { batches: 0, dispatches: 0 };

  private constructor(
    private readonly gpu: GPU,
    private readonly device: GPUDevice,
    private readonly usage: Usage,
    private readonly mapMode: { READ: number },
    readonly info: DeviceInfo,
  ) {
    // Validation and out-of-memory errors arrive asynchronously; the next sync or download throws them.
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.error ??= e.message;
    });
    void device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.error ??= `device lost: ${info.message}`;
    });
  }

  static async create(opts: WebGpuCreateOptions): Promise<WebGpuDevice> {
    let mod: WebGpuModule;
    try {
      mod = await import('webgpu');
    } catch (err) {
      throw new DeviceUnavailableError(`the webgpu package failed to load (${(err as Error).message}); run \`npm install\``);
    }
    const forced = opts.backend ?? process.env.GYM_WEBGPU_BACKEND;
    const attempts = forced ? [forced] : ['', 'opengles'];
    const tried: string[] = [];
    for (const backend of attempts) {
      const gles = /^opengl/.test(backend);
      if (gles) process.env.EGL_PLATFORM ??= 'surfaceless';
      let gpu: GPU;
      try {
        gpu = mod.create(backend ? [`backend=${backend}`] : []);
      } catch (err) {
        tried.push(`${backend || 'default'}: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      liveGpus.push(gpu);
      let adapter: GPUAdapter | null;
      try {
        adapter = await gpu.requestAdapter({
          powerPreference: 'high-performance',
          ...(gles ? { featureLevel: 'compatibility' } : {}),
        } as GPURequestAdapterOptions);
      } catch (err) {
        tried.push(`${backend || 'default'}: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      if (!adapter) {
        tried.push(`${backend || 'default'}: no adapter`);
        continue;
      }
      const ai = adapter.info;
      const name = [ai.vendor, ai.architecture, ai.device, ai.description].filter(Boolean).join(' ') || 'webgpu adapter';
      const software = Boolean((ai as { isFallbackAdapter?: boolean }).isFallbackAdapter) || SOFTWARE.test(name);
      if (software && !opts.allowSoftware) {
        tried.push(`${backend || 'default'}: only a software adapter (${name})`);
        continue;
      }
      const L = adapter.limits;
      const device = await adapter.requestDevice({
        requiredLimits: {
          maxStorageBuffersPerShaderStage: Math.min(L.maxStorageBuffersPerShaderStage, 10),
          maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
          maxBufferSize: L.maxBufferSize,
          maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
          maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
          maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
        },
      });
      const g = mod.globals as { GPUBufferUsage: Usage; GPUMapMode: { READ: number } };
      return new WebGpuDevice(gpu, device, g.GPUBufferUsage, g.GPUMapMode, {
        kind: 'webgpu',
        name: `${name}${backend ? ` (${backend})` : ''}`,
        software,
      });
    }
    throw new DeviceUnavailableError(
      `no usable WebGPU adapter (${tried.join('; ')}). Without a GPU, install Mesa >= 25 lavapipe (Debian 12: \`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1\`) or set GYM_WEBGPU_BACKEND=opengles with EGL_PLATFORM=surfaceless.`,
    );
  }

  /** Keeps the GPU object reachable from the device too. */
  get gpuObject(): GPU {
    return this.gpu;
  }

  // ---- memory -------------------------------------------------------------------------------

  private takeBuffer(bytes: number): { buffer: GPUBuffer; capacity: number; reused: boolean } {
    const cap = sizeClass(bytes);
    const free = this.pool.get(cap);
    const hit = free?.pop();
    if (hit) return { buffer: hit, capacity: cap, reused: true };
    const buffer = this.device.createBuffer({ size: cap, usage: this.usage.STORAGE | this.usage.COPY_SRC | this.usage.COPY_DST });
    return { buffer, capacity: cap, reused: false };
  }

  alloc(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return this.make(shape, dtype, true);
  }

  empty(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return this.make(shape, dtype, false);
  }

  private make(shape: readonly number[], dtype: DType, zero: boolean): Tensor {
    const bytes = numel(shape) * 4;
    const { buffer, capacity, reused } = this.takeBuffer(bytes);
    // New buffers are zeroed by WebGPU itself; only recycled ones need clearing.
    if (reused && zero) {
      this.endPass();
      this.enc().clearBuffer(buffer, 0, capacity);
    }
    return new Tensor([...shape], dtype, new GpuStorage(buffer, bytes, capacity), this.id);
  }

  upload(data: HostArray | readonly number[], shape: readonly number[], dtype?: DType): Tensor {
    const dt: DType = dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    const n = numel(shape);
    if (data.length !== n) throw new ShapeError(`upload of ${data.length} values into shape [${shape}]`);
    const { buffer, capacity } = this.takeBuffer(n * 4);
    const t = new Tensor([...shape], dt, new GpuStorage(buffer, n * 4, capacity), this.id);
    this.write(
      t,
      dt === 'i32'
        ? Int32Array.from(data as ArrayLike<number>)
        : data instanceof Float32Array
          ? data
          : Float32Array.from(data as ArrayLike<number>),
    );
    return t;
  }

  write(t: Tensor, data: HostArray): void {
    const s = this.storageOf(t);
    if (data.length !== t.size) throw new ShapeError(`write of ${data.length} values into shape [${t.shape}]`);
    if (t.size === 0) return;
    const bytes = t.size * 4;
    const stage = this.device.createBuffer({
      size: Math.ceil(bytes / 4) * 4,
      usage: this.usage.MAP_WRITE | this.usage.COPY_SRC,
      mappedAtCreation: true,
    });
    const dst = t.dtype === 'i32' ? new Int32Array(stage.getMappedRange()) : new Float32Array(stage.getMappedRange());
    dst.set(data);
    stage.unmap();
    this.endPass();
    this.enc().copyBufferToBuffer(stage, 0, s.buffer, 0, bytes);
    this.staging.push(stage);
  }

  async download(t: Tensor): Promise<HostArray> {
    const s = this.storageOf(t);
    const bytes = t.size * 4;
    const out = t.dtype === 'i32' ? new Int32Array(t.size) : new Float32Array(t.size);
    if (bytes === 0) return out;
    const cap = sizeClass(bytes);
    const rb =
      this.readPool.get(cap)?.pop() ?? this.device.createBuffer({ size: cap, usage: this.usage.MAP_READ | this.usage.COPY_DST });
    this.endPass();
    this.enc().copyBufferToBuffer(s.buffer, 0, rb, 0, bytes);
    this.flush();
    await rb.mapAsync(this.mapMode.READ, 0, bytes);
    const src = rb.getMappedRange(0, bytes);
    out.set(t.dtype === 'i32' ? new Int32Array(src) : new Float32Array(src));
    rb.unmap();
    this.pushPool(this.readPool, cap, rb);
    this.throwIfError();
    return out;
  }

  free(...ts: (Tensor | undefined)[]): void {
    for (const t of ts) {
      if (!t || !(t.storage instanceof GpuStorage) || t.storage.freed) continue;
      t.storage.freed = true;
      this.pushPool(this.pool, t.storage.capacity, t.storage.buffer);
    }
  }

  private pushPool(pool: Map<number, GPUBuffer[]>, cap: number, b: GPUBuffer): void {
    const list = pool.get(cap);
    if (list) list.push(b);
    else pool.set(cap, [b]);
  }

  private storageOf(t: Tensor): GpuStorage {
    if (t.deviceId !== this.id || !(t.storage instanceof GpuStorage))
      throw new ShapeError(`tensor #${t.id} [${t.shape}] belongs to another device`);
    if (t.storage.freed) throw new ShapeError(`tensor #${t.id} [${t.shape}] was freed`);
    return t.storage;
  }

  // ---- kernels ------------------------------------------------------------------------------

  private pipelineFor(k: Kernel): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    const hit = this.pipelines.get(k.name);
    if (hit) return hit;
    let module = this.modules.get(k.file);
    if (!module) {
      module = this.device.createShaderModule({ code: wgslSource(k.file), label: k.file });
      this.modules.set(k.file, module);
    }
    const layout = this.device.createBindGroupLayout({
      label: k.name,
      entries: [
        { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform' } },
        ...k.bindings.map((a, i) => ({
          binding: i + 1,
          visibility: 4,
          buffer: { type: (a === 'r' ? 'read-only-storage' : 'storage') as GPUBufferBindingType },
        })),
      ],
    });
    const pipeline = this.device.createComputePipeline({
      label: k.name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: k.entry },
    });
    const entry = { pipeline, layout };
    this.pipelines.set(k.name, entry);
    return entry;
  }

  dispatch(d: Dispatch): void {
    const k = d.kernel;
    if (d.tensors.length !== k.bindings.length)
      throw new ShapeError(`${k.name}: ${d.tensors.length} tensors for ${k.bindings.length} bindings`);
    const [x, y = 1, z = 1] = d.workgroups;
    if (x * y * z === 0) return;
    if (x > 65535 || y > 65535 || z > 65535)
      throw new ShapeError(`${k.name}: workgroup grid ${x}x${y}x${z} exceeds 65535 per dimension`);
    if (this.slots >= BATCH_SLOTS) this.flush();
    const { pipeline, layout } = this.pipelineFor(k);
    // Uniforms: this dispatch's 256-byte slot in the batch's uniform buffer.
    const slot = this.slots++;
    const view = new DataView(this.uniformData, slot * UNIFORM_SLOT, UNIFORM_SLOT);
    k.uniforms.forEach(([name, type], i) => {
      const v = d.uniforms?.[name];
      if (v === undefined) throw new ShapeError(`${k.name}: uniform ${name} not given`);
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    const ubuf = this.uniforms();
    const bind = this.device.createBindGroup({
      layout,
      entries: [
        {
          binding: 0,
          resource: {
            buffer: ubuf,
            offset: slot * UNIFORM_SLOT,
            size: Math.max(16, Math.ceil((k.uniforms.length * 4) / 16) * 16),
          },
        },
        ...d.tensors.map((t, i) => {
          const s = this.storageOf(t);
          return { binding: i + 1, resource: { buffer: s.buffer, offset: 0, size: Math.max(4, s.bytes) } };
        }),
      ],
    });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
  }

  private uniforms(): GPUBuffer {
    if (!this.uniformBuf) {
      this.uniformBuf =
        this.spareUniforms.pop() ??
        this.device.createBuffer({ size: UNIFORM_SLOT * BATCH_SLOTS, usage: this.usage.UNIFORM | this.usage.COPY_DST });
    }
    return this.uniformBuf;
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.enc().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submit the pending batch (no wait). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const ubuf = this.uniformBuf;
    if (ubuf && this.slots > 0) this.device.queue.writeBuffer(ubuf, 0, this.uniformData, 0, this.slots * UNIFORM_SLOT);
    this.device.queue.submit([this.encoder.finish()]);
    this.submitted.batches++;
    this.submitted.dispatches += this.dispatches;
    this.encoder = null;
    this.uniformBuf = null;
    this.slots = 0;
    this.dispatches = 0;
    const staging = this.staging;
    this.staging = [];
    // The uniform buffer and staging buffers are reusable once this submission has run.
    this.device.queue
      .onSubmittedWorkDone()
      .then(() => {
        for (const b of staging) b.destroy();
        if (ubuf) this.spareUniforms.push(ubuf);
      })
      .catch(() => {
        // The device was destroyed or lost meanwhile: its buffers went with it.
      });
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfError();
  }

  private throwIfError(): void {
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw new Error(`WebGPU error: ${e}`);
    }
  }

  destroy(): void {
    this.encoder = null;
    this.pass = null;
    this.device.destroy();
  }
}
