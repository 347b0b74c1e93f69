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
export { type Access, type CreateDeviceOptions, type Device, type DeviceInfo, type DeviceKind, type DeviceRequest, type Dispatch, DeviceUnavailableError, type Kernel, type UniformType, createDevice, requestedDevice } from './device.js';
export { type DType, type HostArray, ShapeError, Tensor, numel } from './tensor.js';
export { type MatmulGrads, type MatmulOptions, matmul, matmulBackward } from './ops/matmul.js';
export { embedding, embeddingBackward } from './ops/embedding.js';
export { type RmsnormResult, rmsnorm, rmsnormBackward } from './ops/rmsnorm.js';
export { rope, ropeBackward, ropeTable } from './ops/rope.js';
export { type AttentionOptions, type AttentionResult, attention, attentionBackward, kvCacheWrite } from './ops/attention.js';
export { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './ops/softmax.js';
export { swiglu, swigluBackward } from './ops/swiglu.js';
export { add, axpy, fill, scale } from './ops/elementwise.js';
export { type LogprobOptions, type LogprobResult, crossEntropy, crossEntropyBackward, tokenLogprob, tokenLogprobBackward } from './ops/logprob.js';
export { kl, klBackward } from './ops/kl.js';
export { type AdamWOptions, type AdamWState, adamwStep, createAdamWState, gradNormSq } from './ops/adamw.js';
