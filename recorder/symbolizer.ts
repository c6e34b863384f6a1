// Resolves user stacks at record time, while the traced processes' mappings still exist:
// address -> mapping (/proc/PID/maps) -> ELF symbol, with the file's build-id, so that the
// bundle can be analyzed on any machine. Stacks are captured when a call returns, so every
// address is a return address: the symbol is looked up at address - 1, which stays inside
// the calling function even when the call was its last instruction.
// A process can be gone before its stacks are drained (a short program, a loaded machine):
// then the executable mappings the kernel sends as it exits (bpf/exit-mappings.bpf.c) stand in
// for /proc, and its stacks wait for them (stackIdIfReady).
import { statSync } from 'node:fs';
import type { FrameInput, MappingInput } from '../format/index.ts';
import { demangle } from '../format/index.ts';
import { ElfFile } from './elf.ts';
import { pathInProcess, readMaps, type MapEntry } from './proc.ts';

interface StackSink {
  internStack(frames: readonly FrameInput[]): number;
}

export class Symbolizer {
  private readonly maps = new Map<number, MapEntry[]>();
  /** ELF files by device:inode; null when the file could not be read. */
  private readonly elves = new Map<string, ElfFile | null>();
  /** The same files by process and mapped path: what each process's stacks resolve against. */
  private readonly elfByProcessPath = new Map<string, ElfFile | null>();
  private readonly stacks = new Map<string, number>();
  /** Per-process mapping rows, so a mapping is described once. */
  private readonly mappingInputs = new Map<string, MappingInput>();

  /** Processes whose /proc/PID/maps could not be read since their last successful read. */
  private readonly gone = new Set<number>();
  /** Exit-time mappings as they arrive, until the process's end marker. */
  private readonly exitMappings = new Map<number, MapEntry[]>();
  private readonly exitMappingsDone = new Set<number>();

  /**
   * @param exitMappingsComing whether the kernel sends each traced process's mappings as it
   * exits: stacks of a process that is gone then wait for them (stackIdIfReady).
   */
  constructor(
    private readonly sink: StackSink,
    private readonly exitMappingsComing = false,
  ) {}

  /**
   * Reads a process's mappings now, before it can exit (call on first sight of a process);
   * false when /proc no longer has them.
   */
  noteProcess(pid: number): boolean {
    const m = readMaps(pid)?.filter((e) => e.executable);
    // A process that has exited (a zombie's maps are empty) keeps the mappings last read:
    // its events still being drained need them.
    if (!m?.length) {
      this.gone.add(pid);
      return false;
    }
    this.maps.set(pid, m);
    this.gone.delete(pid);
    return true;
  }

  /** The process replaced its image: the mappings read before belong to the old one. */
  execed(pid: number): void {
    this.maps.delete(pid);
    this.exitMappingsDone.delete(pid);
    this.noteProcess(pid);
  }

  /**
   * One executable mapping of an exiting process, or null for its end marker: then its
   * mappings are those it had at exit (with any read earlier that they do not overlap) and
   * true is returned, for the stacks waiting on them.
   */
  addExitMapping(pid: number, m: MapEntry | null): boolean {
    const list = this.exitMappings.get(pid) ?? [];
    this.exitMappings.set(pid, list);
    if (m) {
      list.push(m);
      return false;
    }
    this.exitMappings.delete(pid);
    const earlier = (this.maps.get(pid) ?? []).filter((e) => !list.some((x) => x.start < e.end && e.start < x.end));
    if (list.length) this.maps.set(pid, [...list, ...earlier].sort((a, b) => a.start - b.start));
    this.exitMappingsDone.add(pid);
    return true;
  }

  /**
   * The stack's id, or undefined while it cannot be symbolized yet: one of its addresses lies
   * outside the mappings known for a process that is gone and whose exit-time mappings are
   * still to come (then stackId, once they came or the recording ended).
   */
  stackIdIfReady(pid: number, addresses: readonly bigint[]): number | undefined {
    const key = stackKey(pid, addresses);
    const id = this.stacks.get(key);
    if (id !== undefined || this.ready(pid, addresses)) return id ?? this.intern(key, pid, addresses);
    return undefined;
  }

  stackId(pid: number, addresses: readonly bigint[]): number {
    const key = stackKey(pid, addresses);
    return this.stacks.get(key) ?? this.intern(key, pid, addresses);
  }

  private ready(pid: number, addresses: readonly bigint[]): boolean {
    if (!this.exitMappingsComing || this.exitMappingsDone.has(pid)) return true;
    const maps = this.maps.get(pid);
    if (addresses.every((a) => find(maps, Number(a)))) return true;
    return !this.gone.has(pid) && this.noteProcess(pid);
  }

  private intern(key: string, pid: number, addresses: readonly bigint[]): number {
    const id = this.sink.internStack(addresses.map((a) => this.frame(pid, a)));
    this.stacks.set(key, id);
    return id;
  }

  private mappingOf(pid: number, addr: number): MapEntry | undefined {
    let m = find(this.maps.get(pid), addr);
    // a library loaded since the last read
    if (!m && !this.gone.has(pid) && this.noteProcess(pid)) m = find(this.maps.get(pid), addr);
    return m;
  }

  private elfOf(pid: number, m: MapEntry): ElfFile | undefined {
    const seen = `${pid}\0${m.path}`;
    if (!this.elfByProcessPath.has(seen)) this.elfByProcessPath.set(seen, this.openMapped(pid, m));
    return this.elfByProcessPath.get(seen) ?? undefined;
  }

  /**
   * The mapped file, through the process's root (containers included); once the process has
   * exited, with its stacks still being drained, the same path here if it has the mapping's
   * inode (not checked through /proc/PID/root: overlay file systems may report another one).
   */
  private openMapped(pid: number, m: MapEntry): ElfFile | null {
    for (const [path, sameInode] of [
      [pathInProcess(pid, m.path), false],
      [m.path, true],
    ] as const) {
      let key: string;
      try {
        const st = statSync(path);
        if (sameInode && st.ino !== m.inode) continue;
        key = `${st.dev}:${st.ino}`;
      } catch {
        continue;
      }
      if (!this.elves.has(key)) {
        try {
          this.elves.set(key, ElfFile.open(path));
        } catch {
          this.elves.set(key, null);
        }
      }
      return this.elves.get(key) ?? null;
    }
    return null;
  }

  private frame(pid: number, address: bigint): FrameInput {
    const addr = Number(address);
    const m = this.mappingOf(pid, addr);
    if (!m) return { kind: 'native', address };
    const elf = this.elfOf(pid, m);
    const fileOffset = addr - m.start + m.offset;
    const mapping = this.mappingInput(pid, m, elf);
    const vaddr = elf?.vaddrOfOffset(fileOffset);
    const sym = vaddr === undefined ? undefined : elf!.symbolAt(vaddr - 1);
    return {
      kind: 'native',
      address,
      rel_address: fileOffset,
      mapping,
      function: sym ? { name: demangle(sym.name), system_name: sym.name } : undefined,
      offset: sym && vaddr !== undefined ? vaddr - sym.addr : undefined,
    };
  }

  private mappingInput(pid: number, m: MapEntry, elf: ElfFile | undefined): MappingInput {
    const key = `${pid}:${m.start}:${m.path}`;
    let mi = this.mappingInputs.get(key);
    if (!mi) {
      mi = { pid, path: m.path, build_id: elf?.buildId ?? null, start_addr: m.start, end_addr: m.end, file_offset: m.offset };
      this.mappingInputs.set(key, mi);
    }
    return mi;
  }
}

function stackKey(pid: number, addresses: readonly bigint[]): string {
  return `${pid}:${addresses.join(',')}`;
}

function find(maps: MapEntry[] | undefined, addr: number): MapEntry | undefined {
  if (!maps) return undefined;
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (addr < maps[mid].start) hi = mid - 1;
    else if (addr >= maps[mid].end) lo = mid + 1;
    else return maps[mid];
  }
  return undefined;
}
