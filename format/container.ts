// The container layer: a bundle is a sequence of zstd frames.
//   [header skippable frame][data frame]...[data frame][seek-table skippable frame]
// `zstd -dc` skips both skippable frames and yields the SQLite database. The seek table is laid
// out as in the zstd seekable format (contrib/seekable_format), but its entries start after the
// header frame, so generic seekable readers cannot use it as it is (spec §1, §5).
import { createHash } from 'node:crypto';
import { BundleError } from './errors.ts';

export const CONTAINER_MAJOR = 1;
export const CONTAINER_MINOR = 0;
/** Magic of the header's skippable frame (0x184D2A50 | 0, little-endian on disk). */
export const HEADER_FRAME_MAGIC = 0x184d2a50;
/** Magic of the seek table's skippable frame, as the zstd seekable format defines it. */
export const SEEK_FRAME_MAGIC = 0x184d2a5e;
export const SEEKABLE_FOOTER_MAGIC = 0x8f92eab1;
export const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** First bytes of the header payload: "INGERO" then 0x00 0x1A (stops `cat`, marks binary). */
export const BUNDLE_MAGIC = Buffer.from([0x49, 0x4e, 0x47, 0x45, 0x52, 0x4f, 0x00, 0x1a]);
/** Fixed part of the header payload before the manifest JSON. */
export const HEADER_FIXED_BYTES = 8 + 2 + 2 + 2 + 2 + 4 + 32;
/** A manifest larger than this is refused before it is parsed. */
export const MAX_MANIFEST_BYTES = 1 << 20;
/** Each data frame decompresses to at most this many bytes (bounded memory per frame). */
export const MAX_FRAME_CONTENT_BYTES = 64 << 20;
export const DEFAULT_FRAME_CONTENT_BYTES = 4 << 20;
/** At most this many data frames (a 16 MiB seek table; 4 TiB of database at the default frame size). */
export const MAX_FRAMES = 1 << 20;
/**
 * Default bound on the decompressed database: a small file of tiny frames could otherwise expand
 * to tens of GB of cache. $INGERO_MAX_DATABASE_BYTES (or OpenOptions.maxDatabaseBytes) raises it.
 */
export const DEFAULT_MAX_DATABASE_BYTES = 32 * 1024 ** 3;

export interface HeaderInfo {
  readonly containerMajor: number;
  readonly containerMinor: number;
  readonly minReaderMajor: number;
  readonly flags: number;
  readonly manifestJson: string;
  /** Bytes the header frame occupies in the file (8-byte frame header included). */
  readonly frameBytes: number;
}

/** Offset of the SHA-256 in the header payload; it covers the 20 bytes before it and the manifest. */
const DIGEST_OFFSET = 20;

/** SHA-256 of a header payload: its fixed fields (magic to manifest length) and the manifest JSON. */
export function headerDigest(payload: Buffer): Buffer {
  return createHash('sha256').update(payload.subarray(0, DIGEST_OFFSET)).update(payload.subarray(HEADER_FIXED_BYTES)).digest();
}

export interface HeaderFields {
  readonly containerMajor: number;
  readonly containerMinor: number;
  readonly minReaderMajor: number;
  readonly flags: number;
}

const CURRENT: HeaderFields = { containerMajor: CONTAINER_MAJOR, containerMinor: CONTAINER_MINOR, minReaderMajor: CONTAINER_MAJOR, flags: 0 };

/** The header frame. `fields` other than the current version serve the test vectors only. */
export function encodeHeader(manifestJson: string, fields: HeaderFields = CURRENT): Buffer {
  const json = Buffer.from(manifestJson, 'utf8');
  const payload = Buffer.alloc(HEADER_FIXED_BYTES + json.length);
  BUNDLE_MAGIC.copy(payload, 0);
  payload.writeUInt16LE(fields.containerMajor, 8);
  payload.writeUInt16LE(fields.containerMinor, 10);
  payload.writeUInt16LE(fields.minReaderMajor, 12);
  payload.writeUInt16LE(fields.flags, 14);
  payload.writeUInt32LE(json.length, 16);
  json.copy(payload, HEADER_FIXED_BYTES);
  headerDigest(payload).copy(payload, DIGEST_OFFSET);
  return Buffer.concat([frameHeader(HEADER_FRAME_MAGIC, payload.length), payload]);
}

function frameHeader(magic: number, size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(magic, 0);
  b.writeUInt32LE(size, 4);
  return b;
}

/**
 * Parses the header frame from the first bytes of a file. `head` must hold at least the whole
 * header frame; `fileSize` lets truncation be told apart from corruption.
 */
export function decodeHeader(name: string, head: Buffer, fileSize: number): HeaderInfo {
  if (fileSize < 8 + HEADER_FIXED_BYTES) {
    if (fileSize >= 4 && head.readUInt32LE(0) === HEADER_FRAME_MAGIC) {
      throw new BundleError('TRUNCATED', `${name}: truncated at byte ${fileSize} — the file was cut short while copying or recording; copy it again`);
    }
    throw new BundleError('NOT_A_BUNDLE', `${name}: not an ingero bundle (${fileSize} bytes, too short) — expected a .ingero file`);
  }
  const magic = head.readUInt32LE(0);
  if (magic !== HEADER_FRAME_MAGIC || !head.subarray(8, 16).equals(BUNDLE_MAGIC)) {
    if (magic === ZSTD_FRAME_MAGIC) {
      throw new BundleError('NOT_A_BUNDLE', `${name}: a plain zstd file, not an ingero bundle (no bundle header) — decompress it with zstd -d if it is a database`);
    }
    if (head.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') {
      throw new BundleError('NOT_A_BUNDLE', `${name}: a SQLite database, not an ingero bundle — convert an Ingero database with: ingero import ${name} -o trace.ingero`);
    }
    throw new BundleError('NOT_A_BUNDLE', `${name}: not an ingero bundle (wrong magic bytes) — expected a file written by ingero record, import or demo`);
  }
  const payloadBytes = head.readUInt32LE(4);
  const containerMajor = head.readUInt16LE(16);
  const containerMinor = head.readUInt16LE(18);
  const minReaderMajor = head.readUInt16LE(20);
  const flags = head.readUInt16LE(22);
  if (minReaderMajor > CONTAINER_MAJOR || containerMajor > CONTAINER_MAJOR) {
    throw new BundleError('VERSION', `${name}: bundle container version ${containerMajor}.${containerMinor} needs a reader for version ${Math.max(minReaderMajor, containerMajor)}.x; this ingero reads ${CONTAINER_MAJOR}.x — upgrade ingero`);
  }
  if (containerMajor < 1) {
    throw new BundleError('CORRUPT', `${name}: header names container version ${containerMajor}.${containerMinor}, which never existed — the header is damaged`);
  }
  if (minReaderMajor < 1) {
    throw new BundleError('CORRUPT', `${name}: header names min reader major 0, which never existed — the header is damaged`);
  }
  const manifestBytes = head.readUInt32LE(24);
  if (manifestBytes > MAX_MANIFEST_BYTES || HEADER_FIXED_BYTES + manifestBytes !== payloadBytes) {
    throw new BundleError('CORRUPT', `${name}: header sizes are inconsistent (manifest ${manifestBytes} bytes in a ${payloadBytes}-byte frame) — the header is damaged`);
  }
  const frameBytes = 8 + payloadBytes;
  if (fileSize < frameBytes) {
    throw new BundleError('TRUNCATED', `${name}: truncated at byte ${fileSize} inside the header — the file was cut short while copying; copy it again`);
  }
  const payload = head.subarray(8, frameBytes);
  if (!headerDigest(payload).equals(payload.subarray(DIGEST_OFFSET, DIGEST_OFFSET + 32))) {
    throw new BundleError('CHECKSUM', `${name}: header checksum mismatch — the header or manifest was modified or damaged; get a fresh copy of the bundle`);
  }
  if (flags !== 0) {
    throw new BundleError('VERSION', `${name}: header flags 0x${flags.toString(16)} are not defined in container version ${CONTAINER_MAJOR}.${CONTAINER_MINOR} — upgrade ingero`);
  }
  let manifestJson: string;
  try {
    // Fatal: Buffer.toString would turn invalid bytes into U+FFFD and accept them. ignoreBOM keeps
    // a byte order mark in the text, where JSON.parse then refuses it (the spec forbids one).
    manifestJson = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload.subarray(HEADER_FIXED_BYTES));
  } catch {
    throw new BundleError('CORRUPT', `${name}: the manifest is not valid UTF-8 — the header was written by a broken tool`);
  }
  return { containerMajor, containerMinor, minReaderMajor, flags, manifestJson, frameBytes };
}

export interface SeekEntry {
  readonly compressedBytes: number;
  readonly contentBytes: number;
}

export function encodeSeekTable(entries: readonly SeekEntry[]): Buffer {
  const payload = Buffer.alloc(entries.length * 8 + 9);
  entries.forEach((e, i) => {
    payload.writeUInt32LE(e.compressedBytes, i * 8);
    payload.writeUInt32LE(e.contentBytes, i * 8 + 4);
  });
  const footer = entries.length * 8;
  payload.writeUInt32LE(entries.length, footer);
  payload.writeUInt8(0, footer + 4); // descriptor: no per-frame checksums (frames carry their own)
  payload.writeUInt32LE(SEEKABLE_FOOTER_MAGIC, footer + 5);
  return Buffer.concat([frameHeader(SEEK_FRAME_MAGIC, payload.length), payload]);
}

export interface SeekTable {
  readonly entries: readonly SeekEntry[];
  /** Bytes the seek-table frame occupies at the end of the file. */
  readonly frameBytes: number;
}

/** Reads the seek table from the last bytes of the file (`tail` = the file's last `tail.length` bytes). */
export function decodeSeekTable(name: string, tail: Buffer, fileSize: number, dataStart: number): SeekTable {
  const truncated = () =>
    new BundleError('TRUNCATED', `${name}: truncated at byte ${fileSize} — the recording was probably interrupted or the copy cut short; copy it again, or run ingero recover on the recorder's .staging file`);
  if (tail.length < 9 || tail.readUInt32LE(tail.length - 4) !== SEEKABLE_FOOTER_MAGIC) throw truncated();
  const frames = tail.readUInt32LE(tail.length - 9);
  const descriptor = tail.readUInt8(tail.length - 5);
  if ((descriptor & 0x7f) !== 0) {
    throw new BundleError('CORRUPT', `${name}: seek table descriptor 0x${descriptor.toString(16)} sets reserved bits (only bit 7 is defined) — the file is damaged`);
  }
  if (frames > MAX_FRAMES) {
    throw new BundleError('HOSTILE', `${name}: seek table declares ${frames} data frames, above the limit of ${MAX_FRAMES} — refusing to read it`);
  }
  const withChecksums = (descriptor & 0x80) !== 0;
  const entryBytes = withChecksums ? 12 : 8;
  const payloadBytes = frames * entryBytes + 9;
  const frameBytes = payloadBytes + 8;
  if (frameBytes > tail.length || frameBytes > fileSize - dataStart) throw truncated();
  const start = tail.length - frameBytes;
  if (tail.readUInt32LE(start) !== SEEK_FRAME_MAGIC || tail.readUInt32LE(start + 4) !== payloadBytes) throw truncated();
  const entries: SeekEntry[] = [];
  let compressedTotal = 0;
  for (let i = 0; i < frames; i++) {
    const off = start + 8 + i * entryBytes;
    const e = { compressedBytes: tail.readUInt32LE(off), contentBytes: tail.readUInt32LE(off + 4) };
    if (e.contentBytes > MAX_FRAME_CONTENT_BYTES) {
      throw new BundleError('HOSTILE', `${name}: seek table declares a ${e.contentBytes}-byte frame, above the ${MAX_FRAME_CONTENT_BYTES}-byte limit — refusing to decompress it`);
    }
    compressedTotal += e.compressedBytes;
    entries.push(e);
  }
  if (dataStart + compressedTotal + frameBytes !== fileSize) {
    if (dataStart + compressedTotal + frameBytes > fileSize) throw truncated();
    throw new BundleError('CORRUPT', `${name}: seek table does not match the file (${fileSize - dataStart - frameBytes} bytes of frames, table says ${compressedTotal}) — the file is damaged`);
  }
  return { entries, frameBytes };
}
