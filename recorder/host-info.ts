// Facts about the machine recorded into the bundle's metadata.
import { readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface HostInfo {
  hostname: string;
  kernel: string;
  os: string;
  cpu_model: string;
  cpu_cores: number;
  mem_bytes: number;
}

export function hostInfo(): HostInfo {
  const release = readOr('/etc/os-release') ?? '';
  return {
    hostname: os.hostname(),
    kernel: os.release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? os.type(),
    cpu_model: os.cpus()[0]?.model ?? '',
    cpu_cores: os.cpus().length,
    mem_bytes: os.totalmem(),
  };
}

/** The NVIDIA kernel driver version, when the driver is loaded. */
export function nvidiaDriverVersion(): string | undefined {
  const text = readOr('/proc/driver/nvidia/version');
  return text ? /Kernel Module\s+(?:for\s+\S+\s+)?([0-9][0-9.]*)/.exec(text)?.[1] : undefined;
}

/** A library's version from its real file name: libcudart.so.12.4.127 gives 12.4.127. */
export function libraryVersion(path: string): string | undefined {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // keep the given name
  }
  return /\.so\.([0-9][0-9.]*)$/.exec(real)?.[1];
}
