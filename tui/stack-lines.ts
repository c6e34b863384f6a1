// How one stack frame reads on screen: the symbol (+offset), then where it is (file:line, else
// the module), then its kind when not native. Unresolved frames show their raw address.
import { basename } from 'node:path';
import type { ResolvedFrame } from '../format/index.ts';

export function frameLine(f: ResolvedFrame): string {
  const name = f.function ? `${f.function}${f.offset ? `+0x${f.offset.toString(16)}` : ''}` : f.address !== null ? `0x${BigInt.asUintN(64, f.address).toString(16)}` : '??';
  const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : f.module ? basename(f.module) : '';
  return `${name}${where ? `  ${where}` : ''}${f.kind === 'native' ? '' : ` [${f.kind}]`}`;
}
