// Types for inflate-frame.mjs.
export interface DecompressionContext {
  decompress(dst: Uint8Array, src: Uint8Array): number;
}
export function newContext(): DecompressionContext;
export function inflateFrame(dctx: DecompressionContext, src: Buffer, dst: Buffer): null | ['checksum' | 'corrupt', string];
