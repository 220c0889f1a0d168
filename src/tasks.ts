import type { ListrTask, ListrTaskWrapper } from 'listr2';
import type { Ctx } from './context.js';

export type Task = ListrTask<Ctx>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskWrapper = ListrTaskWrapper<Ctx, any, any>;

/** Dry run: side-effecting tasks skip, and the skip message is the exact command or object they would apply. */
export const dryRunSkip = (describe: (ctx: Ctx) => string) => (ctx: Ctx) => (ctx.options.dryRun ? `dry run: ${describe(ctx)}` : false);

export const isMinikube = (ctx: Ctx) => ctx.config.cluster === 'minikube';
