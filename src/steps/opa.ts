// The cluster side: namespace and secrets, OPA with kube-mgmt, the policy ConfigMaps, then the webhook.
import { stringify } from 'yaml';
import { describeRef, FIELD_MANAGER, refOf, type KubeClient, type KubeObject } from '../adapters/kube.js';
import { waitFor, type Ctx } from '../context.js';
import {
  CLAIMED_NAMES,
  isManaged,
  kubeSystemLabel,
  opaNamespace,
  opaWorkload,
  policyConfigMaps,
  POLICY_RETRIES_ANNOTATION,
  POLICY_STATUS_ANNOTATION,
  OPA_NAMESPACE,
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

export const toYaml = (objects: KubeObject[]) => objects.map((o) => stringify(redact(o))).join('---\n');

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

type Annotated = KubeObject & {
  metadata: { annotations?: Record<string, string>; managedFields?: { manager?: string; time?: string | Date; fieldsV1?: unknown }[] };
  data?: Record<string, string>;
};

/**
 * When kube-mgmt last wrote its status on this ConfigMap, from the API server's field management record.
 * kube-mgmt syncs a ConfigMap once (plus two immediate retries) and never notices OPA restarting, so a status
 * older than the OPA container describes policies that OPA no longer holds.
 */
export function statusWrittenAt(configMap: Annotated): Date | undefined {
  const entry = configMap.metadata.managedFields?.find(
    (f) => f.manager !== FIELD_MANAGER && JSON.stringify(f.fieldsV1 ?? {}).includes(`"f:${POLICY_STATUS_ANNOTATION}"`),
  );
  return entry?.time ? new Date(entry.time) : undefined;
}

type ContainerStatus = { name: string; state?: { running?: { startedAt?: string | Date } } };

/**
 * The latest start of an OPA container (a restart in place counts too) that kube-mgmt has not loaded the policies
 * into since. kube-mgmt loads every policy when it starts, so an OPA whose pod's kube-mgmt (re)started after it — as
 * the kubelet restarts kube-mgmt when OPA lacks the policy (its liveness probe) — holds them, although the status
 * annotation, unchanged by that load, keeps its old time. Undefined when every OPA is covered (or none runs).
 */
export async function opaStartedAt(kube: KubeClient): Promise<Date | undefined> {
  const pods = (await kube.list('v1', 'Pod', { namespace: OPA_NAMESPACE, labelSelector: 'app=opa' })) as (KubeObject & {
    metadata: { deletionTimestamp?: unknown };
    status?: { containerStatuses?: ContainerStatus[] };
  })[];
  const started = (statuses: ContainerStatus[], name: string) => {
    const at = statuses.find((c) => c.name === name)?.state?.running?.startedAt;
    return at ? new Date(at).getTime() : undefined;
  };
  const starts = pods
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      opa: started(p.status?.containerStatuses ?? [], 'opa'),
      kubeMgmt: started(p.status?.containerStatuses ?? [], 'kube-mgmt'),
    }))
    .filter(
      (s): s is { opa: number; kubeMgmt: number | undefined } => s.opa !== undefined && !(s.kubeMgmt !== undefined && s.kubeMgmt >= s.opa),
    )
    .map((s) => s.opa);
  return starts.length ? new Date(Math.max(...starts)) : undefined;
}

/** Whether the live ConfigMap's policy is loaded into the OPA that runs now, with this content. */
export function policyIsCurrent(live: Annotated, desired: KubeObject, opaStart: Date | undefined): boolean {
  if (JSON.stringify(live.data ?? {}) !== JSON.stringify(desired.data ?? {})) return false;
  return Boolean(policyStatus(live)?.ok) && !statusIsStale(live, opaStart);
}

/** kube-mgmt's status predates the running OPA: whatever it says, that OPA never got the policy from it. */
export function statusIsStale(configMap: Annotated, opaStart: Date | undefined): boolean {
  const written = statusWrittenAt(configMap);
  return Boolean(opaStart && written && written.getTime() < opaStart.getTime());
}

/** Both annotations gone: a missing retries annotation makes kube-mgmt sync again, and the status we read next is fresh. */
const RESYNC = { metadata: { annotations: { [POLICY_STATUS_ANNOTATION]: null, [POLICY_RETRIES_ANNOTATION]: null } } };

/**
 * Applies a policy ConfigMap (after OPA is ready) so that the status we then read is about this content in this
 * OPA: unless the policy is already current, kube-mgmt is made to sync it again. The content goes first: every
 * update kube-mgmt sees after that carries it, so no status written for the old content can follow the reset.
 */
export async function applyPolicyConfigMap(kube: KubeClient, desired: KubeObject, opaStart?: Date): Promise<void> {
  const live = await kube.get<Annotated>(refOf(desired));
  await kube.apply(desired);
  if (live && !policyIsCurrent(live, desired, opaStart)) await kube.mergePatch(refOf(desired), RESYNC);
}

export type PolicyStatus = { ok: true } | { ok: false; error: string; transport: boolean };

/** kube-mgmt's verdict on one ConfigMap: undefined while it has not reported. */
export function policyStatus(configMap: Annotated | undefined): PolicyStatus | undefined {
  const raw = configMap?.metadata.annotations?.[POLICY_STATUS_ANNOTATION];
  if (!raw) return undefined;
  try {
    const status = JSON.parse(raw) as { status?: string; error?: unknown };
    if (status.status === 'ok') return { ok: true };
    // OPA's own answers carry a "code"; Go's url.Error (OPA not answering yet) carries Op and URL.
    const error = status.error as { Op?: unknown; URL?: unknown } | undefined;
    const transport = Boolean(error && typeof error === 'object' && 'Op' in error && 'URL' in error);
    return { ok: false, error: typeof status.error === 'string' ? status.error : JSON.stringify(status.error ?? status), transport };
  } catch {
    return { ok: false, error: raw, transport: false };
  }
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
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0))
    return { done: false, detail: `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old pods terminating` };
  if ((s.availableReplicas ?? 0) < want) return { done: false, detail: `${s.availableReplicas ?? 0}/${want} pods available` };
  return { done: true, detail: `${want}/${want} ready` };
}

/** What the API server says when it cannot call a webhook at all (as opposed to the webhook's own answer). */
const WEBHOOK_UNREACHABLE = /failed calling webhook/;

/**
 * Waits until the API server really reaches the webhook: on a fresh cluster kube-proxy may program the Service a few
 * seconds after OPA is ready, and until then every pod in a covered namespace is refused. Probes with a server-side
 * dry run of an untrusted pod (nothing is created); any answer but "failed calling webhook" means the path works.
 * Throws webhookNotAnswering after waitSeconds.
 */
export async function waitUntilWebhookAnswers(ctx: Ctx, kube: KubeClient): Promise<void> {
  const probe: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bootstrap-webhook-probe', namespace: ctx.config.verifyNamespace },
    spec: { containers: [{ name: 'probe', image: 'bootstrap.invalid/probe:1' }] },
  };
  let last = '';
  await waitFor(
    ctx.services,
    ctx.config.waitSeconds,
    async () => {
      const outcome = await kube.createPod(ctx.config.verifyNamespace, probe, { dryRun: true });
      last = outcome.message;
      return WEBHOOK_UNREACHABLE.test(outcome.message) ? undefined : true;
    },
    () => messages.webhookNotAnswering(ctx.config.waitSeconds, last),
  );
}

/**
 * Waits until OPA serves: kube-mgmt reports every policy ConfigMap loaded, and the rollout is done (a pod is ready
 * only once its OPA holds the policy, templates/policy/health.rego). A transport error in kube-mgmt's status is an
 * attempt made before that pod's OPA answered: kube-mgmt is asked to try again (it would not by itself). An error
 * from OPA itself is the policy's fault, and final.
 */
export async function waitUntilServing(ctx: Ctx, kube: KubeClient, configMaps: KubeObject[]): Promise<void> {
  let rollout = 'not checked yet';
  let silent: string | undefined;
  await waitFor(
    ctx.services,
    ctx.config.waitSeconds,
    async () => {
      silent = undefined;
      for (const cm of configMaps) {
        const status = policyStatus(await kube.get<Annotated>(refOf(cm)));
        if (status && !status.ok) {
          if (!status.transport) throw messages.policyRejected(cm.metadata!.name!, status.error);
          await kube.mergePatch(refOf(cm), RESYNC);
        }
        if (!status?.ok) silent ??= cm.metadata!.name!;
      }
      const state = rolloutState(
        await kube.get<DeploymentState>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: OPA_NAMESPACE, name: 'opa' }),
      );
      rollout = state.detail;
      return state.done && !silent ? true : undefined;
    },
    () => (silent ? messages.policyTimeout(silent, ctx.config.waitSeconds) : messages.rolloutTimeout(ctx.config.waitSeconds, rollout)),
  );
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
