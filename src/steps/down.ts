// `down`: the webhook first (so nothing depends on OPA any more), then the rest; only what carries our label.
import { formatCommand } from '../adapters/cmd.js';
import { deleteArgs } from '../adapters/minikube.js';
import { describeRef, refOf, type KubeClient, type ObjectRef } from '../adapters/kube.js';
import { isMinikube, waitFor, type Ctx } from '../context.js';
import { GUARD_COMMENT_PREFIX } from '../adapters/firewall.js';
import { removeRegistryGuard } from '../registry-guard.js';
import { errorText } from '../errors.js';
import { CLAIMED_NAMES, isManaged, kubeSystemUnlabel, MANAGED_SELECTOR, OPA_NAMESPACE, WEBHOOK_IGNORE_LABEL } from '../manifests.js';
import { messages } from '../messages.js';
import { REGISTRY_HOSTING_REF } from '../registry-hosting.js';
import { nodeKindOfDriver } from '../registry-access.js';
import { isOurs, loadRegistrySpec } from '../registry-spec.js';
import { dryRunSkip, type Task, type TaskWrapper } from '../listr.js';
import { STATE_FILES, STATE_RECORD } from '../adapters/state.js';
import { connect } from '../cluster-access.js';
import { WORKLOAD_KINDS } from '../workloads.js';

const [NAMESPACE_REF, BINDING_REF, WEBHOOK_REF] = CLAIMED_NAMES as [ObjectRef, ObjectRef, ObjectRef];
/** What a stopped verify may leave: its pods, and the workloads of the extended matrix. */
const VERIFY_KINDS = [{ apiVersion: 'v1', kind: 'Pod' }, ...WORKLOAD_KINDS];
const labels = (set: Record<string, string>) =>
  Object.entries(set)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Deletes the object if it exists and is ours; says what happened. */
export async function deleteIfOurs(kube: KubeClient, ref: ObjectRef): Promise<'deleted' | 'absent' | 'not ours'> {
  const live = await kube.get(ref);
  if (!live) return 'absent';
  if (!isManaged(live)) return 'not ours';
  return (await kube.delete(ref)) ? 'deleted' : 'absent';
}

/** Whether the cluster is there to clean; a missing or stopped cluster has nothing of ours left to remove. */
async function reachCluster(ctx: Ctx): Promise<KubeClient | undefined> {
  if (ctx.kube) return ctx.kube;
  try {
    if (isMinikube(ctx) && !(await ctx.services.minikube.profile(ctx.config.profile).catch(() => undefined))) return undefined;
    const kube = await connect(ctx);
    await kube.serverVersion();
    return kube;
  } catch (error) {
    ctx.notes.push(`Cluster not reachable (${errorText(error).split('\n')[0]}): skipped removing objects from it.`);
    ctx.kube = undefined;
    return undefined;
  }
}

/** `would` is what a dry run says instead, from the same names the task uses. */
const kubeTask = (
  title: string,
  would: (ctx: Ctx) => string,
  run: (ctx: Ctx, kube: KubeClient, task: TaskWrapper) => Promise<string>,
): Task => ({
  title,
  skip: dryRunSkip(would),
  task: async (ctx, task) => {
    const kube = await reachCluster(ctx);
    if (!kube) return task.skip(`${title}: cluster not reachable`);
    task.title = `${title}: ${await run(ctx, kube, task)}`;
  },
});

export function downTasks(): Task[] {
  return [
    kubeTask(
      'Admission webhook',
      () => messages.planDeleteOurs([describeRef(WEBHOOK_REF)], MANAGED_SELECTOR),
      async (_ctx, kube) => deleteIfOurs(kube, WEBHOOK_REF),
    ),
    kubeTask(
      'Verification pods and workloads',
      (ctx) =>
        messages.planDeleteLabelled(
          VERIFY_KINDS.map((k) => k.kind),
          ctx.config.verifyNamespace,
          MANAGED_SELECTOR,
        ),
      async (ctx, kube) => {
        // Left only by a verify that was stopped halfway: its pods, and the workloads of the extended matrix.
        const namespace = ctx.config.verifyNamespace;
        const deleted = await Promise.all(
          VERIFY_KINDS.map(async ({ apiVersion, kind }) => {
            const objects = await kube.list(apiVersion, kind, { namespace, labelSelector: MANAGED_SELECTOR });
            await Promise.all(objects.map((o) => kube.delete({ apiVersion, kind, namespace, name: o.metadata!.name! })));
            return objects.length;
          }),
        );
        const count = deleted.reduce((a, b) => a + b, 0);
        return count ? `${count} deleted` : 'absent';
      },
    ),
    kubeTask(
      'Namespace opa',
      () => messages.planDeleteOurs([describeRef(BINDING_REF), describeRef(NAMESPACE_REF)], MANAGED_SELECTOR),
      async (ctx, kube, task) => {
        const binding = await deleteIfOurs(kube, BINDING_REF);
        const result = await deleteIfOurs(kube, NAMESPACE_REF);
        if (result === 'deleted') {
          task.output = 'waiting for the namespace to go';
          try {
            await waitFor(
              ctx.services,
              60,
              async () => ((await kube.get(NAMESPACE_REF)) ? undefined : true),
              () => new Error('terminating'),
            );
          } catch {
            ctx.notes.push(messages.namespaceStillTerminating(OPA_NAMESPACE));
            return 'deleted (still terminating)';
          }
        }
        return `${result}; ClusterRoleBinding opa-viewer ${binding}`;
      },
    ),
    kubeTask(
      'kube-system label',
      () => messages.planUnlabel(describeRef(refOf(kubeSystemUnlabel())), WEBHOOK_IGNORE_LABEL),
      async (_ctx, kube) => {
        // Server-side apply of the object without our label: drops what our field manager owned, nothing else.
        await kube.apply(kubeSystemUnlabel());
        return 'removed';
      },
    ),
    kubeTask(
      'Registry hosting',
      () => messages.planDeleteOurs([describeRef(REGISTRY_HOSTING_REF)], MANAGED_SELECTOR),
      async (_ctx, kube) => {
        const result = await deleteIfOurs(kube, REGISTRY_HOSTING_REF);
        return `ConfigMap kube-public/local-registry-hosting ${result === 'not ours' ? 'not ours; kept' : result}`;
      },
    ),
    {
      title: 'Cluster',
      enabled: (ctx) => isMinikube(ctx) && !ctx.options.keepCluster,
      // As the task decides: by the state record, never by the profile's name.
      skip: dryRunSkip(async (ctx) =>
        (await ctx.services.state.readRecord()).createdProfile
          ? formatCommand('minikube', deleteArgs(ctx.config.profile))
          : messages.planProfileKept(ctx.config.profile),
      ),
      task: async (ctx, task) => {
        const record = await ctx.services.state.readRecord();
        const profile = await ctx.services.minikube.profile(ctx.config.profile);
        if (!profile) return task.skip(`Cluster: no minikube profile ${ctx.config.profile}`);
        // Only a profile `up` created (as its record says); never one of the user's, whatever its name.
        if (!record.createdProfile) return task.skip(messages.profileKept(ctx.config.profile));
        if (profile.driver === 'none') {
          task.output = 'stopping the kubelet first (none driver: minikube delete would leave the pods running)';
          const stopped = await ctx.services.minikube.stopHostKubelet();
          if (!stopped.ok) ctx.notes.push(messages.kubeletNotStopped(stopped.output));
        }
        if (nodeKindOfDriver(profile.driver) === 'container') {
          // up joined the registry to the profile's network; while it is attached, minikube cannot remove that network.
          const spec = await loadRegistrySpec(ctx.config.registryPort);
          await (await ctx.services.docker()).disconnectNetwork(spec.name, ctx.config.profile).catch(() => false);
        }
        const result = await ctx.services.minikube.delete(ctx.config.profile, (line) => (task.output = line));
        if (result.exitCode !== 0) throw messages.minikubeDeleteFailed(ctx.config.profile, result.stderr || result.stdout);
        // The VM's host address dies with the profile: the next up must not publish the registry there.
        await ctx.services.state.updateRecord({ createdProfile: false, registryNodeAddress: undefined });
        task.title = `Cluster: minikube profile ${ctx.config.profile} deleted`;
      },
    },
    {
      title: 'Registry container',
      enabled: (ctx) => !ctx.options.keepRegistry,
      skip: dryRunSkip(async (ctx) => {
        const spec = await loadRegistrySpec(ctx.config.registryPort);
        return messages.planRemoveContainer(
          formatCommand('docker', ['rm', '-f', spec.name]),
          labels(spec.labels),
          `${GUARD_COMMENT_PREFIX}${spec.name}`,
        );
      }),
      task: async (ctx, task) => {
        const docker = await ctx.services.docker();
        const spec = await loadRegistrySpec(ctx.config.registryPort);
        const state = await docker.inspectContainer(spec.name);
        if (state && !isOurs(state, spec)) return task.skip(`Registry container: '${spec.name}' is not ours; kept`);
        if (state) await docker.removeContainer(spec.name);
        // The packet-filter rules up made for its addresses go with it (also when the container went before).
        const rules = await removeRegistryGuard(ctx);
        const guard = rules ? messages.guardRulesRemoved(rules) : '';
        if (!state) return task.skip(`Registry container: absent${guard}`);
        task.title = `Registry container: removed (images kept in the volume; --purge removes them)${guard}`;
      },
    },
    {
      title: 'Purge',
      enabled: (ctx) => ctx.options.purge,
      skip: dryRunSkip(async (ctx) => {
        const volume = ctx.options.keepRegistry
          ? []
          : [formatCommand('docker', ['volume', 'rm', (await loadRegistrySpec(ctx.config.registryPort)).volume.name])];
        return [...volume, messages.planPurgeState(ctx.services.state.dir, [...STATE_FILES, STATE_RECORD])].join(' && ');
      }),
      task: async (ctx, task) => {
        const removed: string[] = [];
        if (!ctx.options.keepRegistry) {
          const spec = await loadRegistrySpec(ctx.config.registryPort);
          if (await (await ctx.services.docker()).removeVolume(spec.volume.name)) removed.push(`volume ${spec.volume.name}`);
        }
        await ctx.services.state.purge(STATE_FILES);
        removed.push(`state directory ${ctx.services.state.dir}`);
        task.title = `Purge: removed ${removed.join(' and ')}`;
      },
    },
  ];
}
