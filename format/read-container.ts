// Reading the container: header and manifest from the front, the seek table from the back, and
// the data frames in between, each checked (zstd content checksum, declared size) as it streams.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Decompressor } from 'zstd-napi';
import { decodeHeader, decodeSeekTable, HEADER_FIXED_BYTES, MAX_MANIFEST_BYTES, type HeaderInfo, type SeekTable } from './container.ts';
import { BundleError, ioError } from './errors.ts';
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
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    return fd;
  } catch (err) {
    throw ioError(path, err, 'opening the bundle');
  }
}

/** Reads header, manifest and seek table; decompresses nothing. */
export function readContainer(path: string): ContainerInfo {
  const fd = openFile(path);
  try {
    return readContainerFd(path, fd);
  } finally {
    closeSync(fd);
  }
}

export function readContainerFd(path: string, fd: number): ContainerInfo {
  const name = path;
  const fileBytes = fstatSync(fd).size;
  let head = readAt(fd, Math.min(fileBytes, 64 * 1024), 0);
  if (head.length >= 8 + HEADER_FIXED_BYTES) {
    const want = 8 + head.readUInt32LE(4);
    if (want > head.length && want <= 8 + HEADER_FIXED_BYTES + MAX_MANIFEST_BYTES) head = readAt(fd, Math.min(want, fileBytes), 0);
  }
  const header = decodeHeader(name, head, fileBytes);
  const manifest = parseManifest(name, header.manifestJson);
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

/**
 * Decompresses every data frame in order, handing each chunk to `sink`, and checks the whole
 * database against the manifest's SHA-256. Memory stays bounded by one frame.
 */
export function streamDatabase(info: ContainerInfo, sink: (chunk: Buffer) => void): void {
  const fd = openFile(info.path);
  const d = new Decompressor();
  const hash = createHash('sha256');
  try {
    let offset = info.header.frameBytes;
    info.seek.entries.forEach((entry, i) => {
      const compressed = readAt(fd, entry.compressedBytes, offset);
      if (compressed.length !== entry.compressedBytes) {
        throw new BundleError('TRUNCATED', `${info.name}: truncated at byte ${offset + compressed.length} — the copy was cut short; copy it again`);
      }
      let content: Buffer;
      try {
        content = d.decompress(compressed);
      } catch (err) {
        const why = String((err as Error).message ?? err);
        const code = /checksum/i.test(why) ? 'CHECKSUM' : 'CORRUPT';
        throw new BundleError(code, `${info.name}: data frame ${i + 1} of ${info.seek.entries.length} (byte ${offset}) is damaged (${why}) — get a fresh copy of the bundle`);
      }
      if (content.length !== entry.contentBytes) {
        throw new BundleError('CORRUPT', `${info.name}: data frame ${i + 1} (byte ${offset}) holds ${content.length} bytes, the seek table says ${entry.contentBytes} — the file is damaged`);
      }
      hash.update(content);
      sink(content);
      offset += entry.compressedBytes;
    });
  } finally {
    closeSync(fd);
  }
  const digest = hash.digest('hex');
  if (digest !== info.manifest.database.sha256) {
    throw new BundleError('CHECKSUM', `${info.name}: database checksum mismatch (manifest ${info.manifest.database.sha256.slice(0, 12)}…, content ${digest.slice(0, 12)}…) — the manifest or the data was altered; get a fresh copy`);
  }
}
