import type { Ctx } from '../context.js';
import { prepareKeys } from '../certs.js';
import { certificateTasks, keysNeeded } from '../steps/certificates.js';
import { clusterTasks, existingNodesReachRegistryTask, nodeReachesRegistryTask } from '../steps/cluster.js';
import { registryHostingTask } from '../steps/hosting.js';
import { registryGuardTask } from '../steps/registry-guard.js';
import { opaTasks } from '../steps/opa.js';
import { preflightTask } from '../steps/preflight.js';
import { registryTasks } from '../steps/registry.js';
import { formatChecks, verifyTasks } from '../steps/verify.js';
import type { Task } from '../listr.js';
import { messages } from '../messages.js';
import { tableWidth } from '../table.js';
import { runTasks, type Io } from '../listr.js';

/** The whole graph: preflight; then registry, cluster and certificates side by side; then the cluster objects in order, with the registry's KEP-1755 ConfigMap; then verify. */
export function upTasks(): Task[] {
  // The registry's ConfigMap comes after the first cluster task, which refuses a run on objects that are not ours.
  const [namespaceAndSecrets, ...opaRest] = opaTasks();
  return [
    preflightTask(),
    {
      title: 'Registry, cluster and certificates',
      task: (_ctx, task) =>
        task.newListr(
          [
            // Closed as soon as it runs (on its default network), so that an up that stops later, at minikube start
            // say, does not leave it open; the node's network gets its rule once the registry has joined it, below.
            { title: 'Registry', task: (_c, t) => t.newListr([...registryTasks(), registryGuardTask()], { concurrent: false }) },
            ...clusterTasks(),
            ...certificateTasks(),
          ],
          { concurrent: true },
        ),
    },
    nodeReachesRegistryTask(),
    existingNodesReachRegistryTask(),
    // After those: the registry has joined the node's network, so each of its addresses is known.
    registryGuardTask(),
    namespaceAndSecrets!,
    registryHostingTask(),
    ...opaRest,
    { title: 'Verify', task: (_ctx, task) => task.newListr(verifyTasks(), { concurrent: false }) },
  ];
}

export async function up(ctx: Ctx, io: Io): Promise<void> {
  // Certificates need neither the registry nor the cluster: their keys are made while preflight runs.
  if (!ctx.options.dryRun) prepareKeys(await keysNeeded(ctx));
  await runTasks(upTasks(), ctx, io);
  if (ctx.checks.length) {
    io.print(formatChecks(ctx.checks, tableWidth(io.columns)));
    const failed = ctx.checks.filter((c) => !c.passed).length;
    if (failed) throw messages.verifyFailed(failed, ctx.checks.length);
  }
}
