// `ingero recover`: seals the staging database an interrupted recording left behind (SIGKILL,
// power loss, full disk). Events up to the last commit (about one second before) are kept.
import { existsSync } from 'node:fs';
import { recoverBundle, type SealResult } from '../format/index.ts';
import { RecorderError } from './errors.ts';

const STAGING_SUFFIX = '.staging';

/** Seals `stagingPath` into `output` (default: the staging path without `.staging`). */
export async function recover(stagingPath: string, output?: string): Promise<SealResult> {
  if (!existsSync(stagingPath)) throw new RecorderError(`${stagingPath}: no such staging file — give the path printed by ingero record (it ends in ${STAGING_SUFFIX})`);
  const out = output ?? (stagingPath.endsWith(STAGING_SUFFIX) ? stagingPath.slice(0, -STAGING_SUFFIX.length) : `${stagingPath}.ingero`);
  if (existsSync(out)) throw new RecorderError(`${out} already exists — give another output path`);
  return recoverBundle(stagingPath, out);
}
