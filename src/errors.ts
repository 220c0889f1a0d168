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

/** The first line of errorText: a BootstrapError's problem without its fix, for a message that quotes it. */
export const errorLine = (error: unknown): string => errorText(error).split('\n')[0]!;

/** The error, then its `cause`, then that one's `cause`…: each level once, at most 20. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let level: unknown = error; level !== undefined && level !== null && chain.length < 20;) {
    if (chain.includes(level)) break;
    chain.push(level);
    level = level instanceof Error ? level.cause : undefined;
  }
  return chain;
}

/** An error's class as a reader knows it: `ApiException` rather than the `Error` its name says. */
function className(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const constructor = (error as { constructor?: { name?: string } }).constructor?.name;
  return error.name === 'Error' && constructor ? constructor : error.name || 'Error';
}

const indented = (text: string, prefix: string) => text.replace(/\n/g, `\n${prefix}`);

/**
 * What --debug adds under the `✖ problem / → fix` lines: each level of the cause chain (a BootstrapError's problem,
 * anything else's message), then the stack of each level that has one.
 */
export function debugDetails(error: unknown): string {
  const chain = causeChain(error);
  const text = (e: unknown) => (isBootstrapError(e) ? e.problem : errorText(e));
  const lines = ['', 'Cause chain:'];
  chain.forEach((e, i) => lines.push(`  ${i ? '← ' : ''}${className(e)}: ${indented(text(e), '    ')}`));
  lines.push('Stack:');
  chain.forEach((e, i) => {
    const frames = (e instanceof Error ? (e.stack ?? '') : '').split('\n').filter((line) => /^\s+at /.test(line));
    lines.push(`  ${i ? '← ' : ''}${className(e)}${frames.length ? '' : ' (no stack)'}`, ...frames.map((frame) => `      ${frame.trim()}`));
  });
  return lines.join('\n');
}

/**
 * The closing message of a failed run: a BootstrapError's problem and fix, anything else's message, through
 * formatProblem; with `debug`, the cause chain and the stacks after it (debugDetails).
 */
export function formatError(error: unknown, options: { debug?: boolean } = {}): string {
  const block = isBootstrapError(error) ? formatProblem(error.problem, error.fix) : formatProblem(errorText(error));
  return options.debug ? `${block}\n${debugDetails(error)}` : block;
}

/** Whether BOOTSTRAP_DEBUG asks for --debug: 1, true or yes. */
export const debugFromEnv = (env: NodeJS.ProcessEnv) => /^(1|true|yes)$/i.test(env.BOOTSTRAP_DEBUG ?? '');
