// listr2 in one place: the task types every step is written in, the renderer the environment picks, and the run
// every command goes through.
import { Listr, PRESET_TIMER, type ListrRendererValue, type ListrTask, type ListrTaskWrapper } from 'listr2';
import type { Ctx } from './context.js';
import { errorLine, errorText } from './errors.js';
import { messages } from './messages.js';
import { watchTimings } from './timings.js';

export type Task = ListrTask<Ctx>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskWrapper = ListrTaskWrapper<Ctx, any, any>;

/** Dry run: side-effecting tasks skip, and the skip message is the exact command or object they would apply. */
export const dryRunSkip = (describe: (ctx: Ctx) => string | Promise<string>) => async (ctx: Ctx) =>
  ctx.options.dryRun ? messages.planChanges(await describe(ctx)) : false;

/**
 * A step's plan as a dry run shows it: the changes it would make (the commands and objects, as they would run), or
 * that there are none and what was found. `assumed`: what the plan took for granted because it could not read it.
 */
export type PlanReport = { changes: string; assumed?: string } | { nothing: string };

/** What runPlanned runs: `read` (read-only) into a plan, then `apply` it, or in a dry run `report` it. */
export interface PlannedStep<P> {
  read: () => Promise<P>;
  report: (plan: P) => PlanReport | Promise<PlanReport>;
  apply: (plan: P) => Promise<void>;
}

/**
 * One step that reads before it acts: `read` looks at the world (read-only calls only) and returns the plan; `apply`
 * carries it out, or in a dry run `report` shows it — the title says there is nothing to do, or the task skips with
 * what would change. A plan that cannot be made (`read` throws: up would stop there) is, in a dry run, a note and a
 * skip, so that the rest of the plan is still shown; outside one it throws.
 */
async function runPlanned<P>(ctx: Ctx, task: TaskWrapper, title: string, step: PlannedStep<P>): Promise<void> {
  if (!ctx.options.dryRun) return step.apply(await step.read());
  let report: PlanReport;
  try {
    report = await step.report(await step.read());
  } catch (error) {
    ctx.notes.push(errorText(error));
    return task.skip(messages.planWouldFail(title, errorLine(error)));
  }
  if ('nothing' in report) task.title = messages.planNothing(title, report.nothing);
  else task.skip(messages.planChanges(report.changes, report.assumed));
}

/** A task run through runPlanned, its step made for each run from the context and the task; `enabled` as listr's. */
export function plannedTask<P>(title: string, step: (ctx: Ctx, task: TaskWrapper) => PlannedStep<P>, enabled?: Task['enabled']): Task {
  return { title, ...(enabled === undefined ? {} : { enabled }), task: (ctx, task) => runPlanned(ctx, task, title, step(ctx, task)) };
}

// Which listr2 renderer: the live one on an interactive terminal, one plain line per event elsewhere (CI, pipes).
export type RendererChoice = 'default' | 'simple';

export function chooseRenderer(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): RendererChoice {
  const ci = Boolean(env.CI && env.CI !== 'false' && env.CI !== '0');
  return isTTY && !ci && env.TERM !== 'dumb' ? 'default' : 'simple';
}

export interface Io {
  env: NodeJS.ProcessEnv;
  isTTY: boolean | undefined;
  /** The terminal's width (undefined when stdout is not a terminal): tables fit it, see tableWidth. */
  columns?: number;
  /** Where results go (tables, JSON). */
  print(text: string): void;
  /** Where notes go, so that --json output stays pure JSON. */
  warn(text: string): void;
}

/** The Listr every command runs its tasks in: the renderer chooseRenderer picks (silent for --json). */
export function makeListr(tasks: Task[], ctx: Ctx, io: Io): Listr<Ctx, ListrRendererValue, ListrRendererValue> {
  const renderer = ctx.options.json ? 'silent' : chooseRenderer(io.env, io.isTTY);
  return new Listr<Ctx, ListrRendererValue, ListrRendererValue>(tasks, {
    ctx,
    renderer,
    fallbackRenderer: 'simple',
    exitOnError: true,
    // Ctrl-C is handled in cli.ts: stop at once, with the usual exit code and a word on what to do.
    registerSignalListeners: false,
    // Each finished step shows how long it took ("✔ Cluster [1m4s]"): in CI logs a slow step is visible.
    rendererOptions: { collapseSubtasks: false, showSkipMessage: true, collapseSkips: false, suffixSkips: false, timer: PRESET_TIMER },
    fallbackRendererOptions: { timer: PRESET_TIMER },
  } as never);
}

/** Runs the tasks; their timings are added to ctx.timings whether they succeed or not. Throws the first task's error. */
export async function runTasks(tasks: Task[], ctx: Ctx, io: Io): Promise<void> {
  const listr = makeListr(tasks, ctx, io);
  const now = () => ctx.services.now().getTime();
  const started = now();
  const timings = watchTimings(listr.tasks, now);
  try {
    await listr.run();
  } finally {
    ctx.timings.steps.push(...timings());
    ctx.timings.totalMs += now() - started;
  }
  for (const note of ctx.notes) io.warn(`note: ${note}`);
}
