/**
 * gpu/: the compute engine. A `Device` (cpu | webgpu) holds tensors; ops are free functions
 * `op(dev, ...tensors, opts)` that return new tensors (or accumulate into given gradient tensors)
 * and never read data back to JS: call `dev.download(t)` when a value is needed on the host.
 *
 *   const dev = await createDevice();            // GYM_DEVICE=cpu|webgpu|auto (default auto)
 *   const x = dev.upload(data, [T, D]);
 *   const { y, rstd } = rmsnorm(dev, x, w);
 *   const h = matmul(dev, y, wq, { transB: true }); // weights stored (out, in)
 *   const values = await dev.download(h);
 *
 * Forward and backward sit side by side in each op file; backward functions take what forward
 * returned (e.g. `rstd`, `lse`). Parameter gradients are ADDED into tensors you pass (accumulation
 * across micro-batches), or into fresh zeroed ones. Free intermediates with `dev.free(...)`.
 */

/** The CPU backend class: `view(t)` (live host array) and `wrap(array, shape)` (zero-copy tensor). */
export { CpuDevice } from './cpu/backend.js';
export type { StableRowsOption } from './cpu/fused.js';
export {
  type Access,
  type CreateDeviceOptions,
  createDevice,
  type Device,
  type DeviceInfo,
  type DeviceKind,
  type DeviceRequest,
  DeviceUnavailableError,
  type Dispatch,
  type Kernel,
  requestedDevice,
  type UniformType,
} from './device.js';
export { type AdamWOptions, type AdamWState, adamwStep, createAdamWState, gradNormSq } from './ops/adamw.js';
export { type AttentionOptions, type AttentionResult, attention, attentionBackward, kvCacheWrite } from './ops/attention.js';
export {
  type DivergenceKind,
  type DivergenceOptions,
  type DivergenceResult,
  divergence,
  divergenceBackward,
} from './ops/distill.js';
export { add, axpy, copyRange, fill, scale } from './ops/elementwise.js';
export { embedding, embeddingBackward } from './ops/embedding.js';
export { kl, klBackward } from './ops/kl.js';
export {
  crossEntropy,
  crossEntropyBackward,
  type LogprobOptions,
  type LogprobResult,
  tokenLogprob,
  tokenLogprobBackward,
} from './ops/logprob.js';
export { type MatmulGrads, type MatmulOptions, matmul, matmulBackward } from './ops/matmul.js';
/** The plain-loop references of RMSNorm and SwiGLU (the host model uses them; one copy of the math). */
export { type RmsnormResult, rmsnorm, rmsnormBackward, rmsnormBackwardCpu, rmsnormCpu, rmsnormDwCpu } from './ops/rmsnorm.js';
export { rope, ropeBackward, ropeTable } from './ops/rope.js';
export { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './ops/softmax.js';
export { swiglu, swigluBackward, swigluBackwardCpu, swigluCpu } from './ops/swiglu.js';
export { type DType, type HostArray, numel, ShapeError, Tensor } from './tensor.js';
