import type { Ctx } from '../context.js';
import { messages } from '../messages.js';
import { ensureEnvironmentUp, formatChecks, verifyTasks } from '../steps/verify.js';
import { runTasks, type Io } from './run.js';

export async function verify(ctx: Ctx, io: Io): Promise<void> {
  ctx.registryHost = ctx.config.registryHost ?? (await ctx.services.state.readRecord()).registryHost;
  await ensureEnvironmentUp(ctx, 'verify');
  await runTasks(verifyTasks(), ctx, io);
  const failed = ctx.checks.filter((c) => !c.passed).length;
  if (ctx.options.json) {
    io.print(JSON.stringify({ passed: ctx.checks.length - failed, failed, registryHost: ctx.registryHost, checks: ctx.checks }, null, 2));
  } else if (ctx.checks.length) {
    io.print(formatChecks(ctx.checks));
  }
  if (failed) throw messages.verifyFailed(failed, ctx.checks.length);
}
