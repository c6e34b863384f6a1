// Starts one of this folder's TypeScript modules as a child process with an IPC channel, through
// the same loader the CLI uses (resolved here, so it works from any working directory). The
// child never writes to stdout: in stdio mode the parent's stdout is the MCP transport.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX_LOADER = import.meta.resolve('tsx');

export function forkTs(moduleUrl: URL): ChildProcess {
  return fork(fileURLToPath(moduleUrl), [], { execArgv: ['--import', TSX_LOADER], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}
