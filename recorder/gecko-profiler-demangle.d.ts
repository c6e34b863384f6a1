// Types for the wasm-bindgen glue of gecko-profiler-demangle, which recorder/demangle.ts loads
// directly (the package types only its index.js).
declare module 'gecko-profiler-demangle/index_bg.js' {
  export function __wbg_set_wasm(exports: WebAssembly.Exports): void;
  export function demangle_any(name: string): string;
}
