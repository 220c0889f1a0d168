// The registry container (compose/registry.yaml, created through dockerode) and the trusted image in it: what the
// registry step and the node step (which may publish it on one more address) converge.
import { formatCommand } from './adapters/cmd.js';
import type { ContainerSpec, ContainerState } from './adapters/docker.js';
import { trustedImagePath } from './image-ref.js';
import { localRegistry, localRegistryUrl, waitFor, type Ctx } from './context.js';
import { errorLine } from './errors.js';
import { messages } from './messages.js';
import { planRegistryAccess } from './registry-access.js';
import { containerDrift, isOurs, loadRegistrySpec } from './registry-spec.js';
import type { PlanReport, TaskWrapper } from './listr.js';

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

/**
 * The registry container: the one wanted, the one found, and what planRegistry makes of them. `unread`: why a dry run
 * could not ask the engine (the plan then assumes there is no container).
 */
export interface RegistryPlan {
  spec: ContainerSpec;
  found?: ContainerState;
  action: RegistryAction;
  unread?: string;
}

/**
 * Reads the container (an inspect, nothing else) and plans with planRegistry (`recreate`: --recreate-registry).
 * Throws as planRegistry does; an unreachable engine throws too, except in a dry run.
 */
export async function readRegistryPlan(ctx: Ctx, spec?: ContainerSpec, recreate = ctx.options.recreateRegistry): Promise<RegistryPlan> {
  spec ??= await desiredRegistrySpec(ctx);
  let found: ContainerState | undefined;
  try {
    found = await (await ctx.services.docker()).inspectContainer(spec.name);
  } catch (error) {
    if (!ctx.options.dryRun) throw error;
    return { spec, action: 'create', unread: errorLine(error) };
  }
  return { spec, found, action: planRegistry(found, spec, recreate) };
}

/** Where the spec publishes the registry, as `address:port` (e.g. "127.0.0.1:5000"). */
export const publishedOn = (spec: ContainerSpec) =>
  Object.values(spec.ports)
    .flatMap((port) => spec.listenAddresses.map((address) => `${address || '0.0.0.0'}:${port}`))
    .join(', ');

/** The plan as a dry run shows it; `imageHere`: whether the engine has the registry's image (no pull then). */
export function describeRegistryPlan(plan: RegistryPlan, imageHere: boolean): PlanReport {
  const { spec, action } = plan;
  if (action === 'none') return { nothing: messages.planRegistryRunning(spec.image, publishedOn(spec)) };
  const create = [
    ...(imageHere ? [] : [formatCommand('docker', ['pull', spec.image])]),
    messages.planRegistryCreate(spec.name, spec.image, publishedOn(spec), `${spec.volume.name}:${spec.volume.target}`, spec.restart),
  ];
  const steps = {
    start: [messages.planRegistryStart(spec.name, spec.image)],
    create,
    recreate: [messages.planRegistryRemove(spec.name, spec.volume.name), ...create],
  }[action];
  const assumed = plan.unread && messages.planUnread('Docker engine', plan.unread, 'there were no registry container');
  return { changes: steps.join(' && '), ...(assumed ? { assumed } : {}) };
}

/** Carries out a registry plan (remove, pull, create, start as it says), then waits until the registry answers. */
export async function applyRegistryPlan(ctx: Ctx, plan: RegistryPlan, task: TaskWrapper): Promise<RegistryAction> {
  const { spec, action } = plan;
  const docker = await ctx.services.docker();
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

/** Creates, starts or recreates the registry container as planRegistry decides (`recreate`: --recreate-registry). */
export async function convergeRegistry(
  ctx: Ctx,
  task: TaskWrapper,
  spec?: ContainerSpec,
  recreate = ctx.options.recreateRegistry,
): Promise<RegistryAction> {
  return applyRegistryPlan(ctx, await readRegistryPlan(ctx, spec, recreate), task);
}

/**
 * The trusted image: `source` (as configured) goes to `target:tag` in our registry unless it holds `repository:tag`
 * already. `unread`: why a dry run could not ask the registry (the plan then assumes it lacks the image).
 */
export interface TrustedImagePlan {
  source: string;
  repository: string;
  tag: string;
  /** What is pushed: localhost:<port>/<repository>. */
  target: string;
  present: boolean;
  unread?: string;
}

/** Asks the registry for the manifest (HEAD only). An unreachable registry throws, except in a dry run (which asks only a registry that runs as wanted). */
export async function readTrustedImagePlan(ctx: Ctx): Promise<TrustedImagePlan> {
  const { repository, tag } = trustedImagePath(ctx.config.trustedImage);
  const plan = { source: ctx.config.trustedImage, repository, tag, target: `${localRegistry(ctx)}/${repository}` };
  // Whatever answers on the port before our container runs is not our registry.
  if (ctx.options.dryRun && ctx.registryUnread) return { ...plan, present: false, unread: ctx.registryUnread };
  try {
    return { ...plan, present: await ctx.services.registryApi.hasManifest(localRegistryUrl(ctx), repository, tag) };
  } catch (error) {
    if (!ctx.options.dryRun) throw error;
    return { ...plan, present: false, unread: errorLine(error) };
  }
}

/** The plan as a dry run shows it: the docker commands that do the same; `imageHere`: no pull needed. */
export function describeTrustedImagePlan(plan: TrustedImagePlan, imageHere: boolean): PlanReport {
  if (plan.present) return { nothing: messages.planTrustedImagePresent(`${plan.repository}:${plan.tag}`) };
  const commands = [
    ...(imageHere ? [] : [formatCommand('docker', ['pull', plan.source])]),
    formatCommand('docker', ['tag', plan.source, `${plan.target}:${plan.tag}`]),
    formatCommand('docker', ['push', `${plan.target}:${plan.tag}`]),
  ];
  const assumed = plan.unread && messages.planUnread('the registry', plan.unread, `it did not hold ${plan.repository}:${plan.tag}`);
  return { changes: commands.join(' && '), ...(assumed ? { assumed } : {}) };
}

/** Pulls (when missing here), tags and pushes the trusted image as the plan says; false when it was there already. */
export async function applyTrustedImagePlan(ctx: Ctx, plan: TrustedImagePlan, task: TaskWrapper): Promise<boolean> {
  if (plan.present) return false;
  const { target, tag } = plan;
  const docker = await ctx.services.docker();
  await ensureImage(ctx, plan.source, task);
  await docker.tagImage(plan.source, target, tag);
  try {
    await docker.pushImage(target, tag, (line) => (task.output = line));
  } catch (error) {
    throw messages.pushFailed(`${target}:${tag}`, error);
  }
  return true;
}

/** Pushes the trusted image into the registry unless it is there; true when it pushed. */
export async function pushTrustedImage(ctx: Ctx, task: TaskWrapper): Promise<boolean> {
  return applyTrustedImagePlan(ctx, await readTrustedImagePlan(ctx), task);
}
