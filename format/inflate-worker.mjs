// A decompression worker (see parallel-inflate.ts for the protocol): decodes every W-th data
// frame into its slots of shared memory, writes it at its offset in the output file, and marks
// the slot full for the main thread, which hashes the frames in order. Failures are reported
// through the shared control words, since the main thread waits in Atomics.wait and cannot
// receive messages.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { path, outFd, entries, worker, workers, slots, slotBytes, control, data, message } = workerData;
const ctrl = new Int32Array(control);
// Control words: see CTRL_* in parallel-inflate.ts.
const ABORT = 0, ERROR_KIND = 1, ERROR_FRAME = 2, ERROR_LENGTH = 3, STARTED = 4, SLOTS = 8;
const KINDS = { checksum: 1, corrupt: 2, truncated: 3, nospace: 4, io: 5 };

function report(kind, frame, words) {
  const bytes = Buffer.from(String(words)).subarray(0, message.byteLength);
  bytes.copy(Buffer.from(message));
  Atomics.store(ctrl, ERROR_FRAME, frame);
  Atomics.store(ctrl, ERROR_LENGTH, bytes.length);
  Atomics.store(ctrl, ERROR_KIND, KINDS[kind]);
  for (let i = SLOTS; i < ctrl.length; i++) Atomics.notify(ctrl, i);
}

let fd;
let frame = -1;
try {
  const { inflateFrame, newContext } = await import('./inflate-frame.mjs');
  Atomics.add(ctrl, STARTED, 1);
  fd = openSync(path, 'r');
  const dctx = newContext();
  for (let j = 0, i = worker; i < entries.length; j++, i += workers) {
    frame = i;
    const slot = worker * slots + (j % slots);
    const state = SLOTS + slot * 2;
    while (Atomics.load(ctrl, state) !== 0) {
      if (Atomics.load(ctrl, ABORT) !== 0 || Atomics.load(ctrl, ERROR_KIND) !== 0) process.exit(0);
      Atomics.wait(ctrl, state, 1, 200);
    }
    if (Atomics.load(ctrl, ABORT) !== 0 || Atomics.load(ctrl, ERROR_KIND) !== 0) process.exit(0);
    const e = entries[i];
    const src = Buffer.allocUnsafe(e.compressedBytes);
    let got = 0;
    while (got < src.length) {
      const n = readSync(fd, src, got, src.length - got, e.fileOffset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== src.length) {
      report('truncated', i, String(e.fileOffset + got));
      break;
    }
    const dst = Buffer.from(data, slot * slotBytes, e.contentBytes);
    const problem = inflateFrame(dctx, src, dst);
    if (problem) {
      report(problem[0], i, problem[1]);
      break;
    }
    if (outFd >= 0) {
      let off = 0;
      while (off < dst.length) off += writeSync(outFd, dst, off, dst.length - off, e.contentOffset + off);
    }
    Atomics.store(ctrl, state + 1, e.contentBytes);
    Atomics.store(ctrl, state, 1);
    Atomics.notify(ctrl, state);
  }
} catch (err) {
  report(err?.code === 'ENOSPC' ? 'nospace' : 'io', frame, err?.message ?? err);
} finally {
  if (fd !== undefined) closeSync(fd);
}
