// `ingero recover`: seals the staging database an interrupted recording left behind (SIGKILL,
// power loss, full disk). The recorder commits the staging database every second, so what it
// had received up to a second before the interruption is kept; what was still in its memory or
// in the kernel's ring buffers is lost.
import { copyFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { recoverBundle, removeStaging, type SealResult } from '../format/index.ts';
import { RecorderError } from './errors.ts';
import { assertWritableOutputDir, sameFileSystem } from './output-dir.ts';

const STAGING_SUFFIX = '.staging';
const SQLITE_SIDE_FILES = ['-wal'];

/** Seals `stagingPath` into `output` (default: the staging path without `.staging`). */
export async function recover(stagingPath: string, output?: string): Promise<SealResult> {
  if (!existsSync(stagingPath)) throw new RecorderError(`${stagingPath}: no such staging file — give the path printed by ingero record (it ends in ${STAGING_SUFFIX})`);
  const out = resolve(output ?? (stagingPath.endsWith(STAGING_SUFFIX) ? stagingPath.slice(0, -STAGING_SUFFIX.length) : `${stagingPath}.ingero`));
  if (existsSync(out)) throw new RecorderError(`${out} already exists — give another output path`);
  assertWritableOutputDir(out);
  if (sameFileSystem(stagingPath, dirname(out))) return recoverBundle(stagingPath, out);
  // Sealing rewrites the database it seals (the write-ahead log folded in, the end-of-recording
  // tables filled, the pages compacted). The staging file's own file system may be the full one
  // that stopped the recording, so a copy on the output's file system is sealed instead.
  const copy = `${out}.recovering`;
  try {
    copyFileSync(stagingPath, copy);
    for (const side of SQLITE_SIDE_FILES) if (existsSync(stagingPath + side)) copyFileSync(stagingPath + side, copy + side);
  } catch (e) {
    removeStaging(copy);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new RecorderError(`${dirname(out)}: disk full while copying the staging data there — free space or give -o a path on another file system`);
    throw new RecorderError(`${copy}: cannot copy the staging data (${code ?? (e as Error).message})`);
  }
  let sealed: SealResult;
  try {
    sealed = await recoverBundle(copy, out);
  } catch (e) {
    removeStaging(copy);
    // the message names the copy, which is gone; the original staging data is untouched
    throw new RecorderError((e as Error).message.split(copy).join(stagingPath));
  }
  removeStaging(stagingPath);
  return sealed;
}
