// Decoding one data frame of a bundle. Plain JavaScript so the decompression workers start
// without the TypeScript loader; read-container.ts uses the same code on the main thread.
// A frame is accepted only if it is exactly one zstd frame, declares its content size, carries a
// content checksum, and decompresses to the size the seek table promised: a hostile frame can
// neither make the reader allocate more than the seek table allows nor skip its checksum.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('zstd-napi/binding');
const ZSTD_FRAME_MAGIC = 0xfd2fb528;

export function newContext() {
  return new binding.DCtx();
}

/**
 * Decompresses `src` (one frame) into `dst`, whose length is the content size the seek table
 * declares. Returns null on success, else [kind, words] with kind 'checksum' or 'corrupt'.
 */
export function inflateFrame(dctx, src, dst) {
  if (src.length < 6 || src.readUInt32LE(0) !== ZSTD_FRAME_MAGIC) return ['corrupt', 'not a zstd frame'];
  if ((src[4] & 0x04) === 0) return ['corrupt', 'the frame carries no content checksum'];
  let size;
  let declared;
  try {
    size = binding.findFrameCompressedSize(src);
    declared = binding.getFrameContentSize(src);
  } catch (err) {
    return ['corrupt', String(err.message ?? err)];
  }
  if (size !== src.length) return ['corrupt', `the frame ends at byte ${size} of ${src.length}`];
  if (declared !== dst.length) return ['corrupt', `the frame declares ${declared ?? 'no'} content bytes, the seek table ${dst.length}`];
  let n;
  try {
    n = dctx.decompress(dst, src);
  } catch (err) {
    const why = String(err.message ?? err);
    return [/checksum/i.test(why) ? 'checksum' : 'corrupt', why];
  }
  if (n !== dst.length) return ['corrupt', `the frame holds ${n} bytes, the seek table says ${dst.length}`];
  return null;
}
