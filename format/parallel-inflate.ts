// Decompressing a bundle on several cores while keeping openBundle synchronous.
// W workers (inflate-worker.mjs) each take every W-th data frame: read it, check and decompress it
// into one of their S slots of shared memory, write it at its offset in the output file, and mark
// the slot full. The main thread walks the frames in order, waits (Atomics.wait) for each slot,
// feeds it to SHA-256 and hands the slot back. Memory is bounded by W * S frames.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BundleError, ioError } from './errors.ts';
import { checkDigest, frameError, framePlan, inflateSequential, type ContainerInfo, type FrameProblemKind } from './read-container.ts';

// Control words shared with inflate-worker.mjs.
const CTRL_ABORT = 0;
const CTRL_ERROR_KIND = 1;
const CTRL_ERROR_FRAME = 2;
const CTRL_ERROR_LENGTH = 3;
const CTRL_STARTED = 4;
const CTRL_SLOTS = 8;
const ERROR_KINDS = ['', 'checksum', 'corrupt', 'truncated', 'nospace', 'io'] as const;

const SLOTS_PER_WORKER = 2;
/** Below this many frames, starting workers costs more than it saves. */
const MIN_PARALLEL_FRAMES = 8;
/** Frames larger than this are decompressed on the main thread (bounded shared memory). */
const MAX_PARALLEL_FRAME_BYTES = 16 << 20;
/** A worker that makes no progress for this long is declared stuck. */
const STALL_MS = 60_000;

/**
 * Decompresses and checks the whole database (writing it to outFd when given) on as many cores
 * as help, falling back to the calling thread for small bundles. Throws a one-line BundleError,
 * or the filesystem error (code ENOSPC, ...) of a failed write.
 */
export function inflateDatabase(info: ContainerInfo, outFd: number | null): void {
  const plan = framePlan(info);
  const workers = Math.min(2, availableParallelism());
  const largest = plan.reduce((m, f) => Math.max(m, f.contentBytes), 0);
  if (workers < 2 || plan.length < MIN_PARALLEL_FRAMES || largest > MAX_PARALLEL_FRAME_BYTES || process.env.INGERO_INFLATE_THREADS === '1') {
    inflateSequential(info, outFd);
    return;
  }
  const slots = workers * SLOTS_PER_WORKER;
  const control = new SharedArrayBuffer((CTRL_SLOTS + slots * 2) * 4);
  const ctrl = new Int32Array(control);
  const data = new SharedArrayBuffer(slots * largest);
  const message = new SharedArrayBuffer(1024);
  const pool = Array.from({ length: workers }, (_, worker) => {
    const w = new Worker(new URL('./inflate-worker.mjs', import.meta.url), {
      workerData: { path: info.path, outFd: outFd ?? -1, entries: plan, worker, workers, slots: SLOTS_PER_WORKER, slotBytes: largest, control, data, message },
      execArgv: [],
    });
    w.unref();
    return w;
  });
  const hash = createHash('sha256');
  try {
    plan.forEach((f, i) => {
      const w = i % workers;
      const slot = w * SLOTS_PER_WORKER + (Math.floor(i / workers) % SLOTS_PER_WORKER);
      const state = CTRL_SLOTS + slot * 2;
      const since = Date.now();
      while (Atomics.load(ctrl, state) !== 1) {
        if (Atomics.load(ctrl, CTRL_ERROR_KIND) !== 0) throw workerError(info, ctrl, message, outFd);
        if (Date.now() - since > STALL_MS) {
          throw new BundleError('IO', `${info.name}: decompression stalled at data frame ${i + 1} (${Atomics.load(ctrl, CTRL_STARTED)} of ${workers} workers started) — run again with INGERO_INFLATE_THREADS=1`);
        }
        Atomics.wait(ctrl, state, 0, 100);
      }
      hash.update(new Uint8Array(data, slot * largest, f.contentBytes));
      Atomics.store(ctrl, state, 0);
      Atomics.notify(ctrl, state);
    });
  } finally {
    Atomics.store(ctrl, CTRL_ABORT, 1);
    for (let i = CTRL_SLOTS; i < ctrl.length; i++) Atomics.notify(ctrl, i);
    for (const w of pool) void w.terminate();
  }
  checkDigest(info, hash.digest('hex'));
}

function workerError(info: ContainerInfo, ctrl: Int32Array, message: SharedArrayBuffer, outFd: number | null): Error {
  const kind = ERROR_KINDS[Atomics.load(ctrl, CTRL_ERROR_KIND)] ?? 'io';
  const frame = Atomics.load(ctrl, CTRL_ERROR_FRAME);
  const why = Buffer.from(message, 0, Atomics.load(ctrl, CTRL_ERROR_LENGTH)).toString('utf8');
  if (kind === 'nospace') return Object.assign(new Error(why), { code: 'ENOSPC' });
  if (kind === 'io') return outFd === null ? ioError(info.path, new Error(why), 'reading the bundle') : ioError(info.path, new Error(why), 'decompressing the bundle');
  return frameError(info, frame, kind as FrameProblemKind, why);
}
