// Which bundles a server serves: one file (`ingero mcp BUNDLE`) or every .ingero file in one
// directory (`--dir DIR`), opened on first use and kept open. A name from the agent is only ever
// looked up among the directory's own entries, so no path it sends can reach another file.
import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BundleError, openBundle, type OpenOptions } from '../format/index.ts';
import { ServedBundle } from './served-bundle.ts';
import { ToolInputError } from './tool-kit.ts';

export interface BundleListing {
  readonly name: string;
  readonly bytes: number;
  readonly open: boolean;
}

export class BundleRegistry {
  /** Directory served, or null for a single bundle. */
  readonly dir: string | null;
  private readonly single?: ServedBundle;
  private readonly opened = new Map<string, ServedBundle>();
  private readonly openOptions: OpenOptions;

  private constructor(dir: string | null, single: ServedBundle | undefined, openOptions: OpenOptions) {
    this.dir = dir;
    this.single = single;
    this.openOptions = openOptions;
  }

  /** Serves one bundle, opened (and verified) now so a bad file fails before the server starts; its summary starts computing. */
  static single(path: string, openOptions: OpenOptions = {}): BundleRegistry {
    const served = new ServedBundle(basename(path), openBundle(path, openOptions), openOptions);
    served.startSummary().catch(() => undefined); // a failure resurfaces in the tool call that needs the summary
    return new BundleRegistry(null, served, openOptions);
  }

  /** Serves the .ingero files of a directory, each opened when first asked for. */
  static directory(dir: string, openOptions: OpenOptions = {}): BundleRegistry {
    const abs = resolve(dir);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      throw new BundleError('NOT_FOUND', `${dir}: no such directory — pass a directory holding .ingero files`);
    }
    if (!isDir) throw new BundleError('USAGE', `${dir}: not a directory — pass a directory, or the bundle itself without --dir`);
    return new BundleRegistry(abs, undefined, openOptions);
  }

  /** The bundles on offer, by name. */
  list(): BundleListing[] {
    if (this.single) return [{ name: this.single.name, bytes: statSync(this.single.bundle.path).size, open: true }];
    const out: BundleListing[] = [];
    for (const entry of readdirSync(this.dir!, { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ingero')) continue;
      out.push({ name: entry.name, bytes: statSync(join(this.dir!, entry.name)).size, open: this.opened.has(entry.name) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The bundle an agent named (or the only one), opening it if needed. */
  get(name: string | undefined): ServedBundle {
    if (this.single) {
      if (name !== undefined && name !== this.single.name) {
        throw new ToolInputError(`this server serves one bundle, ${JSON.stringify(this.single.name)}; omit the bundle argument`);
      }
      return this.single;
    }
    const names = this.list().map((b) => b.name);
    if (name === undefined) {
      if (names.length === 1) return this.get(names[0]);
      throw new ToolInputError(`pass bundle: one of ${names.map((n) => JSON.stringify(n)).join(', ') || '(none: the directory holds no .ingero files)'} (see list_bundles)`);
    }
    if (!names.includes(name)) {
      throw new ToolInputError(`no bundle named ${JSON.stringify(name.slice(0, 80))} in the served directory; pass one of the names list_bundles returns`);
    }
    let served = this.opened.get(name);
    if (!served) {
      served = new ServedBundle(name, openBundle(join(this.dir!, name), this.openOptions), this.openOptions);
      this.opened.set(name, served);
      served.startSummary().catch(() => undefined); // a failure resurfaces in the tool call that needs the summary
    }
    return served;
  }

  /** Bundles already open (the single one, or those opened so far). */
  openBundles(): ServedBundle[] {
    return this.single ? [this.single] : [...this.opened.values()];
  }

  close(): void {
    for (const b of this.openBundles()) b.close();
    this.opened.clear();
  }
}
