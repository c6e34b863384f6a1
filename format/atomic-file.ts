// Writes a file all at once as far as readers can tell: into a private temp file beside it
// (mode 0600, created exclusively), renamed over the final name only once complete. A failure
// removes the temp file and rethrows, so no reader ever sees a half-written file.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';

export function writeFileAtomically(file: string, fill: (fd: number) => void): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    fill(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}
