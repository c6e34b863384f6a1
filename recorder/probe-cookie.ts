// The bpf_cookie given to each CUDA uprobe: tells the generic BPF program which op it traces,
// which counter slot it uses, where each argument lives and whether to take a user stack.
// Same layout as bpf/cookie.h:
//   bits 0..15 op id, 16..23 slot, 24..55 one byte per argument source, 56 stack.

/** Where an argument is read, in the System V x86-64 calling convention. */
export const ArgSource = {
  none: 0x00,
  /** n = 1..6: rdi, rsi, rdx, rcx, r8, r9. */
  reg: (n: number): number => {
    if (n < 1 || n > 6) throw new RangeError(`register argument ${n} out of 1..6`);
    return n;
  },
  /** k = 1..4: the k-th argument passed on the stack. */
  stack: (k: number): number => {
    if (k < 1 || k > 4) throw new RangeError(`stack argument ${k} out of 1..4`);
    return 0x10 + k;
  },
  /** Constant 4 (cudaMemcpyDefault): the API infers the direction from the pointers. */
  kindDefault: 0x20,
  /** r8 * r9: the bytes of a 2D copy (width * height). */
  r5TimesR6: 0x21,
  runtimeGrid: 0x30,
  runtimeBlock: 0x31,
  driverGrid: 0x32,
  driverBlock: 0x33,
  /** cudaLaunchKernelExC: gridDim, blockDim and stream of the cudaLaunchConfig_t that rdi points to. */
  configGrid: 0x34,
  configBlock: 0x35,
  configStream: 0x36,
  /** The u64 that register n points to, read when the call returns (an out-parameter). */
  outPtr: (n: number): number => {
    if (n < 1 || n > 6) throw new RangeError(`register argument ${n} out of 1..6`);
    return 0x40 + n;
  },
} as const;

export interface CookieFields {
  opId: number;
  slot: number;
  /** Up to four argument sources (ArgSource), arg0 first. */
  args: readonly number[];
  stack: boolean;
}

export function encodeCookie(f: CookieFields): bigint {
  if (f.opId < 0 || f.opId > 0xffff) throw new RangeError(`op id ${f.opId} does not fit 16 bits`);
  if (f.slot < 0 || f.slot > 0xfe) throw new RangeError(`slot ${f.slot} out of 0..254`);
  if (f.args.length > 4) throw new RangeError('at most four arguments');
  let c = BigInt(f.opId) | (BigInt(f.slot) << 16n);
  f.args.forEach((src, i) => {
    c |= BigInt(src & 0xff) << BigInt(24 + 8 * i);
  });
  if (f.stack) c |= 1n << 56n;
  return c;
}

export function decodeCookie(c: bigint): CookieFields {
  const args: number[] = [];
  for (let i = 0; i < 4; i++) args.push(Number((c >> BigInt(24 + 8 * i)) & 0xffn));
  while (args.length && args[args.length - 1] === ArgSource.none) args.pop();
  return { opId: Number(c & 0xffffn), slot: Number((c >> 16n) & 0xffn), args, stack: ((c >> 56n) & 1n) === 1n };
}
