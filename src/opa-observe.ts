// Watching OPA and kube-mgmt through the API server: when kube-mgmt last reported on a policy ConfigMap, when OPA
// started, whether the rollout is done, and waiting until OPA serves and the API server reaches the webhook. Shared
// by the OPA step, verify, watch and status.
import { FIELD_MANAGER, refOf, type KubeClient, type KubeObject, type ObjectRef } from './adapters/kube.js';
import { waitFor, type Ctx } from './context.js';
import { OPA_NAMESPACE, POLICY_RETRIES_ANNOTATION, POLICY_STATUS_ANNOTATION } from './manifests.js';
import { messages } from './messages.js';
import { denial } from './admission-checks.js';

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
type PodState = KubeObject & {
  metadata: { deletionTimestamp?: unknown };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatus[] };
};

/** The OPA Deployment's pods (label app=opa in namespace opa), terminating ones included. */
const listOpaPods = async (kube: KubeClient) =>
  (await kube.list('v1', 'Pod', { namespace: OPA_NAMESPACE, labelSelector: 'app=opa' })) as PodState[];

/** When the pod's container `name` started running (ms since the epoch), as its status says; undefined when not running. */
function runningSince(pod: PodState, name: string): number | undefined {
  const at = pod.status?.containerStatuses?.find((c) => c.name === name)?.state?.running?.startedAt;
  return at === undefined ? undefined : new Date(at).getTime();
}

/**
 * The latest start of an OPA container (a restart in place counts too) that kube-mgmt has not loaded the policies
 * into since. kube-mgmt loads every policy when it starts, so an OPA whose pod's kube-mgmt (re)started after it — as
 * the kubelet restarts kube-mgmt when OPA lacks the policy (its liveness probe) — holds them, although the status
 * annotation, unchanged by that load, keeps its old time. Undefined when every OPA is covered (or none runs).
 */
export async function opaStartedAt(kube: KubeClient): Promise<Date | undefined> {
  const starts = (await listOpaPods(kube))
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({ opa: runningSince(p, 'opa'), kubeMgmt: runningSince(p, 'kube-mgmt') }))
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
  if (needsResync(live, desired, opaStart)) await resyncPolicy(kube, refOf(desired));
}

/** Whether kube-mgmt must be made to sync the live ConfigMap again (see applyPolicyConfigMap): it exists and is not current. */
export const needsResync = (live: KubeObject | undefined, desired: KubeObject, opaStart: Date | undefined): boolean =>
  Boolean(live) && !policyIsCurrent(live as Annotated, desired, opaStart);

/** Drops kube-mgmt's status and retries annotations (a merge patch), so that it syncs the ConfigMap again. */
export async function resyncPolicy(kube: KubeClient, ref: ObjectRef): Promise<void> {
  await kube.mergePatch(ref, RESYNC);
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
  // Scaled to zero (by hand): "all 0 ready" serves nothing.
  if (want === 0) return { done: false, detail: 'scaled to 0 replicas' };
  const s = deployment.status ?? {};
  if ((s.observedGeneration ?? 0) < (deployment.metadata.generation ?? 0)) return { done: false, detail: 'new template not yet observed' };
  if ((s.updatedReplicas ?? 0) < want) return { done: false, detail: `${s.updatedReplicas ?? 0}/${want} pods updated` };
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0))
    return { done: false, detail: `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old pods terminating` };
  if ((s.availableReplicas ?? 0) < want) return { done: false, detail: `${s.availableReplicas ?? 0}/${want} pods available` };
  return { done: true, detail: `${want}/${want} ready` };
}

/**
 * Tolerance for the node's clock against this machine's (docker and none drivers share this kernel's clock; a VM's is
 * synced from the host), in ms.
 */
const CLOCK_SKEW_MS = 2000;

/**
 * Whether the kubelet has reported every OPA pod since `since` (when this run started the cluster): a stopped node
 * took every container with it, so a pod whose OPA container "runs" since before then, or that says Ready before its
 * new containers do, shows the status from before the stop, which the API server keeps until the kubelet syncs that
 * pod. Judging by it let `up` pass while OPA was about to restart unready, and the next pod was refused (connection
 * refused: no endpoints). Returns what is still stale, or undefined when every pod is current.
 */
export function staleOpaPod(pods: PodState[], since: Date): string | undefined {
  // A pod that is going, or that ended (Failed, Succeeded: the ReplicaSet makes another), is no one's endpoint.
  const live = pods.filter((p) => !p.metadata.deletionTimestamp && !['Failed', 'Succeeded'].includes(p.status?.phase ?? ''));
  for (const pod of live) {
    const started = runningSince(pod, 'opa');
    const fresh = started !== undefined && started >= since.getTime() - CLOCK_SKEW_MS;
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!fresh) return `pod ${pod.metadata.name} not yet restarted since the cluster started`;
    if (!ready) return `pod ${pod.metadata.name} restarted, not ready yet`;
  }
  return undefined;
}

/**
 * An OPA pod that is still going (a rollout's old pod): the Service may route to it until kube-proxy has dropped it,
 * and it serves the old certificate, which the webhook's new CA bundle no longer trusts. So the webhook is switched,
 * and checked, only once it is gone. Returns what is still going, or undefined.
 */
export function terminatingOpaPod(pods: PodState[]): string | undefined {
  const going = pods.find((p) => p.metadata.deletionTimestamp);
  return going && `old pod ${going.metadata.name} still terminating`;
}

/**
 * How long an admitted probe is taken for "the API server has not loaded the new webhook configuration yet" before
 * it is taken for the policy's answer (a policy of the user's own may admit the probe's image), in seconds.
 */
export const ADMITTED_PROBE_GRACE_SECONDS = 10;

/**
 * Waits until the API server really reaches the webhook: on a fresh cluster kube-proxy may program the Service a few
 * seconds after OPA is ready, and until then every pod in a covered namespace is refused. Probes with a server-side
 * dry run of an untrusted pod (nothing is created). Done when our webhook denies it; "failed calling webhook", or any
 * other refusal, means not yet. An admitted probe usually means the API server has not loaded the webhook
 * configuration yet (nothing was called), so it counts as an answer only after ADMITTED_PROBE_GRACE_SECONDS of
 * admitting: a policy of the user's that admits the probe, or failurePolicy Ignore with OPA unreachable, which this
 * wait cannot tell apart. Throws webhookNotAnswering after waitSeconds.
 */
export async function waitUntilWebhookAnswers(ctx: Ctx, kube: KubeClient): Promise<void> {
  const probe: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bootstrap-webhook-probe', namespace: ctx.config.verifyNamespace },
    spec: { containers: [{ name: 'probe', image: 'bootstrap.invalid/probe:1' }] },
  };
  let last = '';
  let admittedSince: number | undefined;
  await waitFor(
    ctx.services,
    ctx.config.waitSeconds,
    async () => {
      const outcome = await kube.createPod(ctx.config.verifyNamespace, probe, { dryRun: true });
      last = outcome.allowed ? 'the probe pod was admitted (no webhook called yet?)' : outcome.message;
      // Only OPA's denial, through our webhook, shows the path works; any other refusal (no such namespace, RBAC, the
      // API server failing to call the webhook) is not that yet, and its words end up in the timeout's message.
      if (!outcome.allowed) return outcome.message.startsWith(denial('')) ? true : undefined;
      const now = ctx.services.now().getTime();
      admittedSince ??= now;
      return now - admittedSince >= ADMITTED_PROBE_GRACE_SECONDS * 1000 ? true : undefined;
    },
    () => messages.webhookNotAnswering(ctx.config.waitSeconds, last),
  );
}

/**
 * Waits until OPA serves: kube-mgmt reports every policy ConfigMap loaded, and the rollout is done (a pod is ready
 * only once its OPA holds the policy, templates/policy/health.rego) with no old pod left terminating. A transport
 * error in kube-mgmt's status is an attempt made before that pod's OPA answered: kube-mgmt is asked to try again (it
 * would not by itself). An error from OPA itself is the policy's fault, and final.
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
          await resyncPolicy(kube, refOf(cm));
        }
        if (!status?.ok) silent ??= cm.metadata!.name!;
      }
      const state = rolloutState(
        await kube.get<DeploymentState>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: OPA_NAMESPACE, name: 'opa' }),
      );
      rollout = state.detail;
      if (state.done) {
        const pods = await listOpaPods(kube);
        const unsettled = terminatingOpaPod(pods) ?? (ctx.clusterStartedAt && staleOpaPod(pods, ctx.clusterStartedAt));
        if (unsettled) {
          rollout = unsettled;
          return undefined;
        }
      }
      return state.done && !silent ? true : undefined;
    },
    () => (silent ? messages.policyTimeout(silent, ctx.config.waitSeconds) : messages.rolloutTimeout(ctx.config.waitSeconds, rollout)),
  );
}
