// Starts a TypeScript module as a child process with an IPC channel, through the same loader the
// CLI uses (resolved here, so it works from any working directory). Front ends run long analyses
// and user SQL this way so they stay responsive and can cancel by killing the child. The child
// never writes to stdout: an MCP server's stdout is its transport, a terminal UI's is its screen.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ForkOptions {
  readonly stderr: 'inherit' | 'ignore';
  /** Cap on the child's JavaScript heap, in MiB (V8 stops the child past it). */
  readonly maxHeapMiB?: number;
  /** The child's arguments (what it is for, so that ps tells children apart). */
  readonly args?: readonly string[];
}

export function forkTs(moduleUrl: URL, options: ForkOptions): ChildProcess {
  const loader = import.meta.resolve('tsx');
  const heap = options.maxHeapMiB ? [`--max-old-space-size=${options.maxHeapMiB}`] : [];
  return fork(fileURLToPath(moduleUrl), [...(options.args ?? [])], { execArgv: [...heap, '--import', loader], serialization: 'advanced', stdio: ['ignore', 'ignore', options.stderr, 'ipc'] });
}
