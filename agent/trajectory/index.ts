/** agent/trajectory: JSONL trajectories (append-only writer, validating reader) and exporters (verl, TRL). */

export {
  type ExportMessage,
  type ExportOptions,
  exportable,
  exportMessage,
  type TrlRow,
  toTrl,
  toVerl,
  type VerlRow,
} from './export.js';
export {
  parseTrajectoryLine,
  type ReadOptions,
  readTrajectories,
  serializeTrajectory,
  streamTrajectories,
  TrajectoryFileError,
  TrajectoryWriter,
  type WriterOptions,
} from './io.js';
