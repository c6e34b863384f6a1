// Reading /proc for the processes being traced. Every reader returns undefined once the
// process is gone, which is routine for short-lived processes.
import { readFileSync, readdirSync } from 'node:fs';

export interface MapEntry {
  start: number;
  end: number;
  /** File offset of `start`. */
  offset: number;
  executable: boolean;
  inode: number;
  /** Path as the process sees it (inside its mount namespace). */
  path: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** File-backed mappings of a process, sorted by address. */
export function readMaps(pid: number): MapEntry[] | undefined {
  const text = read(`/proc/${pid}/maps`);
  if (text === undefined) return undefined;
  const out: MapEntry[] = [];
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode path
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s+(\/.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      executable: m[3][2] === 'x',
      offset: parseInt(m[4], 16),
      inode: Number(m[5]),
      path: m[6].replace(/ \(deleted\)$/, ''),
    });
  }
  return out;
}

/** A path of the process's file system as this process can open it (containers included). */
export function pathInProcess(pid: number, path: string): string {
  return `/proc/${pid}/root${path}`;
}

export function readComm(pid: number, tid = pid): string | undefined {
  return read(`/proc/${pid}/task/${tid}/comm`)?.trimEnd();
}

export function readCmdline(pid: number): string | undefined {
  const raw = read(`/proc/${pid}/cmdline`);
  return raw === undefined ? undefined : raw.replace(/\0+$/, '').split('\0').join(' ');
}

interface Stat {
  state: string;
  ppid: number;
  /** Start time, clock ticks after boot. */
  startTicks: number;
}

export function readStat(pid: number): Stat | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // comm may contain spaces and parentheses: fields resume after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), startTicks: Number(f[19]) };
}

/** USER_HZ: /proc/PID/stat counts start time in these ticks; 100 on every Linux ABI that matters. */
export const CLOCK_TICKS_PER_SECOND = 100;

export function listPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}
