// The cluster side: namespace and secrets, OPA with kube-mgmt, the policy ConfigMaps, then the webhook.
import { stringify } from 'yaml';
import { describeRef, refOf, type KubeClient, type KubeObject } from '../adapters/kube.js';
import { waitFor, type Ctx } from '../context.js';
import {
  kubeSystemLabel,
  opaNamespace,
  opaWorkload,
  policyConfigMaps,
  POLICY_STATUS_ANNOTATION,
  redact,
  renderPolicies,
  secrets,
  webhookConfiguration,
  type ClusterInputs,
} from '../manifests.js';
import { messages } from '../messages.js';
import type { Task, TaskWrapper } from '../tasks.js';
import { connect, registryHostFor } from './cluster.js';

export function clusterInputs(ctx: Ctx): ClusterInputs {
  return {
    config: ctx.config,
    registryHost: ctx.registryHost ?? registryHostFor(ctx),
    certificates: ctx.certificates!,
    kubeMgmtToken: ctx.kubeMgmtToken!,
  };
}

async function policies(ctx: Ctx) {
  ctx.policies ??= await renderPolicies(clusterInputs(ctx));
  return ctx.policies;
}

/** Every object `up` applies, in order; the plan --dry-run prints. */
export async function desiredObjects(ctx: Ctx): Promise<{ namespace: KubeObject[]; workload: KubeObject[]; policy: KubeObject[]; webhook: KubeObject[] }> {
  const inputs = clusterInputs(ctx);
  const sources = await policies(ctx);
  return {
    namespace: [opaNamespace(), kubeSystemLabel(), ...secrets(inputs, sources)],
    workload: await opaWorkload(inputs, sources),
    policy: policyConfigMaps(sources),
    webhook: [await webhookConfiguration(inputs)],
  };
}

export const toYaml = (objects: KubeObject[]) => objects.map((o) => stringify(redact(o))).join('---\n');

async function applyAll(kube: KubeClient, objects: KubeObject[], task: TaskWrapper) {
  for (const object of objects) {
    task.output = `apply ${describeRef(refOf(object))}`;
    await kube.apply(object);
  }
}

type Annotated = KubeObject & { metadata: { annotations?: Record<string, string> }; data?: Record<string, string> };

/**
 * Applies a policy ConfigMap so that the status we then read is about this content: when the content changes,
 * kube-mgmt's old status annotation is dropped first (kube-mgmt writes the same "ok" again, which changes nothing).
 */
export async function applyPolicyConfigMap(kube: KubeClient, desired: KubeObject): Promise<void> {
  const live = await kube.get<Annotated>(refOf(desired));
  const changed = !live || JSON.stringify(live.data ?? {}) !== JSON.stringify(desired.data ?? {});
  if (live && changed && live.metadata.annotations?.[POLICY_STATUS_ANNOTATION]) {
    await kube.mergePatch(refOf(desired), { metadata: { annotations: { [POLICY_STATUS_ANNOTATION]: null } } });
  }
  await kube.apply(desired);
}

/** kube-mgmt's verdict on one ConfigMap: undefined while it has not reported. */
export function policyStatus(configMap: Annotated | undefined): { ok: true } | { ok: false; error: string } | undefined {
  const raw = configMap?.metadata.annotations?.[POLICY_STATUS_ANNOTATION];
  if (!raw) return undefined;
  try {
    const status = JSON.parse(raw) as { status?: string; error?: unknown };
    if (status.status === 'ok') return { ok: true };
    return { ok: false, error: typeof status.error === 'string' ? status.error : JSON.stringify(status.error ?? status) };
  } catch {
    return { ok: false, error: raw };
  }
}

export async function waitForPolicies(ctx: Ctx, kube: KubeClient, configMaps: KubeObject[]): Promise<void> {
  await Promise.all(
    configMaps.map((cm) =>
      waitFor(
        ctx.services,
        ctx.config.waitSeconds,
        async () => {
          const status = policyStatus(await kube.get<Annotated>(refOf(cm)));
          if (status && !status.ok) throw messages.policyRejected(cm.metadata!.name!, status.error);
          return status;
        },
        () => messages.policyTimeout(cm.metadata!.name!, ctx.config.waitSeconds),
      ),
    ),
  );
}

type DeploymentState = KubeObject & {
  metadata: { generation?: number };
  spec: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number };
};

/** Ready as `kubectl rollout status` means it: the new template observed, updated, and available; old pods gone. */
export function rolloutState(deployment: DeploymentState | undefined): { done: boolean; detail: string } {
  if (!deployment) return { done: false, detail: 'no Deployment opa/opa' };
  const want = deployment.spec.replicas ?? 1;
  const s = deployment.status ?? {};
  if ((s.observedGeneration ?? 0) < (deployment.metadata.generation ?? 0)) return { done: false, detail: 'new template not yet observed' };
  if ((s.updatedReplicas ?? 0) < want) return { done: false, detail: `${s.updatedReplicas ?? 0}/${want} pods updated` };
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return { done: false, detail: `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old pods terminating` };
  if ((s.availableReplicas ?? 0) < want) return { done: false, detail: `${s.availableReplicas ?? 0}/${want} pods available` };
  return { done: true, detail: `${want}/${want} ready` };
}

export async function waitForRollout(ctx: Ctx, kube: KubeClient): Promise<void> {
  let last = 'not checked yet';
  await waitFor(
    ctx.services,
    ctx.config.waitSeconds,
    async () => {
      const state = rolloutState(await kube.get<DeploymentState>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'opa', name: 'opa' }));
      last = state.detail;
      return state.done ? true : undefined;
    },
    () => messages.rolloutTimeout(ctx.config.waitSeconds, last),
  );
}

const dryRunObjects = (pick: (all: Awaited<ReturnType<typeof desiredObjects>>) => KubeObject[]) => async (ctx: Ctx, task: TaskWrapper) => {
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
        await applyAll(kube, objects.workload, task);
        // Policies only once OPA answers: kube-mgmt gives up on a ConfigMap it could not load into OPA.
        task.output = 'waiting for the rollout';
        await waitForRollout(ctx, kube);
        for (const cm of objects.policy) await applyPolicyConfigMap(kube, cm);
        task.output = 'waiting for kube-mgmt to load the policy';
        await waitForPolicies(ctx, kube, objects.policy);
        task.title = 'OPA and kube-mgmt: ready, policy loaded';
      },
    },
    {
      title: 'Admission webhook',
      task: async (ctx, task) => {
        if (ctx.options.dryRun) return dryRunObjects((o) => o.webhook)(ctx, task);
        const kube = await connect(ctx);
        await applyAll(kube, (await desiredObjects(ctx)).webhook, task);
        task.title = 'Admission webhook: registered for pods';
      },
    },
  ];
}
