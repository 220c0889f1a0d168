// How every step reaches the cluster: the registry address the node pulls from and the Kubernetes client for the
// run. Shared by the steps, so that none of them imports another.
import { isMinikube, type Ctx } from './context.js';
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
