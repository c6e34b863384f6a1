// Turns found CUDA libraries into uprobe attachments: which functions each file exports, where
// to put the probe, and one counter slot per op. Where the probe goes matters (platform.md §8):
// x86 emulates a `push` under a uprobe (~0.5 µs) but single-steps most other first
// instructions out of line (~15 µs). CET-enabled libraries begin every function with endbr64,
// so when the instruction after it is a push the probe goes there, at +4.
import { statSync } from 'node:fs';
import { opId } from '../format/catalog.ts';
import { CUDA_PROBES, type CudaProbe } from './cuda-probes.ts';
import type { FoundLibrary } from './cuda-libraries.ts';
import { ElfFile } from './elf.ts';
import { encodeCookie } from './probe-cookie.ts';

export type Prologue = 'push' | 'endbr64+push' | 'single-stepped';

export interface PlannedProbe {
  probe: CudaProbe;
  /** Counter slot in the CUDA object's probe_stats (one per op). */
  slot: number;
  library: FoundLibrary;
  buildId: string | undefined;
  offset: number;
  /** File offset of the probed instruction (the symbol's, plus offset). */
  fileOffset: number;
  prologue: Prologue;
  cookie: bigint;
}

const ENDBR64 = [0xf3, 0x0f, 0x1e, 0xfa];

function isPush(b: Buffer, at: number): boolean {
  const op = b[at];
  if (op >= 0x50 && op <= 0x57) return true; // push %rax..%rdi
  return op === 0x41 && b[at + 1] >= 0x50 && b[at + 1] <= 0x57; // push %r8..%r15
}

/** Where to attach in a function given its first bytes. */
export function probePlacement(prologue: Buffer): { offset: number; prologue: Prologue } {
  if (isPush(prologue, 0)) return { offset: 0, prologue: 'push' };
  if (ENDBR64.every((x, i) => prologue[i] === x) && isPush(prologue, 4)) return { offset: 4, prologue: 'endbr64+push' };
  return { offset: 0, prologue: 'single-stepped' };
}

export class ProbePlanner {
  private readonly files = new Set<string>();
  private readonly slots = new Map<string, number>();

  constructor(private readonly stacks: boolean) {}

  /** Probes for a library file; empty when that file (by device and inode) is already planned. */
  plan(lib: FoundLibrary): PlannedProbe[] {
    const st = statSync(lib.path);
    const key = `${st.dev}:${st.ino}`;
    if (this.files.has(key)) return [];
    this.files.add(key);
    const elf = ElfFile.open(lib.path);
    const out: PlannedProbe[] = [];
    for (const probe of CUDA_PROBES) {
      if (probe.library !== lib.library) continue;
      const sym = elf.symbol(probe.symbol);
      const symOffset = sym && elf.offsetOfVaddr(sym.addr);
      if (!sym || symOffset === undefined) continue;
      const place = probePlacement(elf.bytesAt(sym.addr, 8) ?? Buffer.alloc(0));
      let slot = this.slots.get(probe.op);
      if (slot === undefined) {
        slot = this.slots.size;
        this.slots.set(probe.op, slot);
      }
      const cookie = encodeCookie({ opId: opId(probe.op), slot, args: probe.args, stack: this.stacks });
      out.push({ probe, slot, library: lib, buildId: elf.buildId, ...place, fileOffset: symOffset + place.offset, cookie });
    }
    return out;
  }
}
