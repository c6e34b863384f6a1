// Reading the container: header and manifest from the front, the seek table from the back, and
// the data frames in between, each checked (zstd content checksum, declared size) as it streams.
// parallel-inflate.ts spreads the frames over worker threads for large bundles.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { decodeHeader, decodeSeekTable, DEFAULT_MAX_DATABASE_BYTES, HEADER_FIXED_BYTES, MAX_MANIFEST_BYTES, type HeaderInfo, type SeekTable } from './container.ts';
import { BundleError, ioError } from './errors.ts';
import { inflateFrame, newContext } from './inflate-frame.mjs';
import { parseManifest, type Manifest } from './manifest.ts';

export interface ContainerInfo {
  readonly path: string;
  /** Name used in messages (the path as given). */
  readonly name: string;
  readonly fileBytes: number;
  readonly header: HeaderInfo;
  readonly manifest: Manifest;
  readonly seek: SeekTable;
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const n = readSync(fd, buf, off, length - off, position + off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

export function openFile(path: string): number {
  try {
    const fd = openSync(path, 'r');
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      // A folder of bundles is what the fleet commands read: say so rather than only refuse.
      throw new BundleError('USAGE', `${path}: is a directory, not a bundle file — name a .ingero file in it (stats --dir, query and mcp --dir read a directory of bundles)`);
    }
    return fd;
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw ioError(path, err, 'opening the bundle');
  }
}

export interface ContainerLimits {
  /** Largest database a reader decompresses; default $INGERO_MAX_DATABASE_BYTES, else 32 GiB. */
  readonly maxDatabaseBytes?: number;
}

function maxDatabaseBytes(limits: ContainerLimits): number {
  if (limits.maxDatabaseBytes !== undefined) return limits.maxDatabaseBytes;
  const env = Number(process.env.INGERO_MAX_DATABASE_BYTES);
  return process.env.INGERO_MAX_DATABASE_BYTES && Number.isSafeInteger(env) && env > 0 ? env : DEFAULT_MAX_DATABASE_BYTES;
}

/** Reads header, manifest and seek table; decompresses nothing. */
export function readContainer(path: string, limits: ContainerLimits = {}): ContainerInfo {
  const fd = openFile(path);
  try {
    return readContainerFd(path, fd, limits);
  } finally {
    closeSync(fd);
  }
}

export function readContainerFd(path: string, fd: number, limits: ContainerLimits = {}): ContainerInfo {
  const name = path;
  const fileBytes = fstatSync(fd).size;
  let head = readAt(fd, Math.min(fileBytes, 64 * 1024), 0);
  if (head.length >= 8 + HEADER_FIXED_BYTES) {
    const want = 8 + head.readUInt32LE(4);
    if (want > head.length && want <= 8 + HEADER_FIXED_BYTES + MAX_MANIFEST_BYTES) head = readAt(fd, Math.min(want, fileBytes), 0);
  }
  const header = decodeHeader(name, head, fileBytes);
  const manifest = parseManifest(name, header.manifestJson);
  const maxBytes = maxDatabaseBytes(limits);
  if (manifest.database.bytes > maxBytes) {
    throw new BundleError('HOSTILE', `${name}: the database inside would decompress to ${manifest.database.bytes} bytes, above the limit of ${maxBytes} — if the recording really is that large, set INGERO_MAX_DATABASE_BYTES=${manifest.database.bytes} and run again`);
  }
  const footer = readAt(fd, Math.min(9, fileBytes - header.frameBytes), Math.max(header.frameBytes, fileBytes - 9));
  let tailBytes = 9;
  if (footer.length === 9) tailBytes = Math.min(fileBytes - header.frameBytes, 8 + footer.readUInt32LE(0) * 12 + 9);
  const tail = readAt(fd, tailBytes, fileBytes - tailBytes);
  const seek = decodeSeekTable(name, tail, fileBytes, header.frameBytes);
  const contentTotal = seek.entries.reduce((s, e) => s + e.contentBytes, 0);
  if (contentTotal !== manifest.database.bytes) {
    throw new BundleError('CORRUPT', `${name}: seek table holds ${contentTotal} bytes of database but the manifest says ${manifest.database.bytes} — the file is damaged`);
  }
  return { path, name, fileBytes, header, manifest, seek };
}

/** Where each data frame lies in the file and in the database. */
export interface FramePlan {
  readonly fileOffset: number;
  readonly compressedBytes: number;
  readonly contentOffset: number;
  readonly contentBytes: number;
}

export function framePlan(info: ContainerInfo): FramePlan[] {
  let fileOffset = info.header.frameBytes;
  let contentOffset = 0;
  return info.seek.entries.map((e) => {
    const f = { fileOffset, compressedBytes: e.compressedBytes, contentOffset, contentBytes: e.contentBytes };
    fileOffset += e.compressedBytes;
    contentOffset += e.contentBytes;
    return f;
  });
}

export type FrameProblemKind = 'checksum' | 'corrupt' | 'truncated';

/** The one-line error for a damaged data frame. */
export function frameError(info: ContainerInfo, frame: number, kind: FrameProblemKind, why: string): BundleError {
  const f = framePlan(info)[frame]!;
  if (kind === 'truncated') return new BundleError('TRUNCATED', `${info.name}: truncated at byte ${why} — the copy was cut short; copy it again`);
  return new BundleError(kind === 'checksum' ? 'CHECKSUM' : 'CORRUPT', `${info.name}: data frame ${frame + 1} of ${info.seek.entries.length} (byte ${f.fileOffset}) is damaged (${why}) — get a fresh copy of the bundle`);
}

export function checkDigest(info: ContainerInfo, digest: string): void {
  if (digest !== info.manifest.database.sha256) {
    throw new BundleError('CHECKSUM', `${info.name}: database checksum mismatch (manifest ${info.manifest.database.sha256.slice(0, 12)}…, content ${digest.slice(0, 12)}…) — the manifest or the data was altered; get a fresh copy`);
  }
}

/**
 * Decompresses every data frame in order on this thread, checking each (see inflate-frame.mjs),
 * writes the database to outFd when given, and checks it against the manifest's SHA-256.
 * Memory stays bounded by one frame.
 */
export function inflateSequential(info: ContainerInfo, outFd: number | null): void {
  const fd = openFile(info.path);
  const dctx = newContext();
  const hash = createHash('sha256');
  try {
    framePlan(info).forEach((f, i) => {
      const compressed = readAt(fd, f.compressedBytes, f.fileOffset);
      if (compressed.length !== f.compressedBytes) throw frameError(info, i, 'truncated', String(f.fileOffset + compressed.length));
      const content = Buffer.allocUnsafe(f.contentBytes);
      const problem = inflateFrame(dctx, compressed, content);
      if (problem) throw frameError(info, i, problem[0], problem[1]);
      hash.update(content);
      if (outFd !== null) {
        let off = 0;
        while (off < content.length) off += writeSync(outFd, content, off, content.length - off, f.contentOffset + off);
      }
    });
  } finally {
    closeSync(fd);
  }
  checkDigest(info, hash.digest('hex'));
}
