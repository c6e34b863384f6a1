// Binding to the system's libbpf.so.1 (1.1 or later) through koffi: only the calls the recorder
// needs. libbpf 1.x conventions: functions returning pointers give NULL and set errno;
// functions returning int give -errno.
import koffi from 'koffi';
import { libc } from './libc.ts';

export type Ptr = unknown;

export class LibbpfError extends Error {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = 'LibbpfError';
  }
}

const uprobeOpts = koffi.struct('bpf_uprobe_opts', {
  sz: 'size_t',
  ref_ctr_offset: 'size_t',
  bpf_cookie: 'uint64_t',
  retprobe: 'bool',
  func_name: 'const char *',
});

// bpf(BPF_LINK_CREATE) for a uprobe_multi link (kernel 6.6+), called directly: libbpf 1.1 has no
// bpf_program__attach_uprobe_multi. The first 64 bytes of union bpf_attr's link_create.
const linkCreateUprobeMulti = koffi.struct('ingero_link_create_uprobe_multi', {
  prog_fd: 'uint32_t',
  target_fd: 'uint32_t',
  attach_type: 'uint32_t',
  flags: 'uint32_t',
  path: 'const char *',
  offsets: 'uint64_t *',
  ref_ctr_offsets: 'uint64_t *',
  cookies: 'uint64_t *',
  cnt: 'uint32_t',
  multi_flags: 'uint32_t',
  pid: 'uint32_t',
  pad: 'uint32_t',
});
const SYS_BPF = 321; // x86-64
const SYS_PERF_EVENT_OPEN = 298; // x86-64
const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_CPU_CLOCK = 0;
/** perf_event_attr.flags bit: sample_freq holds a frequency, not a period. */
const PERF_ATTR_FREQ = 1n << 10n;
/** sizeof(struct perf_event_attr) up to sig_data (PERF_ATTR_SIZE_VER7). */
const PERF_ATTR_SIZE = 128;
const PERF_FLAG_FD_CLOEXEC = 8;
const ENODEV = 19;
const BPF_LINK_CREATE = 28;
/** enum bpf_attach_type: the expected attach type of programs used with uprobe_multi links. */
export const BPF_TRACE_UPROBE_MULTI = 48;
const BPF_F_UPROBE_MULTI_RETURN = 1;

const printFn = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *ap)');

function bind() {
  const lib = koffi.load('libbpf.so.1');
  const libc = koffi.load('libc.so.6');
  return {
    version: lib.func('const char *libbpf_version_string(void)'),
    strerror: lib.func('int libbpf_strerror(int err, _Out_ char *buf, size_t size)'),
    setPrint: lib.func('void *libbpf_set_print(libbpf_print_fn *fn)'),
    numPossibleCpus: lib.func('int libbpf_num_possible_cpus(void)'),
    openFile: lib.func('void *bpf_object__open_file(const char *path, void *opts)'),
    load: lib.func('int bpf_object__load(void *obj)'),
    close: lib.func('void bpf_object__close(void *obj)'),
    objectBtf: lib.func('void *bpf_object__btf(void *obj)'),
    findMap: lib.func('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
    findProgram: lib.func('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
    setAutoload: lib.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    attach: lib.func('void *bpf_program__attach(void *prog)'),
    attachPerfEvent: lib.func('void *bpf_program__attach_perf_event(void *prog, int pfd)'),
    attachUprobe: lib.func(
      'void *bpf_program__attach_uprobe_opts(void *prog, int pid, const char *path, size_t offset, const bpf_uprobe_opts *opts)',
    ),
    destroyLink: lib.func('int bpf_link__destroy(void *link)'),
    programFd: lib.func('int bpf_program__fd(void *prog)'),
    setExpectedAttachType: lib.func('int bpf_program__set_expected_attach_type(void *prog, int type)'),
    mapFd: lib.func('int bpf_map__fd(void *map)'),
    setMaxEntries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t n)'),
    reuseFd: lib.func('int bpf_map__reuse_fd(void *map, int fd)'),
    initialValue: lib.func('void *bpf_map__initial_value(void *map, _Out_ size_t *size)'),
    lookupElem: lib.func(
      'int bpf_map__lookup_elem(void *map, const void *key, size_t key_sz, _Out_ void *value, size_t value_sz, uint64_t flags)',
    ),
    updateElem: lib.func(
      'int bpf_map__update_elem(void *map, const void *key, size_t key_sz, const void *value, size_t value_sz, uint64_t flags)',
    ),
    btfFindByNameKind: lib.func('int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)'),
    btfTypeById: lib.func('void *btf__type_by_id(void *btf, uint32_t id)'),
    btfNameByOffset: lib.func('const char *btf__name_by_offset(void *btf, uint32_t off)'),
    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t n, const char *fmt, void *ap)'),
  };
}

let api: ReturnType<typeof bind> | undefined;

/** The bound library; throws when libbpf.so.1 cannot be loaded. */
export function libbpf(): ReturnType<typeof bind> {
  if (!api) {
    try {
      api = bind();
    } catch (e) {
      throw new LibbpfError(
        `cannot load libbpf.so.1 (${(e as Error).message}): install it (Debian/Ubuntu: apt-get install libbpf1)`,
        0,
      );
    }
    installLogger(api);
  }
  return api;
}

// libbpf prints warnings (verifier logs, failed relocations) through a callback; keep the most
// recent ones so that an error can say what libbpf said instead of a bare errno.
const recentLog: string[] = [];
let printCallback: unknown;

function installLogger(b: ReturnType<typeof bind>): void {
  const buf = Buffer.alloc(8192);
  printCallback = koffi.register((level: number, fmt: string, ap: Ptr) => {
    const n = b.vsnprintf(buf, buf.length, fmt, ap);
    const text = buf.subarray(0, Math.min(Math.max(n, 0), buf.length - 1)).toString('utf8');
    // level 0 = warning, 1 = info, 2 = debug; debug output is far too chatty to keep.
    if (level <= 1) {
      recentLog.push(text.trimEnd());
      if (recentLog.length > 200) recentLog.splice(0, recentLog.length - 200);
    }
    return 0;
  }, koffi.pointer(printFn));
  b.setPrint(printCallback as never);
}

/** libbpf's log lines since the last call, for error messages. */
export function takeLibbpfLog(): string[] {
  return recentLog.splice(0, recentLog.length);
}

export function strerror(err: number): string {
  const buf = Buffer.alloc(256);
  libbpf().strerror(Math.abs(err), buf, buf.length);
  return buf.toString('utf8', 0, buf.indexOf(0));
}

function fail(what: string, err: number): never {
  const log = takeLibbpfLog().filter((l) => l.length > 0);
  const detail = log.length ? `\n${log.slice(-20).join('\n')}` : '';
  throw new LibbpfError(`${what}: ${strerror(err)}${detail}`, Math.abs(err));
}

function checkInt(what: string, rc: number): number {
  if (rc < 0) fail(what, rc);
  return rc;
}

function checkPtr(what: string, p: Ptr): Ptr {
  if (p === null || p === undefined) fail(what, koffi.errno());
  return p;
}

export interface UprobeTarget {
  /** Library or executable containing the function. */
  path: string;
  symbol: string;
  /** Bytes past the symbol's start (to step over endbr64, see probe-plan.ts). */
  offset: number;
  retprobe: boolean;
  cookie: bigint;
}

export interface UprobeMultiTarget {
  /** Library or executable containing the functions. */
  path: string;
  /** File offsets of the probed instructions (not virtual addresses). */
  offsets: readonly number[];
  /** One bpf_cookie per offset. */
  cookies: readonly bigint[];
  retprobe: boolean;
}

/** An attached program: a libbpf bpf_link, or the fd of a link made by a raw bpf() call. */
type Link = { libbpf: Ptr } | { fd: number };

/** An opened BPF object file, configured before load() and attached after it. */
export class BpfObject {
  private readonly links: Link[] = [];
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly obj: Ptr,
  ) {}

  static open(path: string): BpfObject {
    return new BpfObject(path, checkPtr(`cannot open BPF object ${path}`, libbpf().openFile(path, null)));
  }

  private map(name: string): Ptr {
    return checkPtr(`map ${name} not found in ${this.path}`, libbpf().findMap(this.obj, name));
  }

  private program(name: string): Ptr {
    return checkPtr(`program ${name} not found in ${this.path}`, libbpf().findProgram(this.obj, name));
  }

  /** Sets `const volatile` globals in .rodata before load; unknown names are an error. */
  setReadOnlyGlobals(values: Record<string, bigint | number | boolean>): void {
    const b = libbpf();
    const map = this.map('.rodata');
    const size = [0];
    const data = checkPtr('no .rodata initial value', b.initialValue(map, size));
    const view = new DataView(koffi.view(data as never, size[0]));
    const vars = rodataVariables(this.obj);
    for (const [name, value] of Object.entries(values)) {
      const v = vars.get(name);
      if (!v) throw new Error(`${this.path} has no .rodata variable ${name}`);
      const n = typeof value === 'boolean' ? BigInt(value ? 1 : 0) : BigInt(value);
      if (v.size === 8) view.setBigUint64(v.offset, n, true);
      else if (v.size === 4) view.setUint32(v.offset, Number(n), true);
      else if (v.size === 1) view.setUint8(v.offset, Number(n));
      else throw new Error(`unsupported .rodata variable size ${v.size} for ${name}`);
    }
  }

  setMaxEntries(mapName: string, n: number): void {
    checkInt(`cannot size map ${mapName}`, libbpf().setMaxEntries(this.map(mapName), n));
  }

  /** Makes this object use another object's map instead of creating its own. */
  reuseMap(mapName: string, fd: number): void {
    checkInt(`cannot reuse map ${mapName}`, libbpf().reuseFd(this.map(mapName), fd));
  }

  setAutoload(programName: string, on: boolean): void {
    checkInt(`cannot set autoload of ${programName}`, libbpf().setAutoload(this.program(programName), on));
  }

  /** For attach types libbpf 1.1 has no section name for (BPF_TRACE_UPROBE_MULTI). */
  setExpectedAttachType(programName: string, type: number): void {
    checkInt(`cannot set the attach type of ${programName}`, libbpf().setExpectedAttachType(this.program(programName), type));
  }

  load(): void {
    takeLibbpfLog();
    checkInt(`cannot load ${this.path}`, libbpf().load(this.obj));
  }

  mapFd(mapName: string): number {
    return checkInt(`no fd for map ${mapName}`, libbpf().mapFd(this.map(mapName)));
  }

  /** Attaches a program whose section names its attach point (tp_btf/...). */
  attach(programName: string): void {
    this.links.push({ libbpf: checkPtr(`cannot attach ${programName}`, libbpf().attach(this.program(programName))) });
  }

  /**
   * Attaches a perf_event program to a CPU-clock sampling event at `hz` on each CPU (all tasks
   * there; the program filters). CPUs that are not online are skipped. Returns the CPUs covered.
   */
  attachCpuClock(programName: string, hz: number, cpus: number): number {
    const attr = Buffer.alloc(PERF_ATTR_SIZE);
    attr.writeUInt32LE(PERF_TYPE_SOFTWARE, 0);
    attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
    attr.writeBigUInt64LE(BigInt(PERF_COUNT_SW_CPU_CLOCK), 8);
    attr.writeBigUInt64LE(BigInt(hz), 16);
    attr.writeBigUInt64LE(PERF_ATTR_FREQ, 40);
    let covered = 0;
    for (let cpu = 0; cpu < cpus; cpu++) {
      const fd = Number(libc().syscall(SYS_PERF_EVENT_OPEN, 'void *', attr, 'int', -1, 'int', cpu, 'int', -1, 'ulong', PERF_FLAG_FD_CLOEXEC));
      if (fd < 0) {
        const err = koffi.errno();
        if (err === ENODEV) continue; // an offline CPU
        throw new LibbpfError(`cannot open a CPU-clock perf event on CPU ${cpu} at ${hz} Hz: ${strerror(err)}`, err);
      }
      const link = libbpf().attachPerfEvent(this.program(programName), fd);
      if (!link) {
        const err = koffi.errno();
        libc().close(fd);
        throw new LibbpfError(`cannot attach ${programName} to the perf event of CPU ${cpu}: ${strerror(err)}`, err);
      }
      this.links.push({ libbpf: link }); // destroying the link closes the perf event
      covered++;
    }
    return covered;
  }

  /** Attaches a uprobe or uretprobe to a function of a file, in every process (pid -1). */
  attachUprobe(programName: string, t: UprobeTarget): void {
    const opts = { sz: koffi.sizeof(uprobeOpts), ref_ctr_offset: 0, bpf_cookie: t.cookie, retprobe: t.retprobe, func_name: t.symbol };
    const what = `cannot attach ${t.retprobe ? 'uretprobe' : 'uprobe'} to ${t.symbol}+${t.offset} in ${t.path}`;
    this.links.push({ libbpf: checkPtr(what, libbpf().attachUprobe(this.program(programName), -1, t.path, t.offset, opts)) });
  }

  /**
   * Attaches a program loaded with BPF_TRACE_UPROBE_MULTI to several functions of one file,
   * in every process, with one link. Throws a LibbpfError carrying the errno on failure
   * (EINVAL or EOPNOTSUPP before kernel 6.6).
   */
  attachUprobeMulti(programName: string, t: UprobeMultiTarget): void {
    const progFd = checkInt(`no fd for program ${programName}`, libbpf().programFd(this.program(programName)));
    const attr = {
      prog_fd: progFd,
      target_fd: 0,
      attach_type: BPF_TRACE_UPROBE_MULTI,
      flags: 0,
      path: t.path,
      offsets: new BigUint64Array(t.offsets.map(BigInt)),
      ref_ctr_offsets: null,
      cookies: new BigUint64Array(t.cookies),
      cnt: t.offsets.length,
      multi_flags: t.retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0,
      pid: 0,
      pad: 0,
    };
    const fd = Number(libc().syscall(SYS_BPF, 'int', BPF_LINK_CREATE, 'ingero_link_create_uprobe_multi *', attr, 'uint', koffi.sizeof(linkCreateUprobeMulti)));
    if (fd < 0) {
      const err = koffi.errno();
      throw new LibbpfError(`cannot attach ${t.retprobe ? 'uretprobes' : 'uprobes'} to ${t.offsets.length} functions in ${t.path}: ${strerror(err)}`, err);
    }
    this.links.push({ fd });
  }

  lookup(mapName: string, key: Buffer, valueSize: number): Buffer | undefined {
    const value = Buffer.alloc(valueSize);
    const rc = libbpf().lookupElem(this.map(mapName), key, key.length, value, valueSize, 0);
    if (rc === -2) return undefined; // ENOENT
    checkInt(`lookup in ${mapName}`, rc);
    return value;
  }

  update(mapName: string, key: Buffer, value: Buffer): void {
    checkInt(`update of ${mapName}`, libbpf().updateElem(this.map(mapName), key, key.length, value, value.length, 0));
  }

  /** Detaches every probe; the maps stay readable until close(). */
  detach(): void {
    for (const l of this.links.splice(0)) {
      if ('fd' in l) libc().close(l.fd);
      else libbpf().destroyLink(l.libbpf);
    }
  }

  /**
   * Detaches every probe on koffi's worker threads, in parallel: a uprobe link's destruction
   * blocks for about an RCU grace period, and concurrent ones share their grace periods.
   */
  async detachInBackground(): Promise<void> {
    const calls = this.links.splice(0).map(
      (l) =>
        new Promise<void>((resolve) => {
          const done = () => resolve();
          if ('fd' in l) libc().close.async(l.fd, done);
          else libbpf().destroyLink.async(l.libbpf, done);
        }),
    );
    await Promise.all(calls);
  }

  close(): void {
    if (this.closed) return;
    this.detach();
    libbpf().close(this.obj);
    this.closed = true;
  }
}

const BTF_KIND_DATASEC = 15;

/** Offsets and sizes of the variables in an object's .rodata, read from its BTF. */
function rodataVariables(obj: Ptr): Map<string, { offset: number; size: number }> {
  const b = libbpf();
  const btf = checkPtr('BPF object has no BTF', b.objectBtf(obj));
  const id = checkInt('no .rodata section in BTF', b.btfFindByNameKind(btf, '.rodata', BTF_KIND_DATASEC));
  const t = b.btfTypeById(btf, id);
  // struct btf_type { u32 name_off, info, size } then vlen btf_var_secinfo { u32 type, offset, size }
  const head = new DataView(koffi.view(t as never, 12));
  const vlen = head.getUint32(4, true) & 0xffff;
  const secinfo = new DataView(koffi.view(t as never, 12 + vlen * 12));
  const out = new Map<string, { offset: number; size: number }>();
  for (let i = 0; i < vlen; i++) {
    const at = 12 + i * 12;
    const varType = b.btfTypeById(btf, secinfo.getUint32(at, true));
    const nameOff = new DataView(koffi.view(varType as never, 4)).getUint32(0, true);
    out.set(b.btfNameByOffset(btf, nameOff), { offset: secinfo.getUint32(at + 4, true), size: secinfo.getUint32(at + 8, true) });
  }
  return out;
}

export function libbpfVersion(): string {
  return libbpf().version();
}

export function possibleCpus(): number {
  return checkInt('cannot count possible CPUs', libbpf().numPossibleCpus());
}
