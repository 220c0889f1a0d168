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
import type { Task } from '../listr.js';
import { connect, registryHostFor } from '../cluster-access.js';
import { toYaml } from '../manifests.js';

export const desiredRegistryHosting = (ctx: Ctx): LocalRegistryHostingV1 =>
  registryHosting({ config: ctx.config, registryHost: ctx.registryHost ?? registryHostFor(ctx) });

export type HostingOutcome = { applied: true } | { applied: false; theirs: LocalRegistryHostingV1 | undefined };

/** Applies ours; one that exists without our label (kind's, ctlptl's, the user's) is left as it is and described. */
export async function applyRegistryHosting(kube: KubeClient, desired: KubeObject): Promise<HostingOutcome> {
  const live = await kube.get(REGISTRY_HOSTING_REF);
  if (live && !isManaged(live)) return { applied: false, theirs: readRegistryHosting(live) };
  await kube.apply(desired);
  return { applied: true };
}

export function registryHostingTask(): Task {
  return {
    title: 'Registry hosting for tools (kube-public/local-registry-hosting)',
    task: async (ctx, task) => {
      ctx.registryHost ??= registryHostFor(ctx);
      const hosting = desiredRegistryHosting(ctx);
      const desired = registryHostingConfigMap(hosting);
      if (ctx.options.dryRun) return task.skip(`dry run: server-side apply (field manager bootstrap):\n${toYaml([desired])}`);
      const outcome = await applyRegistryHosting(await connect(ctx), desired);
      if (!outcome.applied) {
        ctx.notes.push(messages.registryHostingNotOurs(outcome.theirs?.host, hosting.host));
        task.title = 'Registry hosting: kube-public/local-registry-hosting is not ours; left unchanged';
        return;
      }
      task.title = `Registry hosting: push to ${hosting.host}, manifests use ${hosting.hostFromContainerRuntime}`;
    },
  };
}
