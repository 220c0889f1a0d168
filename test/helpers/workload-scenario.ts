// Workloads on a real cluster, as a user meets them: `kubectl apply` of a Deployment (server-side apply through
// @kubernetes/client-node, and a plain create as client-side apply does) is refused with the policy's words when an
// image is untrusted; a good one is accepted, its ReplicaSet and pod pass the webhook too, and it rolls out
// and its pod runs. Shared by test/e2e/none-faults.test.ts and test/e2e/workloads-any-cluster.test.ts.
import * as k8s from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { setTimeout as delay } from 'node:timers/promises';

export const WEBHOOK_DENIAL = 'admission webhook "validating-webhook.openpolicyagent.org" denied the request: ';

export function deployment(name: string, namespace: string, image: string, replicas = 1): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

/** The API server's message for a refused call; undefined when it was accepted. */
export async function refusal(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    const body = (error as { body?: unknown }).body;
    if (typeof body === 'string') {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    }
    return String(error);
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await delay(250);
  }
}

export interface ScenarioOptions {
  namespace: string;
  registryHost: string;
  rolloutSeconds?: number;
}

export async function workloadScenario(t: ExecutionContext, kc: k8s.KubeConfig, o: ScenarioOptions): Promise<void> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const id = Date.now().toString(36);
  const bad = `e2e-bad-${id}`;
  const good = `e2e-good-${id}`;
  const cleanup = async () => {
    for (const name of [bad, good]) {
      await apps.deleteNamespacedDeployment({ namespace: o.namespace, name, propagationPolicy: 'Foreground' }).catch(() => undefined);
    }
  };
  t.teardown(cleanup);
  const apply = (object: k8s.KubernetesObject) =>
    objects.patch(object, undefined, undefined, 'e2e-kubectl', true, k8s.PatchStrategy.ServerSideApply);

  // 1. kubectl apply of a Deployment with an untrusted image fails at once, with the article's words.
  const untrusted = 'nginx:1.21.1';
  t.is(
    await refusal(() => apply(deployment(bad, o.namespace, untrusted))),
    `${WEBHOOK_DENIAL}Image '${untrusted}' comes from untrusted registry`,
  );
  t.is(
    await refusal(() =>
      apps.createNamespacedDeployment({ namespace: o.namespace, body: deployment(bad, o.namespace, `${o.registryHost}/nginx:latest`) }),
    ),
    `${WEBHOOK_DENIAL}Image '${o.registryHost}/nginx:latest' used latest image`,
  );
  t.is(
    await refusal(() => apps.readNamespacedDeployment({ namespace: o.namespace, name: bad })),
    `deployments.apps "${bad}" not found`,
    'nothing was stored',
  );

  // 2. A good one is accepted; its ReplicaSet and pod pass the webhook too.
  const image = `${o.registryHost}/nginx:1.21.1`;
  t.is(await refusal(() => apply(deployment(good, o.namespace, image))), undefined);
  const selector = `app=${good}`;
  await until(
    'the ReplicaSet of the good Deployment',
    async () => (await apps.listNamespacedReplicaSet({ namespace: o.namespace, labelSelector: selector })).items.length > 0,
  );
  const [pod] = await until('a pod of the good Deployment', async () => {
    const pods = (await core.listNamespacedPod({ namespace: o.namespace, labelSelector: selector })).items;
    return pods.length ? pods : undefined;
  });
  t.is(pod!.spec!.containers[0]!.image, image);

  const seconds = o.rolloutSeconds ?? 180;
  const ready = await until(
    'the good Deployment rolled out',
    async () => {
      const d = await apps.readNamespacedDeployment({ namespace: o.namespace, name: good });
      return (d.status?.readyReplicas ?? 0) >= 1 && (d.status?.updatedReplicas ?? 0) >= 1 ? d : undefined;
    },
    seconds * 1000,
  );
  t.is(ready.status?.readyReplicas, 1);
  const running = (await core.listNamespacedPod({ namespace: o.namespace, labelSelector: selector })).items.filter(
    (p) => p.status?.phase === 'Running',
  );
  t.is(running.length, 1, 'its pod runs');
  t.true(running[0]!.status!.containerStatuses!.every((c) => c.ready));

  // 3. UPDATE judges what it brings: scaling and relabelling pass; a changed or added image is judged.
  const scaled = deployment(good, o.namespace, image, 2);
  scaled.metadata!.labels = { ...scaled.metadata!.labels, tier: 'web' };
  t.is(await refusal(() => apply(scaled)), undefined);
  const changed = deployment(good, o.namespace, 'busybox:1.36', 2);
  t.is(await refusal(() => apply(changed)), `${WEBHOOK_DENIAL}Image 'busybox:1.36' comes from untrusted registry`);
  const sidecar = deployment(good, o.namespace, image, 2);
  sidecar.spec!.template.spec!.containers.push({ name: 'side', image: `${o.registryHost}/envoy` });
  t.is(await refusal(() => apply(sidecar)), `${WEBHOOK_DENIAL}Image '${o.registryHost}/envoy' used latest image`);
  const live = await apps.readNamespacedDeployment({ namespace: o.namespace, name: good });
  t.is(live.spec!.template.spec!.containers.length, 1);
  t.is(live.spec!.template.spec!.containers[0]!.image, image, 'the refused updates changed nothing');
  await cleanup();
}
