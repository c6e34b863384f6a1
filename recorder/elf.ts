// A small ELF64 little-endian reader: function symbols (.symtab, else .dynsym), the GNU
// build-id and the loadable segments, read with positional reads so that large libraries
// (libcuda is tens of MB) are never loaded whole.
import { closeSync, openSync, readSync } from 'node:fs';

export interface ElfSymbol {
  name: string;
  /** Virtual address in the file's own address space. */
  addr: number;
  size: number;
}

export interface ElfSegment {
  vaddr: number;
  offset: number;
  filesz: number;
  executable: boolean;
}

export class ElfError extends Error {}

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const PT_LOAD = 1;
const PT_INTERP = 3;
const PF_X = 1;
const NT_GNU_BUILD_ID = 3;

interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export class ElfFile {
  /** Function symbols sorted by address. */
  readonly symbols: readonly ElfSymbol[];
  readonly segments: readonly ElfSegment[];
  readonly buildId: string | undefined;
  /** Has a program interpreter (PT_INTERP): dynamically linked, started by ld.so. */
  readonly dynamic: boolean;
  private readonly byName = new Map<string, ElfSymbol>();

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    const eh = this.read(0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`${path} is not an ELF file`);
    if (eh[4] !== 2 || eh[5] !== 1) throw new ElfError(`${path} is not a little-endian ELF64 file`);
    const sections = this.readSections(eh);
    this.segments = this.readSegments(eh);
    this.dynamic = this.hasInterpreter(eh);
    this.buildId = this.readBuildId(sections);
    const symtab = sections.find((s) => s.type === SHT_SYMTAB) ?? sections.find((s) => s.type === SHT_DYNSYM);
    const syms = symtab ? this.readSymbols(symtab, sections) : [];
    syms.sort((a, b) => a.addr - b.addr || b.size - a.size);
    this.symbols = syms;
    // .symtab can lack exported names that .dynsym has (rare), so index both for lookups.
    for (const s of syms) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
    if (dynsym && dynsym !== symtab) for (const s of this.readSymbols(dynsym, sections)) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
  }

  static open(path: string): ElfFile {
    const fd = openSync(path, 'r');
    try {
      return new ElfFile(path, fd);
    } finally {
      closeSync(fd);
    }
  }

  private read(offset: number, length: number): Buffer {
    const b = Buffer.alloc(length);
    const n = readSync(this.fd, b, 0, length, offset);
    if (n !== length) throw new ElfError(`${this.path}: truncated at ${offset}+${length}`);
    return b;
  }

  private readSections(eh: Buffer): Section[] {
    const shoff = Number(eh.readBigUInt64LE(0x28));
    const shentsize = eh.readUInt16LE(0x3a);
    const shnum = eh.readUInt16LE(0x3c);
    const shstrndx = eh.readUInt16LE(0x3e);
    if (shoff === 0 || shnum === 0) return [];
    const table = this.read(shoff, shentsize * shnum);
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      raw.push({
        nameOff: table.readUInt32LE(o),
        type: table.readUInt32LE(o + 4),
        offset: Number(table.readBigUInt64LE(o + 0x18)),
        size: Number(table.readBigUInt64LE(o + 0x20)),
        link: table.readUInt32LE(o + 0x28),
        entsize: Number(table.readBigUInt64LE(o + 0x38)),
      });
    }
    const names = this.read(raw[shstrndx].offset, raw[shstrndx].size);
    return raw.map((s) => ({ ...s, name: cString(names, s.nameOff) }));
  }

  private readSegments(eh: Buffer): ElfSegment[] {
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const table = this.read(phoff, phentsize * phnum);
    const out: ElfSegment[] = [];
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (table.readUInt32LE(o) !== PT_LOAD) continue;
      out.push({
        executable: (table.readUInt32LE(o + 4) & PF_X) !== 0,
        offset: Number(table.readBigUInt64LE(o + 8)),
        vaddr: Number(table.readBigUInt64LE(o + 0x10)),
        filesz: Number(table.readBigUInt64LE(o + 0x20)),
      });
    }
    return out;
  }

  private hasInterpreter(eh: Buffer): boolean {
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const phentsize = eh.readUInt16LE(0x36);
    const table = this.read(phoff, phentsize * eh.readUInt16LE(0x38));
    for (let o = 0; o < table.length; o += phentsize) if (table.readUInt32LE(o) === PT_INTERP) return true;
    return false;
  }

  private readBuildId(sections: Section[]): string | undefined {
    for (const s of sections) {
      if (s.type !== SHT_NOTE) continue;
      const notes = this.read(s.offset, s.size);
      for (let o = 0; o + 12 <= notes.length; ) {
        const namesz = notes.readUInt32LE(o);
        const descsz = notes.readUInt32LE(o + 4);
        const type = notes.readUInt32LE(o + 8);
        const nameAt = o + 12;
        const descAt = nameAt + align4(namesz);
        if (type === NT_GNU_BUILD_ID && notes.toString('latin1', nameAt, nameAt + 3) === 'GNU') {
          return notes.subarray(descAt, descAt + descsz).toString('hex');
        }
        o = descAt + align4(descsz);
      }
    }
    return undefined;
  }

  private readSymbols(tab: Section, sections: Section[]): ElfSymbol[] {
    const strtab = sections[tab.link];
    const strings = this.read(strtab.offset, strtab.size);
    const data = this.read(tab.offset, tab.size);
    const entsize = tab.entsize || 24;
    const out: ElfSymbol[] = [];
    for (let o = 0; o + entsize <= data.length; o += entsize) {
      const type = data[o + 4] & 0xf;
      const shndx = data.readUInt16LE(o + 6);
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === 0) continue;
      const addr = Number(data.readBigUInt64LE(o + 8));
      if (addr === 0) continue;
      out.push({ name: cString(strings, data.readUInt32LE(o)), addr, size: Number(data.readBigUInt64LE(o + 16)) });
    }
    return out;
  }

  symbol(name: string): ElfSymbol | undefined {
    return this.byName.get(name);
  }

  /** The function containing a virtual address, or undefined. */
  symbolAt(addr: number): ElfSymbol | undefined {
    const syms = this.symbols;
    let lo = 0;
    let hi = syms.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (syms[mid].addr <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    const s = syms[best];
    // Sized symbols must contain the address; unsized ones (hand-written assembly) are taken
    // to run up to the next symbol.
    if (s.size > 0 ? addr < s.addr + s.size : best + 1 < syms.length && addr < syms[best + 1].addr) return s;
    return undefined;
  }

  /** Virtual address of a file offset, through the loadable segment that maps it. */
  vaddrOfOffset(offset: number): number | undefined {
    const seg = this.segments.find((s) => offset >= s.offset && offset < s.offset + s.filesz);
    return seg ? offset - seg.offset + seg.vaddr : undefined;
  }

  /** File offset of a virtual address. */
  offsetOfVaddr(vaddr: number): number | undefined {
    const seg = this.segments.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    return seg ? vaddr - seg.vaddr + seg.offset : undefined;
  }

  /** Bytes of the file at a virtual address (for reading function prologues). */
  bytesAt(vaddr: number, length: number): Buffer | undefined {
    const off = this.offsetOfVaddr(vaddr);
    if (off === undefined) return undefined;
    const fd = openSync(this.path, 'r');
    try {
      const b = Buffer.alloc(length);
      return b.subarray(0, readSync(fd, b, 0, length, off));
    } finally {
      closeSync(fd);
    }
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cString(b: Buffer, at: number): string {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 ? b.length : end);
}
