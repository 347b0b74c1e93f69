/** agent/trajectory: JSONL trajectories (append-only writer, validating reader) and exporters (verl, TRL). */

export { exportable, toTrl, toVerl } from './export.js';
export {
  endsWithNewline,
  readTrajectories,
  serializeTrajectory,
  streamTrajectories,
  TrajectoryFileError,
  TrajectoryWriter,
} from './io.js';
