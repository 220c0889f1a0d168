// The cluster: a dedicated minikube profile started with --insecure-registry, or the existing context.
import { formatCommand } from '../adapters/cmd.js';
import { registryProbeArgs, startArgs, type MinikubeProfile, type MinikubeStartOptions } from '../adapters/minikube.js';
import type { Ctx } from '../context.js';
import { messages } from '../messages.js';
import { dryRunSkip, isMinikube, type Task, type TaskWrapper } from '../tasks.js';

/** The address the minikube node reaches the host at, on every driver (minikube ≥ 1.10 writes it into the node's /etc/hosts). */
export const MINIKUBE_HOST_ALIAS = 'host.minikube.internal';

export function registryHostFor(ctx: Ctx): string {
  if (ctx.config.registryHost) return ctx.config.registryHost;
  if (isMinikube(ctx)) return `${MINIKUBE_HOST_ALIAS}:${ctx.config.registryPort}`;
  throw messages.registryHostRequired();
}

export function startOptions(ctx: Ctx): MinikubeStartOptions {
  return {
    profile: ctx.config.profile,
    insecureRegistry: registryHostFor(ctx),
    kubernetesVersion: ctx.config.kubernetesVersion,
    driver: ctx.config.minikubeDriver,
  };
}

export type ClusterAction = 'create' | 'start' | 'none' | 'recreate';

export function planCluster(profile: MinikubeProfile | undefined, insecureRegistry: string, recreate: boolean): ClusterAction {
  if (!profile) return 'create';
  if (!profile.insecureRegistries.includes(insecureRegistry)) {
    if (!recreate) throw messages.profileLacksInsecureRegistry(profile.name, insecureRegistry);
    return 'recreate';
  }
  if (recreate) return 'recreate';
  return profile.status === 'OK' || profile.status === 'Running' ? 'none' : 'start';
}

export async function convergeMinikube(ctx: Ctx, task: TaskWrapper): Promise<ClusterAction> {
  const { minikube, state } = ctx.services;
  const options = startOptions(ctx);
  const action = planCluster(await minikube.profile(options.profile), options.insecureRegistry, ctx.options.recreateCluster);
  const show = (line: string) => (task.output = line);
  if (action === 'recreate') await minikube.delete(options.profile, show);
  if (action !== 'none') {
    const result = await minikube.start(options, show);
    if (result.exitCode !== 0) throw messages.minikubeStartFailed(options.profile, result.stderr || result.stdout);
  }
  if (action === 'create' || action === 'recreate') await state.updateRecord({ createdProfile: true });
  return action;
}

export function clusterTasks(): Task[] {
  return [
    {
      title: 'Cluster',
      enabled: isMinikube,
      skip: dryRunSkip((ctx) => formatCommand('minikube', startArgs(startOptions(ctx)))),
      task: async (ctx, task) => {
        const action = await convergeMinikube(ctx, task);
        const said: Record<ClusterAction, string> = { none: 'already running', start: 'started', create: 'created', recreate: 'recreated' };
        task.title = `Cluster: minikube profile ${ctx.config.profile} ${said[action]}`;
      },
    },
  ];
}

/** After the registry and the node are both up: the node really reaches the registry at registryHost. */
export function nodeReachesRegistryTask(): Task {
  return {
    title: 'Registry reachable from the node',
    enabled: isMinikube,
    skip: dryRunSkip((ctx) => formatCommand('minikube', registryProbeArgs(ctx.config.profile, registryHostFor(ctx)))),
    task: async (ctx, task) => {
      const host = registryHostFor(ctx);
      const probe = await ctx.services.minikube.probeRegistry(ctx.config.profile, host);
      if (!probe.ok) throw messages.nodeCannotReachRegistry(ctx.config.profile, host, probe.output);
      task.title = `Registry reachable from the node at ${host}`;
    },
  };
}

/** The Kubernetes client for this run: the profile's context (minikube names it after the profile), or the chosen one. */
export async function connect(ctx: Ctx) {
  ctx.kube ??= await ctx.services.kube(isMinikube(ctx) ? ctx.config.profile : ctx.config.context);
  return ctx.kube;
}
