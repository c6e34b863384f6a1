// Display names for C++ (Itanium ABI) and Rust symbols, through gecko-profiler-demangle, the
// WASM demangler of the Firefox Profiler. Its index.js imports the .wasm as an ES module, which
// Node 20 cannot do, so the module is instantiated here from index_bg.wasm (platform.md §10).
// The mangled name is always kept beside the result as the bundle's system_name.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as glue from 'gecko-profiler-demangle/index_bg.js';

/** GCC clone suffixes (foo.constprop.0, foo.cold): the same source function for a reader. */
const CLONE_SUFFIX = /\.(cold|constprop|isra|part|lto_priv)[.0-9a-z_]*$/;
/** Itanium C++ and Rust legacy (_Z...), and Rust v0 (_R...). */
const MANGLED = /^_[ZR]/;

interface Demangler {
  demangle_any(name: string): string;
}

let demangler: Demangler | undefined;

function instantiate(): Demangler {
  const wasmPath = createRequire(import.meta.url).resolve('gecko-profiler-demangle/index_bg.wasm');
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {
    './index_bg.js': glue as unknown as WebAssembly.ModuleImports,
  });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

/** Long template names take milliseconds to demangle, and stacks repeat the same functions. */
const cache = new Map<string, string>();

/** The name a reader knows a function by: demangled, without GCC clone suffixes. */
export function demangle(symbol: string): string {
  const base = symbol.replace(CLONE_SUFFIX, '');
  if (!MANGLED.test(base)) return base;
  let name = cache.get(base);
  if (name === undefined) {
    name = (demangler ??= instantiate()).demangle_any(base);
    // what none of its demanglers accepts comes back unchanged or with the leading '_' dropped
    if (name === base.slice(1)) name = base;
    cache.set(base, name);
  }
  return name;
}
