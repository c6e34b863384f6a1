// Every failure a user can cause (bad path, corrupt or hostile bundle, unsupported version) is a
// BundleError: one line that names the file, the problem and, where there is one, the fix.

export type BundleErrorCode =
  | 'NOT_FOUND'
  | 'NOT_A_BUNDLE'
  | 'TRUNCATED'
  | 'CORRUPT'
  | 'CHECKSUM'
  | 'VERSION'
  | 'SCHEMA'
  | 'HOSTILE'
  | 'IO'
  | 'USAGE';

export class BundleError extends Error {
  readonly code: BundleErrorCode;
  constructor(code: BundleErrorCode, message: string) {
    super(message);
    this.name = 'BundleError';
    this.code = code;
  }
}

/** Turns a Node filesystem error into a one-line BundleError that says what to do. */
export function ioError(path: string, err: unknown, doing: string): BundleError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return new BundleError('NOT_FOUND', `${path}: no such file — check the path`);
    case 'EACCES':
    case 'EPERM':
      return new BundleError('IO', `${path}: permission denied while ${doing} — check the file's permissions`);
    case 'ENOSPC':
      return new BundleError('IO', `${path}: disk full while ${doing} — free space and run again`);
    case 'EISDIR':
      return new BundleError('USAGE', `${path}: is a directory, not a bundle file — name a file`);
    case 'EROFS':
      return new BundleError('IO', `${path}: read-only file system while ${doing} — write somewhere else`);
    default:
      return new BundleError('IO', `${path}: ${e?.message ?? String(err)} while ${doing}`);
  }
}
