// Running steps and commands in a test: tasks under listr2's silent renderer (nothing drawn), and an Io that keeps
// what a command prints.
import { Listr } from 'listr2';
import type { Ctx } from '../../src/context.js';
import type { Io, Task } from '../../src/listr.js';

/** The tasks as the CLI runs them, under listr2's silent renderer: the steps' effects without the drawing. */
export const silentListr = (tasks: Task[], ctx: Ctx) =>
  new Listr<Ctx, 'silent', 'silent'>(tasks as never, { ctx, renderer: 'silent', fallbackRenderer: 'silent' });

/** Runs the tasks silently (silentListr); rejects as the CLI's run would. */
export const runSilently = (tasks: Task[], ctx: Ctx) => silentListr(tasks, ctx).run();

export type RecordingIo = Io & { printed: string[]; warned: string[] };

/** An Io without a terminal (as in CI: plain renderer, 120-column tables) that keeps what is printed and warned. */
export function recordingIo(overrides: Partial<Io> = {}): RecordingIo {
  const printed: string[] = [];
  const warned: string[] = [];
  return {
    env: { CI: 'true' },
    isTTY: false,
    print: (text) => printed.push(text),
    warn: (text) => warned.push(text),
    ...overrides,
    printed,
    warned,
  };
}
