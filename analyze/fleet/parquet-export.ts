// `ingero export --format parquet`: bundles into one Parquet export directory (the layout of
// spec/parquet-layout.md). The export appears whole or not at all: it is written into a
// temporary directory beside the output, which is renamed into place at the end (replacing an
// old export only with force) and removed on failure or when the signal aborts (checked between
// parts of events).
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BundleError } from '../../format/index.ts';
import { eachDistinctBundle, resolveInputs } from './dataset.ts';
import { writeBundleParquet, type BundleParquetOptions } from './parquet-writer.ts';

export interface ParquetExportOptions extends Pick<BundleParquetOptions, 'rowsPerPart' | 'analysis'> {
  /** Replace an existing output directory. */
  readonly force?: boolean;
  /** Aborting stops the export between parts; nothing is left behind. */
  readonly signal?: AbortSignal;
  /** Progress: events written of the current bundle, its index and the bundle count. */
  readonly onProgress?: (p: { readonly bundle: string; readonly index: number; readonly total: number; readonly events: number; readonly bundleEvents: number }) => void;
}

export interface ParquetExportSummary {
  readonly bundles: number;
  readonly events: number;
  readonly files: number;
  readonly bytes: number;
  /** Inputs set aside (the same recording given twice), in words. */
  readonly notes: readonly string[];
}

export async function exportParquet(paths: readonly string[], outDir: string, options: ParquetExportOptions = {}): Promise<ParquetExportSummary> {
  const { bundles, exports } = resolveInputs(paths);
  if (exports.length > 0) throw new BundleError('USAGE', `${exports[0]} is already a Parquet export — give bundles (.ingero) or directories of them; exports merge by copying their folders together`);
  const out = resolve(outDir);
  if (existsSync(out) && !options.force) throw new BundleError('USAGE', `${outDir} exists — pass --force to replace it, or choose another -o`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new BundleError('USAGE', `${outDir} is a file — a Parquet export is a directory; choose another -o`);
  let tmp: string;
  try {
    tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.tmp-`));
  } catch (err) {
    throw outputError(err, outDir);
  }
  try {
    const seen = new Set<string>();
    const notes: string[] = [];
    let events = 0;
    let files = 0;
    await eachDistinctBundle(bundles, seen, notes, 'exported', async (bundle, _digest, index) => {
      const bundleEvents = bundle.eventCount();
      const r = await writeBundleParquet(bundle, tmp, {
        rowsPerPart: options.rowsPerPart,
        analysis: options.analysis,
        onEvents: (n) => {
          if (options.signal?.aborted) throw new BundleError('USAGE', `${outDir}: export interrupted — nothing was written`);
          options.onProgress?.({ bundle: bundle.path, index, total: bundles.length, events: n, bundleEvents });
        },
      });
      events += r.events;
      files += r.files;
    });
    const bytes = treeBytes(tmp);
    if (existsSync(out)) {
      const old = `${tmp}-old`;
      renameSync(out, old);
      renameSync(tmp, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, out);
    }
    return { bundles: seen.size, events, files, bytes, notes };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw outputError(err, outDir);
  }
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

/** Filesystem failures on the output as one line naming the fix; anything else unchanged. */
function outputError(err: unknown, shown: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const message = String((err as Error)?.message ?? '');
  if (code === 'ENOENT') return new BundleError('IO', `cannot write ${shown}: its parent directory does not exist — create it or choose another -o`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new BundleError('IO', `cannot write ${shown}: permission denied — choose another -o`);
  if (code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device/i.test(message)) return new BundleError('IO', `disk full while writing ${shown} (nothing was left behind) — free space or export to a roomier place`);
  return err;
}
