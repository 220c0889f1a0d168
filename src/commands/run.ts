// Runs a list of tasks with the chosen renderer; shared by every command.
import { Listr, type ListrRendererValue } from 'listr2';
import type { Ctx } from '../context.js';
import { chooseRenderer } from '../renderer.js';
import type { Task } from '../tasks.js';

export interface Io {
  env: NodeJS.ProcessEnv;
  isTTY: boolean | undefined;
  /** Where results go (tables, JSON). */
  print(text: string): void;
  /** Where notes go, so that --json output stays pure JSON. */
  warn(text: string): void;
}

export function makeListr(tasks: Task[], ctx: Ctx, io: Io): Listr<Ctx, ListrRendererValue, ListrRendererValue> {
  const renderer = ctx.options.json ? 'silent' : chooseRenderer(io.env, io.isTTY);
  return new Listr<Ctx, ListrRendererValue, ListrRendererValue>(tasks, {
    ctx,
    renderer,
    fallbackRenderer: 'simple',
    exitOnError: true,
    // Ctrl-C is handled in cli.ts: stop at once, with the usual exit code and a word on what to do.
    registerSignalListeners: false,
    rendererOptions: { collapseSubtasks: false, showSkipMessage: true, collapseSkips: false, suffixSkips: false },
    fallbackRendererOptions: { timer: undefined },
  } as never);
}

export async function runTasks(tasks: Task[], ctx: Ctx, io: Io): Promise<void> {
  await makeListr(tasks, ctx, io).run();
  for (const note of ctx.notes) io.warn(`note: ${note}`);
}
