// How every step reaches the cluster: the registry address the node pulls from and the Kubernetes client for the
// run. Shared by the steps, so that none of them imports another.
import type { KubeClient } from './adapters/kube.js';
import { isMinikube, type Ctx } from './context.js';
import { errorLine } from './errors.js';
import { messages } from './messages.js';

/** The address the minikube node reaches the host at, on every driver (minikube ≥ 1.10 writes it into the node's /etc/hosts). */
export const MINIKUBE_HOST_ALIAS = 'host.minikube.internal';

export function registryHostFor(ctx: Ctx): string {
  if (ctx.config.registryHost) return ctx.config.registryHost;
  if (isMinikube(ctx)) return `${MINIKUBE_HOST_ALIAS}:${ctx.config.registryPort}`;
  throw messages.registryHostRequired();
}

/** The Kubernetes client for this run: the profile's context (minikube names it after the profile), or the chosen one. */
export async function connect(ctx: Ctx) {
  ctx.kube ??= await ctx.services.kube(isMinikube(ctx) ? ctx.config.profile : ctx.config.context);
  return ctx.kube;
}

/**
 * The cluster as a step's plan reads it: the client, or — in a dry run, when the cluster cannot be reached or this
 * run would create it — `unread`, saying so (the plan then assumes it holds none of our objects). Outside a dry run it
 * is connect(), and throws as that does. The answer is kept for the run, so an unreachable cluster is tried once.
 */
export async function connectForPlan(ctx: Ctx): Promise<{ kube: KubeClient; unread?: undefined } | { kube?: undefined; unread: string }> {
  if (!ctx.options.dryRun) return { kube: await connect(ctx) };
  if (ctx.clusterUnread) return { unread: ctx.clusterUnread };
  if (ctx.clusterReachable && ctx.kube) return { kube: ctx.kube };
  try {
    const kube = await connect(ctx);
    await kube.serverVersion();
    ctx.clusterReachable = true;
    return { kube };
  } catch (error) {
    ctx.kube = undefined;
    ctx.clusterUnread = messages.planClusterUnread(errorLine(error));
    return { unread: ctx.clusterUnread };
  }
}
