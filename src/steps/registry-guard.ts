// Closes the registry's addresses to other hosts, where the Docker engine leaves them open (before Docker 28): one
// packet-filter rule for 127.0.0.1 at its port and one per network the registry is on, made after it has joined the
// node's network.
import { formatCommand } from '../adapters/cmd.js';
import { guardArgv, type GuardRule } from '../adapters/firewall.js';
import type { Ctx } from '../context.js';
import { plannedTask, type PlanReport, type Task } from '../listr.js';
import { messages } from '../messages.js';
import { desiredRegistrySpec } from '../registry-container.js';
import { describeGuardRule, readGuardPlan, type GuardPlan } from '../registry-guard.js';

const iptables = (op: '-C' | '-I' | '-D', rule: GuardRule) => formatCommand('iptables', guardArgv(op, rule));

function describeGuardPlan(ctx: Ctx, plan: GuardPlan): PlanReport {
  if ('unneeded' in plan) return { nothing: plan.unneeded };
  if ('pending' in plan) return { changes: messages.planGuardPending() };
  if ('unmanageable' in plan) {
    // Checked first, so that running the lines again adds nothing twice.
    ctx.notes.push(
      messages.registryGuardUnmanageable(
        plan.unmanageable.map((r) => `sudo ${iptables('-C', r)} 2>/dev/null || sudo ${iptables('-I', r)}`),
      ),
    );
    return { nothing: messages.planGuardUnmanageable() };
  }
  const commands = [...plan.remove.map((r) => iptables('-D', r)), ...plan.add.map((r) => iptables('-I', r))];
  if (!commands.length) return { nothing: messages.planGuardInPlace(plan.desired.map(describeGuardRule)) };
  return { changes: commands.join('\n') };
}

export function registryGuardTask(): Task {
  const title = 'Registry closed to other hosts';
  return plannedTask<GuardPlan>(title, (ctx, task) => ({
    read: () => readGuardPlan(ctx),
    report: (plan) => describeGuardPlan(ctx, plan),
    apply: async (plan) => {
      // up made the container before this step: its addresses are known (a container gone since is the next up's).
      if ('pending' in plan) throw messages.registryContainerGone((await desiredRegistrySpec(ctx)).name);
      if ('desired' in plan) {
        for (const rule of plan.remove) await ctx.services.firewall.removeGuard(rule);
        for (const rule of plan.add) await ctx.services.firewall.addGuard(rule);
      }
      // Described as it now stands: the rules in place (or why none are needed, or cannot be made).
      const report = describeGuardPlan(ctx, 'desired' in plan ? { ...plan, add: [], remove: [] } : plan);
      if ('nothing' in report) task.title = `${title}: ${report.nothing}`;
    },
  }));
}
