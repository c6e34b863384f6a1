// The output side every importer shares: refuse a bad -o before any work, create the writer.
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BundleError, BundleWriter, type WriterOptions } from '../format/index.ts';

/** Refuses an output that would overwrite the source or cannot be created, before any work. */
export function checkOutputPath(sourcePath: string, outPath: string): void {
  if (resolve(sourcePath) === resolve(outPath)) {
    throw new BundleError('USAGE', `${outPath}: the output would overwrite the source — choose another -o path`);
  }
  const dir = dirname(resolve(outPath));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) throw new BundleError('IO', `${outPath}: ${dir} is not an existing folder — create it or choose another -o path`);
  try {
    if (statSync(outPath).isDirectory()) throw new BundleError('USAGE', `${outPath}: is a folder — give a file name such as trace.ingero`);
  } catch (err) {
    if (err instanceof BundleError) throw err;
  }
}

/** BundleWriter.create, with a failure to create files phrased for the -o option. */
export function createWriter(outPath: string, options: WriterOptions): BundleWriter {
  try {
    return BundleWriter.create(outPath, options);
  } catch (err) {
    if (err instanceof BundleError && err.code === 'USAGE') throw err;
    throw new BundleError('IO', `${outPath}: cannot write the bundle there (${(err as Error).message}) — choose a writable folder for -o`);
  }
}
