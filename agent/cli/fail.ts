// Usage errors: one clear line on stderr and exit code 2 (runtime failures exit 1).

export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
}

/** Abort the command with a usage error (exit 2). */
export function fail(message: string): never {
  throw new UsageError(message);
}
