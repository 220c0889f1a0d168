// Is there anything to verify? verify's (and audit's, watch's) first question, answered from the cluster before any
// task is drawn: on an environment that is not up, one line and the fix instead of a table of failures.
import type { KubeClient } from './adapters/kube.js';
import { isMinikube, type Ctx } from './context.js';
import { OPA_NAMESPACE, POLICY_CONFIGMAPS, WEBHOOK_NAME } from './manifests.js';
import { BootstrapError } from './errors.js';
import { messages } from './messages.js';
import { connect } from './cluster-access.js';
import { opaStartedAt, policyStatus, rolloutState, statusIsStale, statusWrittenAt, type PolicyStatus } from './opa-observe.js';

/** What verify needs before its checks mean anything: the webhook registered, OPA rolled out, each policy loaded. */
export interface EnvironmentFacts {
  webhookRegistered: boolean;
  rollout: { done: boolean; detail: string };
  policies: { name: string; status: PolicyStatus | undefined; stale: boolean }[];
}

/**
 * The first reason the environment cannot answer as `up` leaves it, in one line; undefined when it can. Whether the
 * running OPA holds the policy is its readiness (templates/policy/health.rego), so an OPA that lost its policy shows
 * as not ready. kube-mgmt's status time is not used: a kube-mgmt that starts with a new pod writes the same status
 * again, which the API server does not record as a change, so it would look older than the OPA that holds it.
 */
export function environmentProblem(facts: EnvironmentFacts): string | undefined {
  if (!facts.webhookRegistered) return `the admission webhook ${WEBHOOK_NAME} is not registered`;
  if (!facts.rollout.done) return `OPA is not ready (${facts.rollout.detail})`;
  for (const p of facts.policies) {
    if (!p.status) return `OPA does not hold the policy: kube-mgmt has not loaded ConfigMap ${OPA_NAMESPACE}/${p.name}`;
    if (!p.status.ok)
      return `OPA does not hold the policy: kube-mgmt could not load ConfigMap ${OPA_NAMESPACE}/${p.name} (${p.status.error})`;
  }
  return undefined;
}

export async function readEnvironment(kube: KubeClient): Promise<EnvironmentFacts> {
  type Annotated = Parameters<typeof statusWrittenAt>[0];
  const [webhook, deployment, opaStart, configMaps] = await Promise.all([
    kube.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: WEBHOOK_NAME }),
    kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: OPA_NAMESPACE, name: 'opa' }),
    opaStartedAt(kube),
    Promise.all(
      POLICY_CONFIGMAPS.map((name) => kube.get<Annotated>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: OPA_NAMESPACE, name })),
    ),
  ]);
  return {
    webhookRegistered: Boolean(webhook),
    rollout: rolloutState(deployment as Parameters<typeof rolloutState>[0]),
    policies: POLICY_CONFIGMAPS.map((name, i) => {
      const cm = configMaps[i];
      const status = policyStatus(cm);
      return { name, status, stale: Boolean(status?.ok && cm && statusIsStale(cm, opaStart)) };
    }),
  };
}

/**
 * verify's (and audit's, watch's) first step, before any task is drawn: on an environment that is not up, one line
 * and the fix instead of a table of failures. Nothing to read in a dry run.
 */
export async function ensureEnvironmentUp(ctx: Ctx, command: 'verify' | 'audit' | 'watch'): Promise<void> {
  if (ctx.options.dryRun) return;
  let kube;
  try {
    kube = await connect(ctx);
  } catch (error) {
    // minikube names the context after the profile: no context means `up` never made (or down removed) the profile.
    if (isMinikube(ctx) && error instanceof BootstrapError && error.problem.startsWith('No kubeconfig context')) {
      throw messages.environmentNotUp(command, `there is no kubeconfig context for minikube profile '${ctx.config.profile}'`);
    }
    throw error;
  }
  const problem = environmentProblem(await readEnvironment(kube));
  if (problem) throw messages.environmentNotUp(command, problem);
}
