import type { Ctx } from '../context.js';
import { errorText, formatError, rootError } from '../errors.js';
import { junitXml } from '../junit.js';
import { messages } from '../messages.js';
import { tableWidth } from '../table.js';
import { ensureEnvironmentUp } from '../environment-check.js';
import { formatChecks, verifyTasks } from '../steps/verify.js';
import { runTasks, type Io } from '../listr.js';

export async function verify(ctx: Ctx, io: Io): Promise<void> {
  const startedAt = ctx.services.now();
  let stopped: unknown;
  try {
    ctx.registryHost = ctx.config.registryHost ?? (await ctx.services.state.readRecord()).registryHost;
    // Nothing to verify without the webhook and a ready OPA: one line with the fix instead of a table of misses.
    await ensureEnvironmentUp(ctx, 'verify');
    await runTasks(verifyTasks(), ctx, io);
  } catch (error) {
    stopped = error;
  }
  const failed = ctx.checks.filter((c) => !c.passed).length;
  if (stopped === undefined) {
    if (ctx.options.json) {
      io.print(JSON.stringify({ passed: ctx.checks.length - failed, failed, registryHost: ctx.registryHost, checks: ctx.checks }, null, 2));
    } else if (ctx.checks.length) {
      io.print(formatChecks(ctx.checks, tableWidth(io.columns)));
    }
  }
  // Written whatever happened, so CI shows a verify that stopped early as an error rather than as no results.
  // A dry run writes nothing, a report either: it says where the report would go.
  if (ctx.options.junit && ctx.options.dryRun) io.warn(messages.junitNotInDryRun(ctx.options.junit));
  else if (ctx.options.junit) await writeJunit(ctx, io, startedAt, stopped);
  if (stopped !== undefined) throw stopped;
  if (failed) throw messages.verifyFailed(failed, ctx.checks.length);
}

async function writeJunit(ctx: Ctx, io: Io, startedAt: Date, stopped: unknown): Promise<void> {
  const file = ctx.options.junit!;
  const xml = junitXml({
    checks: ctx.checks,
    suite: ctx.options.suite,
    registryHost: ctx.registryHost,
    startedAt,
    seconds: (ctx.services.now().getTime() - startedAt.getTime()) / 1000,
    error: stopped === undefined ? undefined : errorText(rootError(stopped)),
  });
  try {
    await ctx.services.writeFile(file, xml);
  } catch (error) {
    // The error that stopped verify matters more than the report: say this one, raise that one.
    if (stopped !== undefined) io.warn(formatError(messages.junitUnwritable(file, error)));
    else throw messages.junitUnwritable(file, error);
  }
}
