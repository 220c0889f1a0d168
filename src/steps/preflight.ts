// Preflight: every prerequisite checked before anything changes, each failure naming its fix.
import { isIP } from 'node:net';
import path from 'node:path';
import { CommandNotFoundError } from '../adapters/cmd.js';
import { looksLocal } from '../adapters/kube.js';
import { MINIKUBE_MIN_VERSION, versionAtLeast } from '../adapters/minikube.js';
import { isMinikube, type Ctx } from '../context.js';
import { errorText, GroupFailed } from '../errors.js';
import { messages } from '../messages.js';
import { isOurs, loadRegistrySpec } from '../registry-spec.js';
import type { Task } from '../listr.js';

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
  let found: { version?: string; output: string };
  try {
    found = await ctx.services.minikube.version();
  } catch (error) {
    if (error instanceof CommandNotFoundError) throw messages.minikubeMissing();
    throw error;
  }
  const { version } = found;
  if (!version) throw messages.minikubeUnparsableVersion(found.output);
  if (!versionAtLeast(version, MINIKUBE_MIN_VERSION)) throw messages.minikubeTooOld(version, MINIKUBE_MIN_VERSION);
  return `minikube ${version}`;
}

/** The port is free, or already held by our own registry container. */
export async function checkRegistryPort(ctx: Ctx): Promise<string> {
  const port = ctx.config.registryPort;
  const docker = await ctx.services.docker();
  const spec = await loadRegistrySpec(port);
  // Whether the port is held by our registry needs the engine; without it, say that this check could not decide.
  const container = await docker.inspectContainer(spec.name).catch((error: unknown) => {
    throw messages.registryPortUnchecked(port, error);
  });
  if (container?.running && isOurs(container, spec) && Object.values(container.ports).includes(port)) {
    return `port ${port} held by our registry`;
  }
  if (await ctx.services.portInUse(port)) throw messages.portHeld(port);
  return `port ${port} free`;
}

/**
 * Whether the API server's address belongs to a container on this machine's Docker engine: a minikube profile of
 * any name (docker driver), kind or k3d reached through their container's address rather than a loopback port.
 */
async function apiServerInLocalContainer(ctx: Ctx, server: string): Promise<boolean> {
  let host: string;
  try {
    host = new URL(server).hostname;
  } catch {
    return false;
  }
  if (isIP(host) !== 4) return false;
  const docker = await ctx.services.docker().catch(() => undefined);
  return Boolean(await docker?.containerWithAddress(host).catch(() => undefined));
}

/** --cluster existing: the context exists, looks local (or --yes), and answers. */
export async function checkExistingCluster(ctx: Ctx): Promise<string> {
  const kube = await ctx.services.kube(ctx.config.context);
  if (!ctx.options.yes && !looksLocal(kube.contextName, kube.server) && !(await apiServerInLocalContainer(ctx, kube.server))) {
    throw messages.contextNotLocal(kube.contextName, kube.server);
  }
  const version = await kube.serverVersion();
  ctx.kube = kube;
  return `context ${kube.contextName}, Kubernetes ${version}`;
}

/**
 * A custom policy is compiled by a real OPA before anything is applied: an opa binary if one is at hand,
 * else the OPA image the cluster will run anyway, through Docker.
 */
export async function checkPolicyFile(ctx: Ctx): Promise<string> {
  const file = path.resolve(ctx.config.policyFile!);
  const opa = await ctx.services.opaBinary();
  let result;
  if (opa) {
    result = await ctx.services.cmd.run(opa, ['check', '--strict', file]);
  } else {
    const docker = await ctx.services.docker().catch(() => undefined);
    if (!docker || !(await docker.imageExists(ctx.config.opaImage).catch(() => false))) {
      ctx.notes.push(messages.policyCheckUnavailable());
      return 'not checked (no opa binary or OPA image here)';
    }
    const inContainer = `/policy/${path.basename(file)}`;
    result = await docker.runOnce(ctx.config.opaImage, ['check', '--strict', inContainer], [{ host: file, container: inContainer }]);
  }
  if (result.exitCode !== 0) throw messages.policySyntax(ctx.config.policyFile!, result.stderr || result.stdout);
  return `${ctx.config.policyFile} compiles`;
}

interface Check {
  title: string;
  run: (ctx: Ctx) => Promise<string>;
  enabled?: (ctx: Ctx) => boolean;
}

export const CHECKS: Check[] = [
  { title: 'Docker engine', run: checkDocker },
  { title: 'minikube', run: checkMinikube, enabled: isMinikube },
  { title: 'Registry port', run: checkRegistryPort },
  { title: 'Cluster', run: checkExistingCluster, enabled: (ctx) => !isMinikube(ctx) },
  { title: 'Custom policy', run: checkPolicyFile, enabled: (ctx) => Boolean(ctx.config.policyFile) },
];

/** All checks run side by side and all report; then the first failure stops the run (a dry run only notes them). */
export function preflightTask(): Task {
  return {
    title: 'Preflight',
    task: (ctx, parent) => {
      const failures: unknown[] = [];
      const subtasks: Task[] = CHECKS.map(({ title, run, enabled }) => ({
        title,
        enabled: enabled ?? (() => true),
        task: async (_ctx, task) => {
          try {
            task.title = `${title}: ${await run(ctx)}`;
          } catch (error) {
            if (!ctx.options.dryRun) {
              failures.push(error);
              throw error;
            }
            // A dry run prints the whole plan even where the machine is not ready for it.
            ctx.notes.push(errorText(error));
            task.skip(`${title}: would fail (${errorText(error).split('\n')[0]})`);
          }
        },
      }));
      // Returned, not run here: a sub-list run by hand gets a renderer of its own, and two live renderers on one
      // terminal leave every frame of the checks on the screen. The untitled second task (not shown) raises the
      // failures once all checks have reported.
      return parent.newListr(
        [
          { task: (_ctx, group) => group.newListr(subtasks, { concurrent: true, exitOnError: false }) },
          {
            task: () => {
              if (failures.length) throw new GroupFailed('preflight checks', failures);
            },
          },
        ],
        { concurrent: false, exitOnError: true },
      );
    },
  };
}
