// Starts a TypeScript module as a child process with an IPC channel, through the same loader the
// CLI uses (resolved here, so it works from any working directory). Front ends run long analyses
// this way so they stay responsive and can cancel by killing the child. The child never writes
// to stdout: an MCP server's stdout is its transport, a terminal UI's is its screen.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX_LOADER = import.meta.resolve('tsx');

export function forkTs(moduleUrl: URL, options: { readonly stderr: 'inherit' | 'ignore' }): ChildProcess {
  return fork(fileURLToPath(moduleUrl), [], { execArgv: ['--import', TSX_LOADER], serialization: 'advanced', stdio: ['ignore', 'ignore', options.stderr, 'ipc'] });
}
