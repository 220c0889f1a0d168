// The kinds that make pods from a template, as the policy (templates/policy/image-policy.rego, pod_spec_paths)
// and the webhook (templates/opa/webhook-configuration.yaml) know them. Pure: the verify matrix builds its
// workloads from here, and the tests hold the Rego and the webhook rules to the same list.
import type { KubeObject } from './adapters/kube.js';

export interface WorkloadKind {
  kind: WorkloadKindName;
  group: '' | 'apps' | 'batch';
  apiVersion: string;
  resource: string;
  /** Where the pod spec lives in the object. */
  podSpecPath: string[];
}

export type WorkloadKindName = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'ReplicationController' | 'CronJob';

const TEMPLATE = ['spec', 'template', 'spec'];

/**
 * A node selector no node matches: a pod with it is never scheduled, so it never runs, and the API server deletes it at
 * once (an unscheduled pod has no grace period to wait out).
 */
export const NO_SUCH_NODE: Readonly<Record<string, string>> = { 'bootstrap-verify/no-such-node': 'true' };

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { kind: 'Deployment', group: 'apps', apiVersion: 'apps/v1', resource: 'deployments', podSpecPath: TEMPLATE },
  { kind: 'ReplicaSet', group: 'apps', apiVersion: 'apps/v1', resource: 'replicasets', podSpecPath: TEMPLATE },
  { kind: 'StatefulSet', group: 'apps', apiVersion: 'apps/v1', resource: 'statefulsets', podSpecPath: TEMPLATE },
  { kind: 'DaemonSet', group: 'apps', apiVersion: 'apps/v1', resource: 'daemonsets', podSpecPath: TEMPLATE },
  { kind: 'Job', group: 'batch', apiVersion: 'batch/v1', resource: 'jobs', podSpecPath: TEMPLATE },
  { kind: 'ReplicationController', group: '', apiVersion: 'v1', resource: 'replicationcontrollers', podSpecPath: TEMPLATE },
  {
    kind: 'CronJob',
    group: 'batch',
    apiVersion: 'batch/v1',
    resource: 'cronjobs',
    podSpecPath: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  },
];

export function workloadKind(kind: string): WorkloadKind | undefined {
  return WORKLOAD_KINDS.find((k) => k.kind === kind);
}

/** The pod spec inside a workload (or a Pod's own spec), if it has one. */
export function podSpecOf(object: Record<string, unknown>): Record<string, unknown> | undefined {
  const kind = object.kind === 'Pod' ? { podSpecPath: ['spec'] } : workloadKind(String(object.kind));
  if (!kind) return undefined;
  let node: unknown = object;
  for (const key of kind.podSpecPath) node = (node as Record<string, unknown> | undefined)?.[key];
  return node && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}

/**
 * A valid object of that kind around a pod spec, which makes no pod while it exists: 0 replicas, a suspended Job or
 * CronJob, a DaemonSet for nodes that do not exist. Labels and selector from `name`.
 */
export function workloadObject(
  kind: WorkloadKind,
  name: string,
  namespace: string,
  podSpec: Record<string, unknown>,
  labels: Record<string, string> = {},
): KubeObject {
  const selector = { 'bootstrap-verify': name };
  const jobPodSpec = { ...podSpec, restartPolicy: 'Never' };
  const template = (spec: Record<string, unknown>) => ({ metadata: { labels: selector }, spec });
  const metadata = { name, namespace, labels: { ...labels, ...selector } };
  const head = { apiVersion: kind.apiVersion, kind: kind.kind, metadata };
  switch (kind.kind) {
    case 'Deployment':
    case 'ReplicaSet':
      return { ...head, spec: { replicas: 0, selector: { matchLabels: selector }, template: template(podSpec) } };
    case 'StatefulSet':
      return { ...head, spec: { replicas: 0, serviceName: name, selector: { matchLabels: selector }, template: template(podSpec) } };
    case 'DaemonSet':
      return {
        ...head,
        spec: {
          selector: { matchLabels: selector },
          template: template({ ...podSpec, nodeSelector: { ...NO_SUCH_NODE } }),
        },
      };
    case 'ReplicationController':
      return { ...head, spec: { replicas: 0, selector, template: template(podSpec) } };
    case 'Job':
      return { ...head, spec: { suspend: true, template: template(jobPodSpec) } };
    case 'CronJob':
      return { ...head, spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template: template(jobPodSpec) } } } };
  }
}
