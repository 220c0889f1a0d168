// `audit`: which existing pods and workloads the installed policy would deny, as the running OPA decides.
import type { Ctx } from '../context.js';
import { messages } from '../messages.js';
import { auditTask, formatAudit } from '../steps/audit.js';
import { ensureEnvironmentUp } from '../environment-check.js';
import { runTasks, type Io } from '../listr.js';

export async function audit(ctx: Ctx, io: Io): Promise<void> {
  await ensureEnvironmentUp(ctx, 'audit');
  await runTasks([auditTask()], ctx, io);
  const result = ctx.audit;
  if (!result) return; // dry run
  if (ctx.options.json) io.print(JSON.stringify(result, null, 2));
  else io.print(formatAudit(result));
  if (result.violations.length) throw messages.auditViolations(result.violations.length);
}
