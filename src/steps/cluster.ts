// The cluster: a dedicated minikube profile started with --insecure-registry, or the existing context.
import { formatCommand } from '../adapters/cmd.js';
import {
  ALWAYS_PULL_IMAGES,
  deleteArgs,
  mirrorResult,
  nodeHostAddressArgs,
  mirrorCheckResult,
  nodeMirrorCheckScript,
  nodeMirrorScript,
  registryProbeArgs,
  startArgs,
  type MinikubeProfile,
  type MinikubeStartOptions,
} from '../adapters/minikube.js';
import type { KubeClient } from '../adapters/kube.js';
import { connect, connectForPlan, registryHostFor } from '../cluster-access.js';
import { isMinikube, type Ctx } from '../context.js';
import { containerdHostsPath, containerdHostsToml, nodeKindOfDriver, registryOnNetwork } from '../registry-access.js';
import { convergeRegistry, desiredRegistrySpec } from '../registry-container.js';
import { messages } from '../messages.js';
import { errorLine } from '../errors.js';
import { plannedTask, type PlanReport, type Task, type TaskWrapper } from '../listr.js';

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
  if (!profile.admissionPlugins.includes(ALWAYS_PULL_IMAGES)) {
    if (!recreate) throw messages.profileLacksAlwaysPullImages(profile.name);
    return 'recreate';
  }
  if (recreate) return 'recreate';
  return profile.status === 'OK' || profile.status === 'Running' ? 'none' : 'start';
}

/**
 * Our minikube profile: how it would be started, what `minikube profile list` says of it, and what planCluster makes of
 * that. `unread`: why a dry run could not list the profiles (the plan then assumes there is none).
 */
export interface ClusterPlan {
  options: MinikubeStartOptions;
  profile?: MinikubeProfile;
  action: ClusterAction;
  unread?: string;
}

/** Lists the profiles (`minikube profile list`, nothing else) and plans. Throws as planCluster does, and when minikube cannot list them (except in a dry run). */
export async function readClusterPlan(ctx: Ctx): Promise<ClusterPlan> {
  const options = startOptions(ctx);
  let profile: MinikubeProfile | undefined;
  try {
    profile = await ctx.services.minikube.profile(options.profile);
  } catch (error) {
    if (!ctx.options.dryRun) throw error;
    return { options, action: 'create', unread: errorLine(error) };
  }
  return { options, profile, action: planCluster(profile, options.insecureRegistry, ctx.options.recreateCluster) };
}

/** The plan as a dry run shows it: the minikube commands that would run, as they would run. */
export function describeClusterPlan(plan: ClusterPlan): PlanReport {
  const { options, profile, action } = plan;
  if (action === 'none') return { nothing: messages.planProfileRunning(options.profile, profile!.status, options.insecureRegistry) };
  const start = formatCommand('minikube', startArgs(options));
  const changes = action === 'recreate' ? `${formatCommand('minikube', deleteArgs(options.profile))} && ${start}` : start;
  const assumed = plan.unread && messages.planUnread('minikube profiles', plan.unread, `there were no profile ${options.profile}`);
  return { changes, ...(assumed ? { assumed } : {}) };
}

/** Starts, creates or recreates the profile as planned; records a profile it created. Throws minikube's words when it fails. */
export async function applyClusterPlan(ctx: Ctx, plan: ClusterPlan, task: TaskWrapper): Promise<ClusterAction> {
  const { minikube, state } = ctx.services;
  const { options, profile, action } = plan;
  // The driver of a profile that stays is known now: the node step needs no second `minikube profile list`.
  if (action === 'none' || action === 'start') ctx.clusterDriver = profile?.driver;
  const show = (line: string) => (task.output = line);
  if (action === 'recreate') await minikube.delete(options.profile, show);
  if (action !== 'none') {
    // A stopped node took its containers with it: pod statuses from before this moment are stale (a paused one, or one
    // minikube says is in error, may keep its containers, whose statuses stay true).
    if (action === 'start' && profile?.status === 'Stopped') ctx.clusterStartedAt = ctx.services.now();
    const result = await minikube.start(options, show);
    if (result.exitCode !== 0) throw messages.minikubeStartFailed(options.profile, result.stderr || result.stdout);
  }
  if (action === 'create' || action === 'recreate') await state.updateRecord({ createdProfile: true });
  return action;
}

/** Starts, creates or recreates our minikube profile as planCluster decides. */
export async function convergeMinikube(ctx: Ctx, task: TaskWrapper): Promise<ClusterAction> {
  return applyClusterPlan(ctx, await readClusterPlan(ctx), task);
}

export function clusterTasks(): Task[] {
  return [
    plannedTask<ClusterPlan>(
      'Cluster',
      (ctx, task) => ({
        read: () => readClusterPlan(ctx),
        report: async (plan) => {
          // What the later steps' plans build on: the driver of a profile that stays, and no objects in one to be made.
          if (plan.action === 'none' || plan.action === 'start') ctx.clusterDriver = plan.profile?.driver;
          else ctx.clusterUnread ??= messages.planClusterUnread(messages.planProfileMade(ctx.config.profile, plan.action));
          return describeClusterPlan(plan);
        },
        apply: async (plan) => {
          const action = await applyClusterPlan(ctx, plan, task);
          const said: Record<ClusterAction, string> = {
            none: 'already running',
            start: 'started',
            create: 'created',
            recreate: 'recreated',
          };
          task.title = `Cluster: minikube profile ${ctx.config.profile} ${said[action]}`;
        },
      }),
      isMinikube,
    ),
  ];
}

/** A node that is a container on this machine's Docker, and the network it is on (minikube: both named after the profile). */
export interface ContainerNode {
  container: string;
  network: string;
}

/**
 * How a container node gets to the registry: whether the registry must join the node's network, and whether the
 * mirror script must run (false only when a read-only look into the node found the file in place and the mirror
 * answering). `mirror` is the registry on that network (registry:5000); `unread`: what a dry run could not read.
 */
export interface ContainerNodePlan {
  node: ContainerNode;
  host: string;
  registry: string;
  mirror: string;
  join: boolean;
  writeMirror: boolean;
  unread?: string;
}

/**
 * Reads the registry container's networks and, once it is on the node's, looks into the node (read-only). Throws when
 * the registry container is gone (up has just made it), except in a dry run, where nothing was made.
 */
export async function readContainerNodePlan(ctx: Ctx, node: ContainerNode, host: string): Promise<ContainerNodePlan> {
  const spec = await desiredRegistrySpec(ctx);
  const mirror = registryOnNetwork(spec.name, Object.keys(spec.ports)[0]!.split('/')[0]!);
  const plan = { node, host, registry: spec.name, mirror, join: true, writeMirror: true };
  try {
    const docker = await ctx.services.docker();
    const registry = await docker.inspectContainer(spec.name);
    if (!registry && !ctx.options.dryRun) throw messages.registryContainerGone(spec.name);
    if (!registry?.networks.includes(node.network)) return plan;
    const path = containerdHostsPath(host);
    const toml = containerdHostsToml(host, mirror);
    // Through the Docker API into the node's container, as the mirror script itself runs.
    const executed = await docker.exec(node.container, ['sh', '-c', nodeMirrorCheckScript(path, toml, mirror)]);
    const check = executed
      ? mirrorCheckResult(executed.exitCode, executed.stdout, executed.stderr)
      : await ctx.services.minikube.checkMirror(ctx.config.profile, path, toml, mirror);
    return { ...plan, join: false, writeMirror: !(check.current && check.ok) };
  } catch (error) {
    if (!ctx.options.dryRun) throw error;
    return { ...plan, unread: errorLine(error) };
  }
}

/** Joins the network and runs the mirror script as planned; says how the node reaches the registry. Throws when the mirror does not answer. */
export async function applyContainerNodePlan(ctx: Ctx, plan: ContainerNodePlan): Promise<string> {
  const { node, host, mirror } = plan;
  const { network } = node;
  const docker = await ctx.services.docker();
  if (plan.join) {
    if (!(await docker.networkExists(network))) throw messages.nodeNetworkMissing(node.container, network);
    await docker.connectNetwork(plan.registry, network);
  }
  let written = false;
  if (plan.writeMirror) {
    const path = containerdHostsPath(host);
    const toml = containerdHostsToml(host, mirror);
    const executed = await docker.exec(node.container, ['sh', '-c', nodeMirrorScript(path, toml, mirror)]);
    const result = executed
      ? mirrorResult(executed.exitCode, executed.stdout, executed.stderr)
      : await ctx.services.minikube.configureMirror(ctx.config.profile, path, toml, mirror); // no such container: podman, say
    if (!result.ok) throw messages.nodeCannotReachRegistryOnNetwork(node.container, mirror, network, result.output);
    written = result.changed;
  }
  const changed = [plan.join && `joined network ${network}`, written && 'containerd mirror written'].filter(Boolean);
  return `through ${mirror} on network ${network}${changed.length ? ` (${changed.join(', ')})` : ''}`;
}

/** The commands a container node's plan runs, as they would run (the Docker API's equivalents for the join). */
function containerNodeCommands(plan: ContainerNodePlan): string[] {
  const { node, host, mirror } = plan;
  return [
    ...(plan.join ? [`docker network connect ${node.network} ${plan.registry}`] : []),
    ...(plan.writeMirror
      ? [
          formatCommand('docker', [
            'exec',
            node.container,
            'sh',
            '-c',
            nodeMirrorScript(containerdHostsPath(host), containerdHostsToml(host, mirror), mirror),
          ]),
        ]
      : []),
  ];
}

/**
 * The node of our minikube profile, by the kind of node its driver makes: a container on this Docker, this machine,
 * or a VM that reaches the registry through the host's address on its network (`address`, as the node resolves
 * host.minikube.internal; `republish`: the registry is not published there yet).
 */
export type NodePlan =
  | { kind: 'container'; container: ContainerNodePlan }
  | { kind: 'host'; host: string }
  | { kind: 'vm'; host: string; listen?: string; address?: string; republish: boolean; unread?: string };

/** Reads what the node step needs (the profile's driver if not known yet, then the node). Throws as the reads do, except in a dry run. */
export async function readNodePlan(ctx: Ctx): Promise<NodePlan> {
  const host = registryHostFor(ctx);
  const { minikube, state } = ctx.services;
  // The driver the profile really has: minikube may have chosen one when --driver was not given.
  try {
    ctx.clusterDriver ??= (await minikube.profile(ctx.config.profile))?.driver;
  } catch (error) {
    if (!ctx.options.dryRun) throw error;
  }
  const kind = nodeKindOfDriver(ctx.clusterDriver ?? ctx.config.minikubeDriver);
  if (kind === 'container') {
    return { kind, container: await readContainerNodePlan(ctx, { container: ctx.config.profile, network: ctx.config.profile }, host) };
  }
  if (kind === 'host') return { kind, host };
  // The user named the address: the registry already listens there; only check that the node gets through.
  if (ctx.config.registryListenAddress) return { kind, host, listen: ctx.config.registryListenAddress, republish: false };
  const address = await minikube.nodeHostAddress(ctx.config.profile).catch((error: unknown) => {
    if (!ctx.options.dryRun) throw error;
    return undefined;
  });
  if (!address) {
    if (!ctx.options.dryRun) throw messages.nodeHostAddressUnknown(ctx.config.profile);
    return { kind, host, republish: true, unread: 'the node does not answer' };
  }
  return { kind, host, address, republish: (await state.readRecord()).registryNodeAddress !== address };
}

/** The node plan as a dry run shows it: the exact commands, by the kind of node. */
export function describeNodePlan(ctx: Ctx, plan: NodePlan): PlanReport {
  const probe = (host: string) => formatCommand('minikube', registryProbeArgs(ctx.config.profile, host));
  switch (plan.kind) {
    case 'container': {
      const { container } = plan;
      const commands = containerNodeCommands(container);
      if (!commands.length)
        return { nothing: messages.planNodeMirrorInPlace(container.node.container, container.mirror, container.node.network) };
      const assumed = container.unread && messages.planUnread('the registry and the node', container.unread, 'neither were set up');
      return { changes: commands.join(' && '), ...(assumed ? { assumed } : {}) };
    }
    case 'host':
      return { nothing: messages.planNodeIsHost(plan.host) };
    case 'vm': {
      if (!plan.republish) return { nothing: messages.planNodeVmPublished(plan.listen ?? plan.address!, probe(plan.host)) };
      const changes = [
        ...(plan.address ? [] : [formatCommand('minikube', nodeHostAddressArgs(ctx.config.profile))]),
        messages.planRegistryRepublish(plan.address),
        probe(plan.host),
      ].join(' && ');
      const assumed = plan.unread && messages.planUnread('the node', plan.unread, 'the registry were not published on its network yet');
      return { changes, ...(assumed ? { assumed } : {}) };
    }
  }
}

/** Carries out the node plan, then checks from the node that the registry answers; says how it is reached. Throws when it does not answer. */
export async function applyNodePlan(ctx: Ctx, task: TaskWrapper, plan: NodePlan): Promise<string> {
  const { minikube, state } = ctx.services;
  switch (plan.kind) {
    case 'container':
      return applyContainerNodePlan(ctx, plan.container);
    case 'host':
      // The node is this machine: minikube maps host.minikube.internal to 127.0.0.1 here.
      if (!(await ctx.services.registryApi.ping(`http://${plan.host}`)))
        throw messages.nodeCannotReachRegistry(ctx.config.profile, plan.host, 'no answer from this machine');
      return `at ${plan.host} (the node is this machine)`;
    case 'vm': {
      if (plan.republish) {
        await state.updateRecord({ registryNodeAddress: plan.address });
        // Published on one more address: recreated (ours by its label; the pushed images stay in the volume).
        await convergeRegistry(ctx, task, undefined, true);
      }
      const probe = await minikube.probeRegistry(ctx.config.profile, plan.host);
      if (!probe.ok) throw messages.nodeCannotReachRegistry(ctx.config.profile, plan.host, probe.output);
      return `at ${plan.host} (published on ${plan.listen ?? plan.address})`;
    }
  }
}

/**
 * --cluster existing: the nodes that are containers on this machine's Docker (kind, k3d, a minikube profile), found by
 * their InternalIP; each gets the registry on its network and the containerd mirror. Nodes elsewhere get nothing: the
 * registry listens where registryListenAddress says. Reads only.
 */
export async function containerNodes(ctx: Ctx, kube?: KubeClient): Promise<ContainerNode[]> {
  kube ??= await connect(ctx);
  const docker = await ctx.services.docker();
  const addresses = (await kube.list('v1', 'Node')).flatMap((n) =>
    ((n.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === 'InternalIP'),
  );
  const found = await Promise.all(addresses.map((a) => docker.containerWithAddress(a.address)));
  return found.filter((f): f is { name: string; network: string } => Boolean(f)).map((f) => ({ container: f.name, network: f.network }));
}

export function existingNodesReachRegistryTask(): Task {
  const title = 'Registry reachable from the nodes';
  return plannedTask<{ nodes: ContainerNode[]; unread?: string }>(
    title,
    (ctx, task) => ({
      read: async () => {
        const cluster = await connectForPlan(ctx);
        return cluster.kube ? { nodes: await containerNodes(ctx, cluster.kube) } : { nodes: [], unread: cluster.unread };
      },
      report: async ({ nodes, unread }) => {
        if (unread) return { changes: messages.planExistingNodes((await desiredRegistrySpec(ctx)).name), assumed: unread };
        const plans = await Promise.all(nodes.map((node) => readContainerNodePlan(ctx, node, registryHostFor(ctx))));
        // Nodes on one network: the registry joins it once.
        const commands = [...new Set(plans.flatMap(containerNodeCommands))];
        if (commands.length) return { changes: commands.join(' && ') };
        return {
          nothing:
            plans.map((p) => messages.planNodeMirrorInPlace(p.node.container, p.mirror, p.node.network)).join('; ') ||
            messages.planNoContainerNodes(),
        };
      },
      apply: async ({ nodes }) => {
        if (!nodes.length) return task.skip('Registry and nodes: no node is a container on this Docker; nothing to join');
        const how = [];
        // One node after the other, each read just before it is wired: nodes on one network share the join.
        for (const node of nodes) {
          how.push(`${node.container} ${await applyContainerNodePlan(ctx, await readContainerNodePlan(ctx, node, registryHostFor(ctx)))}`);
        }
        task.title = `${title}: ${how.join('; ')}`;
      },
    }),
    (ctx) => !isMinikube(ctx),
  );
}

/** After the registry and the node are both up: the node really reaches the registry at registryHost. */
export function nodeReachesRegistryTask(): Task {
  const title = 'Registry reachable from the node';
  return plannedTask<NodePlan>(
    title,
    (ctx, task) => ({
      read: () => readNodePlan(ctx),
      report: async (plan) => describeNodePlan(ctx, plan),
      apply: async (plan) => {
        task.title = `${title} ${await applyNodePlan(ctx, task, plan)}`;
      },
    }),
    isMinikube,
  );
}
