// A one-line progress bar on stderr, drawn only when stderr is a terminal (quiet when piped or
// redirected, so logs and scripts never see carriage returns). Redraws at most 10 times a second
// within a phase, with the time elapsed.
export interface ProgressBar {
  update(done: number, total: number, label: string): void;
  /** Erases the bar so the next output starts on a clean line. */
  clear(): void;
}

const WIDTH = 30;
const MIN_REDRAW_MS = 100;

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update() {}, clear() {} };
  const started = Date.now();
  let last = 0;
  let lastLabel = '';
  let drawn = false;
  return {
    update(done, total, label) {
      const now = Date.now();
      // A new phase is always drawn: the work after it may be one long synchronous step.
      if (drawn && now - last < MIN_REDRAW_MS && done < total && label === lastLabel) return;
      lastLabel = label;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(frac * WIDTH);
      const pct = `${Math.floor(frac * 100)}`.padStart(3);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${pct}% ${((now - started) / 1000).toFixed(1)} s ${label}`;
      // One line however narrow the terminal: a wrapped bar could not be redrawn in place.
      stream.write(`\r${line.slice(0, Math.max(WIDTH + 6, (stream.columns || 80) - 1))}\x1b[K`);
      drawn = true;
    },
    clear() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** A bar as the (fraction, phase) callback the analyzers and the export take. */
export function fractionProgress(bar: ProgressBar): (fraction: number, phase: string) => void {
  return (fraction, phase) => bar.update(fraction, 1, phase);
}

/**
 * Runs a long job with a progress bar and Ctrl-C wired to its abort signal (the job then stops
 * between batches and removes what it half wrote); the bar is erased however the job ends.
 */
export async function withProgress<T>(job: (bar: ProgressBar, signal: AbortSignal) => Promise<T>): Promise<T> {
  const bar = progressBar();
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  try {
    return await job(bar, interrupt.signal);
  } finally {
    bar.clear();
    process.removeListener('SIGINT', onSigint);
  }
}

/**
 * Runs synchronous work with a bar that names its phases: `step(phase)` redraws before each one.
 * The bar is erased however the work ends. For a command over one bundle or a few, where the
 * libraries report no finer progress.
 */
export function withPhases<T>(work: (step: (fraction: number, phase: string) => void) => T): T {
  const bar = progressBar();
  try {
    return work(fractionProgress(bar));
  } finally {
    bar.clear();
  }
}
