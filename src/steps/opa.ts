// The cluster side: namespace and secrets, OPA with kube-mgmt, the policy ConfigMaps, then the webhook.
import { describeRef, refOf, type KubeClient, type KubeObject } from '../adapters/kube.js';
import type { Ctx } from '../context.js';
import {
  CLAIMED_NAMES,
  isManaged,
  kubeSystemLabel,
  opaNamespace,
  opaWorkload,
  policyConfigMaps,
  renderPolicies,
  secrets,
  webhookConfiguration,
  type ClusterInputs,
} from '../manifests.js';
import { messages } from '../messages.js';
import { plannedTask, type PlanReport, type Task, type TaskWrapper } from '../listr.js';
import { connectForPlan, registryHostFor } from '../cluster-access.js';
import {
  describeObjectPlans,
  objectChange,
  readObjectPlans,
  readObjectsPlan,
  toApply,
  type ObjectPlan,
  type ObjectsPlan,
} from '../object-plan.js';
import { needsResync, opaStartedAt, resyncPolicy, waitUntilServing, waitUntilWebhookAnswers } from '../opa-observe.js';

export function clusterInputs(ctx: Ctx): ClusterInputs {
  return {
    config: ctx.config,
    registryHost: ctx.registryHost ?? registryHostFor(ctx),
    certificates: ctx.certificates!,
    kubeMgmtToken: ctx.kubeMgmtToken!,
  };
}

export interface DesiredObjects {
  namespace: KubeObject[];
  workload: KubeObject[];
  policy: KubeObject[];
  webhook: KubeObject[];
}

const rendered = new WeakMap<Ctx, Promise<DesiredObjects>>();

/** Every object `up` applies, in order; the plan --dry-run prints. Rendered once per run (certificates known by then). */
export function desiredObjects(ctx: Ctx): Promise<DesiredObjects> {
  if (!rendered.has(ctx)) {
    rendered.set(
      ctx,
      (async () => {
        const inputs = clusterInputs(ctx);
        const sources = await renderPolicies(inputs);
        return {
          namespace: [opaNamespace(), kubeSystemLabel(), ...secrets(inputs, sources)],
          workload: await opaWorkload(inputs, sources),
          policy: policyConfigMaps(sources),
          webhook: [await webhookConfiguration(inputs)],
        };
      })(),
    );
  }
  return rendered.get(ctx)!;
}

/** Before anything is applied: an object of ours by name that exists without our label is the user's, and stays theirs. */
export async function refuseForeignObjects(kube: KubeClient): Promise<void> {
  const live = await Promise.all(CLAIMED_NAMES.map(async (ref) => ({ ref, object: await kube.get(ref) })));
  const foreign = live.find(({ object }) => object && !isManaged(object));
  if (foreign) throw messages.objectNotOurs(foreign.ref.kind, foreign.ref.name);
}

/** Apply order that matters: namespaces before what lives in them; a Deployment after its ServiceAccount and Secrets. */
const WAVE: Record<string, number> = { Namespace: 0, Deployment: 2 };

/** Applies in waves; the objects of one wave together (each apply is a round trip). */
export async function applyAll(kube: KubeClient, objects: KubeObject[], task: TaskWrapper): Promise<void> {
  for (const wave of [0, 1, 2]) {
    const batch = objects.filter((o) => (WAVE[o.kind!] ?? 1) === wave);
    if (!batch.length) continue;
    task.output = `apply ${batch.map((o) => describeRef(refOf(o))).join(', ')}`;
    await Promise.all(batch.map((object) => kube.apply(object)));
  }
}

/** The OPA step's plan: the workload's objects, and each policy ConfigMap with whether kube-mgmt must sync it again. */
export interface OpaPlan {
  kube?: KubeClient;
  unread?: string;
  workload: ObjectPlan[];
  policy: (ObjectPlan & { resync: boolean })[];
}

/** Reads what the OPA step would change (gets and one list of OPA's pods); a dry run without a cluster plans everything new. */
export async function readOpaPlan(ctx: Ctx): Promise<OpaPlan> {
  const { kube, unread } = await connectForPlan(ctx);
  const objects = await desiredObjects(ctx);
  // The running OPA (if any) is judged before the new template can replace it.
  const opaStart = kube && (await opaStartedAt(kube));
  const workload = await readObjectPlans(kube, objects.workload);
  const policy = await Promise.all(
    objects.policy.map(async (object) => {
      const live = kube && (await kube.get(refOf(object)));
      return { object, change: await objectChange(kube, live, object), resync: needsResync(live, object, opaStart) };
    }),
  );
  return { kube, unread, workload, policy };
}

/** The OPA plan as a dry run shows it: the objects, and the ConfigMaps kube-mgmt is made to load again. */
export function describeOpaPlan(plan: OpaPlan): PlanReport {
  const resyncs = plan.policy.filter((p) => p.resync).map((p) => messages.planResync(describeRef(refOf(p.object))));
  return describeObjectPlans([...plan.workload, ...plan.policy], plan.unread, resyncs);
}

// `kube!` below: a plan is applied only outside a dry run, where reading it connected or threw.
export function opaTasks(): Task[] {
  return [
    plannedTask<ObjectsPlan>('Namespace opa and secrets', (ctx, task) => {
      const registryHost = (ctx.registryHost ??= registryHostFor(ctx));
      return {
        read: async () => {
          const plan = await readObjectsPlan(ctx, (await desiredObjects(ctx)).namespace);
          if (plan.kube) await refuseForeignObjects(plan.kube);
          return plan;
        },
        report: async ({ plans, unread }) => describeObjectPlans(plans, unread),
        apply: async ({ kube, plans }) => {
          // What `down` and `status` read back; written only when it changes.
          if ((await ctx.services.state.readRecord()).registryHost !== registryHost)
            await ctx.services.state.updateRecord({ registryHost });
          await applyAll(kube!, toApply(plans), task);
        },
      };
    }),
    plannedTask<OpaPlan>('OPA and kube-mgmt', (ctx, task) => ({
      read: () => readOpaPlan(ctx),
      report: async (plan) => describeOpaPlan(plan),
      apply: async ({ kube, workload, policy }) => {
        await applyAll(kube!, toApply(workload), task);
        // The content goes first, then the resync: kube-mgmt's next status is about this content (applyPolicyConfigMap).
        for (const { object, change, resync } of policy) {
          if (change !== 'unchanged') await kube!.apply(object);
          if (resync) await resyncPolicy(kube!, refOf(object));
        }
        task.output = 'waiting for OPA to be ready with the policy loaded';
        await waitUntilServing(ctx, kube!, (await desiredObjects(ctx)).policy);
        task.title = 'OPA and kube-mgmt: ready, policy loaded';
      },
    })),
    plannedTask<ObjectsPlan>('Admission webhook', (ctx, task) => ({
      read: async () => readObjectsPlan(ctx, (await desiredObjects(ctx)).webhook),
      report: async ({ plans, unread }) => describeObjectPlans(plans, unread),
      apply: async ({ kube, plans }) => {
        await applyAll(kube!, toApply(plans), task);
        task.output = 'waiting until the API server reaches it';
        await waitUntilWebhookAnswers(ctx, kube!);
        task.title = 'Admission webhook: registered for pods, answering';
      },
    })),
  ];
}
