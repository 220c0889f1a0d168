/** An error the user can act on: what went wrong, and what to do about it. */
export class BootstrapError extends Error {
  readonly problem: string;
  readonly fix: string;
  /** Exit code for the CLI: 2 for bad input (flags, config), 1 for everything else. */
  readonly exitCode: number;

  constructor(problem: string, fix: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(`${problem}\n  → ${fix}`, { cause: options.cause });
    this.name = 'BootstrapError';
    this.problem = problem;
    this.fix = fix;
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isBootstrapError(error: unknown): error is BootstrapError {
  return error instanceof BootstrapError;
}

/** The text of any thrown value, for messages (never a stack). */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
