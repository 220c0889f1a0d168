// The cluster: a dedicated minikube profile started with --insecure-registry, or the existing context.
import { formatCommand } from '../adapters/cmd.js';
import {
  ALWAYS_PULL_IMAGES,
  mirrorResult,
  nodeHostAddressArgs,
  nodeMirrorScript,
  registryProbeArgs,
  startArgs,
  type MinikubeProfile,
  type MinikubeStartOptions,
} from '../adapters/minikube.js';
import { connect, registryHostFor } from '../cluster-access.js';
import { isMinikube, type Ctx } from '../context.js';
import { containerdHostsPath, containerdHostsToml, nodeKindOfDriver, planRegistryAccess, registryOnNetwork } from '../registry-access.js';
import { convergeRegistry, desiredRegistrySpec } from '../registry-container.js';
import { messages } from '../messages.js';
import { dryRunSkip, type Task, type TaskWrapper } from '../listr.js';

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

export async function convergeMinikube(ctx: Ctx, task: TaskWrapper): Promise<ClusterAction> {
  const { minikube, state } = ctx.services;
  const options = startOptions(ctx);
  const profile = await minikube.profile(options.profile);
  const action = planCluster(profile, options.insecureRegistry, ctx.options.recreateCluster);
  // The driver of a profile that stays is known now: the node step needs no second `minikube profile list`.
  if (action === 'none' || action === 'start') ctx.clusterDriver = profile?.driver;
  const show = (line: string) => (task.output = line);
  if (action === 'recreate') await minikube.delete(options.profile, show);
  if (action !== 'none') {
    ctx.clusterStartedAt = ctx.services.now();
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

/** What the node step would do, for the dry run: the exact commands, by the kind of node the driver makes. */
function describeNodeAccess(ctx: Ctx): string {
  const host = registryHostFor(ctx);
  const access = planRegistryAccess(ctx.config);
  switch (access.node) {
    case 'container': {
      const mirror = registryOnNetwork('registry', '5000');
      return [
        `docker network connect ${access.network} registry`,
        formatCommand('docker', [
          'exec',
          ctx.config.profile,
          'sh',
          '-c',
          nodeMirrorScript(containerdHostsPath(host), containerdHostsToml(host, mirror), mirror),
        ]),
      ].join(' && ');
    }
    case 'host':
      return `GET http://${host}/v2/ from this machine (the node)`;
    case 'vm':
      return [
        formatCommand('minikube', nodeHostAddressArgs(ctx.config.profile)),
        'publish the registry on that address too (recreating the container: images stay in the volume)',
        formatCommand('minikube', registryProbeArgs(ctx.config.profile, host)),
      ].join(' && ');
  }
}

/** A containerised node: the registry joins its Docker network, and the node's containerd pulls registryHost through it. */
/**
 * A node that is a container on this machine's Docker: the registry joins its network, and the node's containerd pulls
 * `host` through the registry there. `node` is the node's container and the network it is on (minikube: both named
 * after the profile).
 */
async function wireContainerNode(ctx: Ctx, node: { container: string; network: string }, host: string): Promise<string> {
  const { network } = node;
  const docker = await ctx.services.docker();
  const spec = await desiredRegistrySpec(ctx);
  const registry = await docker.inspectContainer(spec.name);
  if (!registry) throw messages.registryContainerGone(spec.name);
  const joined = registry.networks.includes(network);
  if (!joined) {
    if (!(await docker.networkExists(network))) throw messages.nodeNetworkMissing(node.container, network);
    await docker.connectNetwork(spec.name, network);
  }
  const mirror = registryOnNetwork(spec.name, Object.keys(spec.ports)[0]!.split('/')[0]!);
  // Through the Docker API into the node's container (named after the profile): a tenth of a `minikube ssh`.
  const path = containerdHostsPath(host);
  const toml = containerdHostsToml(host, mirror);
  const executed = await docker.exec(node.container, ['sh', '-c', nodeMirrorScript(path, toml, mirror)]);
  const result = executed
    ? mirrorResult(executed.exitCode, executed.stdout, executed.stderr)
    : await ctx.services.minikube.configureMirror(ctx.config.profile, path, toml, mirror); // no such container: podman, say
  if (!result.ok) throw messages.nodeCannotReachRegistryOnNetwork(node.container, mirror, network, result.output);
  const changed = [!joined && `joined network ${network}`, result.changed && 'containerd mirror written'].filter(Boolean);
  return `through ${mirror} on network ${network}${changed.length ? ` (${changed.join(', ')})` : ''}`;
}

/** A VM node reaches us through the host's address on its network: publish there too, found from the node. */
async function wireVmNode(ctx: Ctx, task: TaskWrapper, host: string): Promise<string> {
  const { minikube, state } = ctx.services;
  if (ctx.config.registryListenAddress) {
    // The user named the address: the registry already listens there; only check that the node gets through.
    const probe = await minikube.probeRegistry(ctx.config.profile, host);
    if (!probe.ok) throw messages.nodeCannotReachRegistry(ctx.config.profile, host, probe.output);
    return `at ${host} (published on ${ctx.config.registryListenAddress})`;
  }
  const address = await minikube.nodeHostAddress(ctx.config.profile);
  if (!address) throw messages.nodeHostAddressUnknown(ctx.config.profile);
  const record = await state.readRecord();
  if (record.registryNodeAddress !== address) {
    await state.updateRecord({ registryNodeAddress: address });
    // Published on one more address: recreated (ours by its label; the pushed images stay in the volume).
    await convergeRegistry(ctx, task, undefined, true);
  }
  const probe = await minikube.probeRegistry(ctx.config.profile, host);
  if (!probe.ok) throw messages.nodeCannotReachRegistry(ctx.config.profile, host, probe.output);
  return `at ${host} (published on ${address})`;
}

/**
 * --cluster existing: the nodes that are containers on this machine's Docker (kind, k3d, a minikube profile), found by
 * their InternalIP; each gets the registry on its network and the containerd mirror. Nodes elsewhere get nothing: the
 * registry listens where registryListenAddress says.
 */
export async function containerNodes(ctx: Ctx): Promise<{ container: string; network: string }[]> {
  const kube = await connect(ctx);
  const docker = await ctx.services.docker();
  const addresses = (await kube.list('v1', 'Node')).flatMap((n) =>
    ((n.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === 'InternalIP'),
  );
  const found = await Promise.all(addresses.map((a) => docker.containerWithAddress(a.address)));
  return found.filter((f): f is { name: string; network: string } => Boolean(f)).map((f) => ({ container: f.name, network: f.network }));
}

export function existingNodesReachRegistryTask(): Task {
  return {
    title: 'Registry reachable from the nodes',
    enabled: (ctx) => !isMinikube(ctx),
    skip: dryRunSkip(() => 'nodes that are containers here: docker network connect <their network> registry, and a containerd mirror'),
    task: async (ctx, task) => {
      const host = registryHostFor(ctx);
      const nodes = await containerNodes(ctx);
      if (!nodes.length) return task.skip('Registry and nodes: no node is a container on this Docker; nothing to join');
      const how = [];
      for (const node of nodes) how.push(`${node.container} ${await wireContainerNode(ctx, node, host)}`);
      task.title = `Registry reachable from the nodes: ${how.join('; ')}`;
    },
  };
}

/** After the registry and the node are both up: the node really reaches the registry at registryHost. */
export function nodeReachesRegistryTask(): Task {
  return {
    title: 'Registry reachable from the node',
    enabled: isMinikube,
    skip: dryRunSkip(describeNodeAccess),
    task: async (ctx, task) => {
      const host = registryHostFor(ctx);
      // The driver the profile really has: minikube may have chosen one when --driver was not given.
      ctx.clusterDriver ??= (await ctx.services.minikube.profile(ctx.config.profile))?.driver;
      const kind = nodeKindOfDriver(ctx.clusterDriver ?? ctx.config.minikubeDriver);
      let how: string;
      if (kind === 'container') how = await wireContainerNode(ctx, { container: ctx.config.profile, network: ctx.config.profile }, host);
      else if (kind === 'vm') how = await wireVmNode(ctx, task, host);
      else {
        // The node is this machine: minikube maps host.minikube.internal to 127.0.0.1 here.
        if (!(await ctx.services.registryApi.ping(`http://${host}`)))
          throw messages.nodeCannotReachRegistry(ctx.config.profile, host, 'no answer from this machine');
        how = `at ${host} (the node is this machine)`;
      }
      task.title = `Registry reachable from the node ${how}`;
    },
  };
}
