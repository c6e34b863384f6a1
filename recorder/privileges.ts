// Whether this process may load BPF programs and attach uprobes (platform.md §9): root, or
// CAP_BPF + CAP_PERFMON for loading and tracepoints plus CAP_SYS_ADMIN for uprobes.
import { readFileSync } from 'node:fs';

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

export interface Privileges {
  root: boolean;
  capabilities: { bpf: boolean; perfmon: boolean; sysAdmin: boolean };
  /** Enough for everything the recorder does. */
  sufficient: boolean;
}

export function effectiveCapabilities(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function privileges(): Privileges {
  const caps = effectiveCapabilities();
  const has = (bit: number) => (caps & (1n << BigInt(bit))) !== 0n;
  const capabilities = { bpf: has(CAP_BPF), perfmon: has(CAP_PERFMON), sysAdmin: has(CAP_SYS_ADMIN) };
  const root = process.getuid?.() === 0;
  return { root, capabilities, sufficient: (root && capabilities.sysAdmin) || (capabilities.bpf && capabilities.perfmon && capabilities.sysAdmin) };
}

export const PRIVILEGE_FIX = 'ingero record needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN (uprobes need CAP_SYS_ADMIN): run it with sudo';
