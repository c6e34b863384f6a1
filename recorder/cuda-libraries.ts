// Finding the libcudart and libcuda files to probe. Uprobes attach to files, not processes,
// so each distinct file (pip wheels ship their own libcudart) needs its own probes, and a
// library must be found before the code in it runs for its calls to be seen.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { cudaLibraryOf, type CudaLibrary } from './cuda-probes.ts';
import { ElfFile } from './elf.ts';
import { RecorderError } from './errors.ts';
import { pathInProcess, readMaps } from './proc.ts';

export interface FoundLibrary {
  library: CudaLibrary;
  /** A path this process can open (through /proc/PID/root for other mount namespaces). */
  path: string;
  /** The path as the traced process or the loader cache names it. */
  displayPath: string;
  /** Where it was found: 'maps', 'loader-cache', 'command' or 'option'. */
  via: string;
}

/** CUDA libraries mapped by a running process. */
export function librariesInProcess(pid: number): FoundLibrary[] {
  const out: FoundLibrary[] = [];
  for (const m of readMaps(pid) ?? []) {
    const library = cudaLibraryOf(m.path);
    if (library && m.executable) out.push({ library, path: pathInProcess(pid, m.path), displayPath: m.path, via: 'maps' });
  }
  return out;
}

/** CUDA libraries the dynamic loader would find by name (`ldconfig -p`). */
export function librariesInLoaderCache(): FoundLibrary[] {
  let text: string;
  try {
    text = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const out: FoundLibrary[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
    if (!m || !m[2].includes('x86-64')) continue;
    const library = cudaLibraryOf(m[3]);
    if (library) out.push({ library, path: m[3], displayPath: m[3], via: 'loader-cache' });
  }
  return out;
}

/** An executable named as on a command line, resolved through PATH. */
export function resolveExecutable(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(isAbsolute).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The CUDA libraries a dynamically linked executable loads at start (its DT_NEEDED closure), as
 * ld.so resolves them in trace mode (what ldd does). Only ELF files with an interpreter are
 * asked: anything else would simply run.
 */
export function librariesOfCommand(argv0: string, env: NodeJS.ProcessEnv = process.env): FoundLibrary[] {
  const exe = resolveExecutable(argv0);
  if (!exe) return [];
  try {
    if (!ElfFile.open(exe).dynamic) return [];
  } catch {
    return []; // a script: its interpreter decides, found later in /proc/PID/maps
  }
  let text: string;
  try {
    text = execFileSync(exe, [], { encoding: 'utf8', env: { ...env, LD_TRACE_LOADED_OBJECTS: '1' }, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return [];
  }
  const out: FoundLibrary[] = [];
  for (const line of text.split('\n')) {
    const m = /=> (\/\S+) \(0x/.exec(line);
    if (!m) continue;
    const library = cudaLibraryOf(m[1]);
    if (library && existsSync(m[1])) out.push({ library, path: m[1], displayPath: m[1], via: 'command' });
  }
  return out;
}

/** A library given explicitly (--cuda-lib). */
export function libraryFromOption(path: string): FoundLibrary {
  const library = cudaLibraryOf(path);
  if (!library) throw new RecorderError(`--cuda-lib ${JSON.stringify(path)} is not named like libcudart.so* or libcuda.so* — pass the path of a CUDA runtime or driver library, e.g. /usr/local/cuda/lib64/libcudart.so.13`);
  return { library, path, displayPath: path, via: 'option' };
}
