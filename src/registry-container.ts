// The registry container (compose/registry.yaml, created through dockerode) and the trusted image in it: what the
// registry step and the node step (which may publish it on one more address) converge.
import type { ContainerSpec, ContainerState } from './adapters/docker.js';
import { trustedImagePath } from './config.js';
import { localRegistry, localRegistryUrl, waitFor, type Ctx } from './context.js';
import { messages } from './messages.js';
import { planRegistryAccess } from './registry-access.js';
import { containerDrift, isOurs, loadRegistrySpec } from './registry-spec.js';
import type { TaskWrapper } from './listr.js';

export type RegistryAction = 'create' | 'start' | 'none' | 'recreate';

/** What to do with the container, given what is there. Throws when it is not ours or drifted (unless recreating). */
export function planRegistry(state: ContainerState | undefined, spec: ContainerSpec, recreate: boolean): RegistryAction {
  if (!state) return 'create';
  if (!isOurs(state, spec)) throw messages.registryNotOurs(spec.name);
  const drift = containerDrift(state, spec);
  if (drift.length) {
    if (!recreate) throw messages.registryDrift(spec.name, drift);
    return 'recreate';
  }
  if (recreate) return 'recreate';
  return state.running ? 'none' : 'start';
}

async function ensureImage(ctx: Ctx, image: string, task: TaskWrapper): Promise<void> {
  const docker = await ctx.services.docker();
  if (await docker.imageExists(image)) return;
  task.output = `pulling ${image}`;
  try {
    await docker.pullImage(image, (line) => (task.output = line));
  } catch (error) {
    throw messages.pullFailed(image, error);
  }
}

/**
 * The registry container this run wants: compose/registry.yaml published on the planned addresses, plus the host
 * address a VM node reaches us through once the node step has found it (kept in the state record).
 */
export async function desiredRegistrySpec(ctx: Ctx): Promise<ContainerSpec> {
  const access = planRegistryAccess(ctx.config);
  const { registryNodeAddress } = await ctx.services.state.readRecord();
  const addresses =
    registryNodeAddress && !access.listenAddresses.includes('0.0.0.0')
      ? [...new Set([...access.listenAddresses, registryNodeAddress])]
      : access.listenAddresses;
  return loadRegistrySpec(ctx.config.registryPort, addresses);
}

/** Creates, starts or recreates the registry container as planRegistry decides (`recreate`: --recreate-registry). */
export async function convergeRegistry(
  ctx: Ctx,
  task: TaskWrapper,
  spec?: ContainerSpec,
  recreate = ctx.options.recreateRegistry,
): Promise<RegistryAction> {
  const docker = await ctx.services.docker();
  spec ??= await desiredRegistrySpec(ctx);
  const action = planRegistry(await docker.inspectContainer(spec.name), spec, recreate);
  if (action === 'recreate') await docker.removeContainer(spec.name); // the volume, and the images in it, stay
  if (action === 'create' || action === 'recreate') {
    await ensureImage(ctx, spec.image, task);
    await docker.createContainer(spec);
  }
  if (action !== 'none') await docker.startContainer(spec.name);
  const url = localRegistryUrl(ctx);
  await waitFor(
    ctx.services,
    30,
    async () => ((await ctx.services.registryApi.ping(url)) ? true : undefined),
    () => messages.registryNotAnswering(`${url}/v2/`, 30),
  );
  return action;
}

export async function pushTrustedImage(ctx: Ctx, task: TaskWrapper): Promise<boolean> {
  const { repository: path, tag } = trustedImagePath(ctx.config.trustedImage);
  if (await ctx.services.registryApi.hasManifest(localRegistryUrl(ctx), path, tag)) return false;
  const docker = await ctx.services.docker();
  await ensureImage(ctx, ctx.config.trustedImage, task);
  const target = `${localRegistry(ctx)}/${path}`;
  await docker.tagImage(ctx.config.trustedImage, target, tag);
  try {
    await docker.pushImage(target, tag, (line) => (task.output = line));
  } catch (error) {
    throw messages.pushFailed(`${target}:${tag}`, error);
  }
  return true;
}
