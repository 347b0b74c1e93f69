/** A progress bar for long batches: episodes done, episodes/s, ETA, success so far (stderr, TTY only). */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(correct: boolean): void;
  stop(): void;
}

const silent: Progress = { tick: () => {}, stop: () => {} };

/**
 * `enabled`: `true` forces the bar, `false` hides it, `undefined` shows it only when stderr is a TTY
 * (so logs and CI output stay clean).
 */
export function createProgress(
  total: number,
  label: string,
  enabled?: boolean,
  stream: NodeJS.WritableStream = process.stderr,
): Progress {
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  if (enabled === false || (enabled === undefined && !tty) || total === 0) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} episodes | {rate} ep/s | ETA {eta_formatted} | success {success}`,
      stream,
      noTTYOutput: !tty,
      hideCursor: tty,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let done = 0;
  let ok = 0;
  bar.start(total, 0, { rate: '0.0', success: '-' });
  return {
    tick(correct: boolean) {
      done++;
      if (correct) ok++;
      const secs = (performance.now() - t0) / 1000;
      bar.update(done, { rate: (done / Math.max(secs, 1e-9)).toFixed(1), success: `${((100 * ok) / done).toFixed(1)}%` });
    },
    stop() {
      bar.stop();
    },
  };
}
