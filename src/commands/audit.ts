// `audit`: which existing pods and workloads the installed policy would deny, as the running OPA decides.
import type { Ctx } from '../context.js';
import { messages } from '../messages.js';
import { auditTask, formatAudit, startAudit } from '../steps/audit.js';
import { ensureEnvironmentUp } from '../environment-check.js';
import { runTasks, type Io } from '../listr.js';

export async function audit(ctx: Ctx, io: Io): Promise<void> {
  // The audit's reads start alongside the check of the environment (one round trip instead of two); when the
  // environment is not up, that one line is what is said, and the audit's outcome is dropped.
  const started = ctx.options.dryRun ? undefined : startAudit(ctx);
  await ensureEnvironmentUp(ctx, 'audit');
  await runTasks([auditTask(started)], ctx, io);
  const result = ctx.audit;
  if (!result) return; // dry run
  if (ctx.options.json) io.print(JSON.stringify(result, null, 2));
  else io.print(formatAudit(result));
  if (result.violations.length) throw messages.auditViolations(result.violations.length);
}
