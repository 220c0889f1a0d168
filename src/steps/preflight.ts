// Preflight: every prerequisite checked before anything changes, each failure naming its fix.
import { CommandNotFoundError } from '../adapters/cmd.js';
import { looksLocal } from '../adapters/kube.js';
import { MINIKUBE_MIN_VERSION, versionAtLeast } from '../adapters/minikube.js';
import type { Ctx } from '../context.js';
import { errorText } from '../errors.js';
import { messages } from '../messages.js';
import { isOurs, loadRegistrySpec } from '../registry-spec.js';
import { isMinikube, type Task } from '../tasks.js';

export async function checkDocker(ctx: Ctx): Promise<string> {
  try {
    const docker = await ctx.services.docker();
    await docker.ping();
    return `Docker ${await docker.version()}`;
  } catch (error) {
    throw messages.dockerUnreachable(error);
  }
}

export async function checkMinikube(ctx: Ctx): Promise<string> {
  let version: string | undefined;
  try {
    version = await ctx.services.minikube.version();
  } catch (error) {
    if (error instanceof CommandNotFoundError) throw messages.minikubeMissing();
    throw error;
  }
  if (!version) throw messages.minikubeUnparsableVersion('');
  if (!versionAtLeast(version, MINIKUBE_MIN_VERSION)) throw messages.minikubeTooOld(version, MINIKUBE_MIN_VERSION);
  return `minikube ${version}`;
}

/** The port is free, or already held by our own registry container. */
export async function checkRegistryPort(ctx: Ctx): Promise<string> {
  const port = ctx.config.registryPort;
  const docker = await ctx.services.docker();
  const spec = await loadRegistrySpec(port);
  const container = await docker.inspectContainer(spec.name);
  if (container?.running && isOurs(container, spec) && Object.values(container.ports).includes(port)) {
    return `port ${port} held by our registry`;
  }
  if (await ctx.services.portInUse(port)) throw messages.portHeld(port);
  return `port ${port} free`;
}

/** --cluster existing: the context exists, looks local (or --yes), and answers. */
export async function checkExistingCluster(ctx: Ctx): Promise<string> {
  const kube = await ctx.services.kube(ctx.config.context);
  if (!ctx.options.yes && !looksLocal(kube.contextName, kube.server)) throw messages.contextNotLocal(kube.contextName, kube.server);
  const version = await kube.serverVersion();
  ctx.kube = kube;
  return `context ${kube.contextName}, Kubernetes ${version}`;
}

/** A custom policy is compiled by a real OPA before anything is applied, when an opa binary is at hand. */
export async function checkPolicyFile(ctx: Ctx): Promise<string> {
  const file = ctx.config.policyFile!;
  const opa = await ctx.services.opaBinary();
  if (!opa) {
    ctx.notes.push(messages.policyCheckUnavailable());
    return 'not checked (no opa binary)';
  }
  const result = await ctx.services.cmd.run(opa, ['check', '--v1-compatible', file]);
  if (result.exitCode !== 0) throw messages.policySyntax(file, result.stderr || result.stdout);
  return `${file} compiles`;
}

const check = (title: string, run: (ctx: Ctx) => Promise<string>, enabled: (ctx: Ctx) => boolean = () => true): Task => ({
  title,
  enabled,
  task: async (ctx, task) => {
    try {
      task.title = `${title}: ${await run(ctx)}`;
    } catch (error) {
      // A dry run prints the whole plan even where the machine is not ready for it.
      if (!ctx.options.dryRun) throw error;
      ctx.notes.push(errorText(error));
      task.skip(`${title}: would fail (${errorText(error).split('\n')[0]})`);
    }
  },
});

export const needsDocker = (ctx: Ctx) => ctx.config.cluster === 'minikube' || !ctx.options.keepRegistry;

export function preflightTasks(): Task[] {
  return [
    check('Docker engine', checkDocker),
    check('minikube', checkMinikube, isMinikube),
    check('Registry port', checkRegistryPort),
    check('Cluster', checkExistingCluster, (ctx) => !isMinikube(ctx)),
    check('Custom policy', checkPolicyFile, (ctx) => Boolean(ctx.config.policyFile)),
  ];
}
