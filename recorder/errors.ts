// Failures a user can act on: one line naming the problem and the fix, no stack trace.
export class RecorderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecorderError';
  }
}
