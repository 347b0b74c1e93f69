export { DEFAULT_MAX_SEQ_LEN, fromHfConfig, HfFormatError, type HfQwen3Config, toHfConfig } from './config.js';
export { type ExportSummary, exportCheckpointToHf } from './convert.js';
export { exportHf, type HfExportSource, hfTensors } from './export.js';
export { generationSampling, type HfLoadOptions, type HfQwen3, isHfFolder, loadHfChat, loadHfQwen3 } from './load.js';
export {
  type LoraAdapter,
  type LoraPair,
  loadPeftAdapter,
  loraScale,
  mergeAdapter,
  peftAdapterFiles,
  savePeftAdapter,
} from './peft.js';
export { hfModuleOf, LINEAR_MODULES, type LinearModule, transpose, weightBytes } from './weights.js';
