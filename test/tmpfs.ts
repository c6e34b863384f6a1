// A small tmpfs for the disk-full and read-only cases: real ENOSPC and EROFS from the kernel,
// not simulated errors. Mounting needs root; without it the test skips and says so.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** Runs fn on a fresh tmpfs of `size` (mount's syntax: 200k, 3m) mounted at dir, unmounted afterwards. */
export async function withTmpfs(t: TestContext, dir: string, size: string, fn: (mnt: string) => unknown): Promise<void> {
  mkdirSync(dir);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (mounted.status !== 0) {
    t.skip(`cannot mount a ${size} tmpfs to fill (${String(mounted.stderr).trim() || 'mount failed'}): needs root`);
    return;
  }
  try {
    await fn(dir);
  } finally {
    spawnSync('umount', [dir]);
  }
}
