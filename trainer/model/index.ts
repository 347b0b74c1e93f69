export type { Checkpoint, CheckpointMeta, CheckpointTokenizer, LoadOptions } from './checkpoint.js';
export {
  ADAPTER_DIR,
  CHECKPOINT_FORMAT,
  CheckpointError,
  checkpointId,
  loadAnyCheckpoint,
  loadCheckpoint,
  loadLatestCheckpoint,
  loraHostParams,
  previousCheckpointDir,
  saveCheckpoint,
} from './checkpoint.js';
export type { ModelConfig, ModelPreset } from './config.js';
export { flopsPerToken, MODEL_PRESETS, ModelConfigSchema, paramShapes, presetConfig } from './config.js';
export { type DeviceForwardOptions, DeviceKVCache, DeviceTransformer, type SharedPrefix } from './device-transformer.js';
export { NonFiniteError, refuseNonFiniteUpdate, refuseNonFiniteWeights } from './finite.js';
export { checkFits, checkTokenId, SequenceTooLongError } from './limits.js';
export { DeviceLora, type LoraOptions, loraDims } from './lora.js';
export type { BuiltinPolicyOptions } from './policy.js';
export { BuiltinPolicy, loadBuiltinPolicy } from './policy.js';
export type { MatmulEngine } from './reference/host-loops.js';
export { matmulEngine, setMatmulEngine } from './reference/host-loops.js';
export { deviceMatmulEngine, useDevice } from './reference/matmul-engine.js';
export { commonPrefixLength, sharedPrefixPass } from './reference/shared-prefix.js';
export type { ForwardOptions, SavedChunk } from './reference/transformer.js';
export { KVCache, Transformer } from './reference/transformer.js';
export { registerBuiltinPolicy } from './register.js';
export { type DecodeCache, ModelRunner } from './runner.js';
export { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors.js';
export type { SamplingOptions } from './sample.js';
export { DEFAULT_SAMPLING, QWEN3_SAMPLING, sampleToken } from './sample.js';
export { sharedPrefixRuns, type TokenGrad } from './token-pass.js';
