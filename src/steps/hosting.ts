// The KEP-1755 ConfigMap kube-public/local-registry-hosting, so that Tilt and Skaffold find our registry.
import type { KubeClient, KubeObject } from '../adapters/kube.js';
import type { Ctx } from '../context.js';
import { isManaged } from '../manifests.js';
import { messages } from '../messages.js';
import {
  readRegistryHosting,
  registryHosting,
  registryHostingConfigMap,
  REGISTRY_HOSTING_REF,
  type LocalRegistryHostingV1,
} from '../registry-hosting.js';
import { plannedTask, type Task } from '../listr.js';
import { connectForPlan, registryHostFor } from '../cluster-access.js';
import { describeObjectPlans, objectChange, type ObjectChange } from '../object-plan.js';

export const desiredRegistryHosting = (ctx: Ctx): LocalRegistryHostingV1 =>
  registryHosting({ config: ctx.config, registryHost: ctx.registryHost ?? registryHostFor(ctx) });

/** What to do with the live ConfigMap: leave one without our label alone (`theirs`: what it names), else apply ours as it changes. */
export type HostingPlan = { theirs: LocalRegistryHostingV1 | undefined } | { change: ObjectChange };

/** Plans from the live ConfigMap (read through `kube`; undefined: a dry run without a cluster, planned as none there). */
export async function planRegistryHosting(kube: KubeClient | undefined, desired: KubeObject): Promise<HostingPlan> {
  const live = kube && (await kube.get(REGISTRY_HOSTING_REF));
  if (live && !isManaged(live)) return { theirs: readRegistryHosting(live) };
  return { change: await objectChange(kube, live, desired) };
}

export function registryHostingTask(): Task {
  const title = 'Registry hosting for tools (kube-public/local-registry-hosting)';
  return plannedTask<{ kube?: KubeClient; unread?: string; plan: HostingPlan }>(title, (ctx, task) => {
    ctx.registryHost ??= registryHostFor(ctx);
    const hosting = desiredRegistryHosting(ctx);
    const desired = registryHostingConfigMap(hosting);
    const noteTheirs = (theirs: LocalRegistryHostingV1 | undefined) =>
      ctx.notes.push(messages.registryHostingNotOurs(theirs?.host, hosting.host));
    return {
      read: async () => {
        const { kube, unread } = await connectForPlan(ctx);
        return { kube, unread, plan: await planRegistryHosting(kube, desired) };
      },
      report: async ({ unread, plan }) => {
        if ('theirs' in plan) {
          noteTheirs(plan.theirs);
          return { nothing: messages.planHostingNotOurs() };
        }
        if (plan.change === 'unchanged') return { nothing: messages.planHosting(hosting.host, String(hosting.hostFromContainerRuntime)) };
        return describeObjectPlans([{ object: desired, change: plan.change }], unread);
      },
      apply: async ({ kube, plan }) => {
        if ('theirs' in plan) {
          noteTheirs(plan.theirs);
          task.title = 'Registry hosting: kube-public/local-registry-hosting is not ours; left unchanged';
          return;
        }
        // A plan is applied only outside a dry run, where reading it connected or threw.
        if (plan.change !== 'unchanged') await kube!.apply(desired);
        task.title = `Registry hosting: push to ${hosting.host}, manifests use ${hosting.hostFromContainerRuntime}`;
      },
    };
  });
}
