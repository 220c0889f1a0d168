/**
 * The one shape of a failure on screen: `✖ problem`, and `  → fix` on the next line when there is a fix. Every `✖ … → …`
 * the CLI prints is built here. `mark: false` leaves out the `✖ ` (a BootstrapError's message, a note).
 */
export function formatProblem(problem: string, fix?: string, options: { mark?: boolean } = {}): string {
  return `${(options.mark ?? true) ? '✖ ' : ''}${problem}${fix === undefined ? '' : `\n  → ${fix}`}`;
}

/** An error the user can act on: what went wrong, and what to do about it. */
export class BootstrapError extends Error {
  readonly problem: string;
  readonly fix: string;
  /** Exit code for the CLI: 2 for bad input (flags, config), 1 for everything else. */
  readonly exitCode: number;

  constructor(problem: string, fix: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(formatProblem(problem, fix, { mark: false }), { cause: options.cause });
    this.name = 'BootstrapError';
    this.problem = problem;
    this.fix = fix;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A group of tasks failed; each failure was already shown beside its task. Carries the first, for the exit code and summary. */
export class GroupFailed extends Error {
  constructor(
    readonly what: string,
    readonly failures: unknown[],
  ) {
    super(`${what}: ${failures.length} failed`);
    this.name = 'GroupFailed';
  }
}

/** The error that decides the exit code and the closing message. */
export function rootError(error: unknown): unknown {
  return error instanceof GroupFailed ? error.failures[0] : error;
}

export function isBootstrapError(error: unknown): error is BootstrapError {
  return error instanceof BootstrapError;
}

/** The text of any thrown value, for messages (never a stack). */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The closing message of a failed run: a BootstrapError's problem and fix, anything else's message, through
 * formatProblem.
 */
export function formatError(error: unknown): string {
  return isBootstrapError(error) ? formatProblem(error.problem, error.fix) : formatProblem(errorText(error));
}
