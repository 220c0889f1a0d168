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
  OPA_NAMESPACE,
  renderPolicies,
  secrets,
  webhookConfiguration,
  type ClusterInputs,
  toYaml,
} from '../manifests.js';
import { messages } from '../messages.js';
import type { Task, TaskWrapper } from '../listr.js';
import { connect, registryHostFor } from '../cluster-access.js';
import { applyPolicyConfigMap, opaStartedAt, waitUntilServing, waitUntilWebhookAnswers } from '../opa-observe.js';

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

const dryRunObjects = (pick: (all: DesiredObjects) => KubeObject[]) => async (ctx: Ctx, task: TaskWrapper) => {
  const objects = pick(await desiredObjects(ctx));
  task.skip(`dry run: server-side apply (field manager bootstrap):\n${toYaml(objects)}`);
};

export function opaTasks(): Task[] {
  return [
    {
      title: 'Namespace opa and secrets',
      task: async (ctx, task) => {
        ctx.registryHost ??= registryHostFor(ctx);
        if (ctx.options.dryRun) return dryRunObjects((o) => o.namespace)(ctx, task);
        const kube = await connect(ctx);
        await refuseForeignObjects(kube);
        await ctx.services.state.updateRecord({ registryHost: ctx.registryHost });
        await applyAll(kube, (await desiredObjects(ctx)).namespace, task);
      },
    },
    {
      title: 'OPA and kube-mgmt',
      task: async (ctx, task) => {
        if (ctx.options.dryRun) return dryRunObjects((o) => [...o.workload, ...o.policy])(ctx, task);
        const kube = await connect(ctx);
        const objects = await desiredObjects(ctx);
        // The running OPA (if any) is judged before the new template can replace it.
        const opaStart = await opaStartedAt(kube);
        await applyAll(kube, objects.workload, task);
        for (const cm of objects.policy) await applyPolicyConfigMap(kube, cm, opaStart);
        task.output = 'waiting for OPA to be ready with the policy loaded';
        await waitUntilServing(ctx, kube, objects.policy);
        task.title = 'OPA and kube-mgmt: ready, policy loaded';
      },
    },
    {
      title: 'Admission webhook',
      task: async (ctx, task) => {
        if (ctx.options.dryRun) return dryRunObjects((o) => o.webhook)(ctx, task);
        const kube = await connect(ctx);
        await applyAll(kube, (await desiredObjects(ctx)).webhook, task);
        task.output = 'waiting until the API server reaches it';
        await waitUntilWebhookAnswers(ctx, kube);
        task.title = 'Admission webhook: registered for pods, answering';
      },
    },
  ];
}
