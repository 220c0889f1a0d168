// The OPA step's logic: policy ConfigMap apply (status annotation), kube-mgmt status parsing, rollout readiness, waits on a fake clock.
import test from 'ava';
import type { AdmissionOutcome, KubeObject } from '../../src/adapters/kube.js';
import { BootstrapError } from '../../src/errors.js';
import { POLICY_RETRIES_ANNOTATION, POLICY_STATUS_ANNOTATION } from '../../src/manifests.js';
import {
  applyPolicyConfigMap,
  policyStatus,
  rolloutState,
  staleOpaPod,
  terminatingOpaPod,
  statusWrittenAt,
  waitUntilServing,
  waitUntilWebhookAnswers,
  ADMITTED_PROBE_GRACE_SECONDS,
} from '../../src/opa-observe.js';
import { applyAll, refuseForeignObjects } from '../../src/steps/opa.js';
import { FakeKube, fakeTask, makeCtx } from '../helpers/fakes.js';

const CM_KEY = 'v1/ConfigMap/opa/image-policy';
const configMap = (data: Record<string, string>, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'image-policy',
    namespace: 'opa',
    labels: { 'openpolicyagent.org/policy': 'rego' },
    ...(annotations ? { annotations } : {}),
  },
  data,
});
const OK = JSON.stringify({ status: 'ok' });
/** The OPA Deployment with its rollout done. */
const readyDeployment = (): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'opa', namespace: 'opa', generation: 1 },
    spec: { replicas: 1 },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  }) as KubeObject;

test('applyPolicyConfigMap: new ConfigMap → get, apply (nothing to drop)', async (t) => {
  const kube = new FakeKube();
  await applyPolicyConfigMap(kube, configMap({ 'a.rego': 'package a' }));
  t.deepEqual(kube.log(), [`get ${CM_KEY}`, `apply ${CM_KEY}`]);
});

const RESYNC = { metadata: { annotations: { [POLICY_STATUS_ANNOTATION]: null, [POLICY_RETRIES_ANNOTATION]: null } } };
/** kube-mgmt's field-management record for its status write, at `time`. */
const writtenBy = (time: string) => [
  {
    manager: 'kube-mgmt',
    operation: 'Update',
    time,
    fieldsV1: { 'f:metadata': { 'f:annotations': { [`f:${POLICY_STATUS_ANNOTATION}`]: {}, [`f:${POLICY_RETRIES_ANNOTATION}`]: {} } } },
  },
  { manager: 'bootstrap', operation: 'Apply', time: '2026-01-01T00:00:00Z', fieldsV1: { 'f:data': {} } },
];
const withManagedFields = (object: KubeObject, time: string) =>
  ({ ...object, metadata: { ...object.metadata, managedFields: writtenBy(time) } }) as unknown as KubeObject;

test('applyPolicyConfigMap: changed content → applied, then both kube-mgmt annotations dropped (merge patch)', async (t) => {
  const kube = new FakeKube().seed(
    configMap({ 'a.rego': 'package old' }, { [POLICY_STATUS_ANNOTATION]: OK, [POLICY_RETRIES_ANNOTATION]: '0', other: 'kept' }),
  );
  await applyPolicyConfigMap(kube, configMap({ 'a.rego': 'package new' }));
  t.deepEqual(kube.log(), [`get ${CM_KEY}`, `apply ${CM_KEY}`, `mergePatch ${CM_KEY}`]);
  t.deepEqual(kube.calls[2]!.body, RESYNC);
  const stored = kube.stored({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'opa', name: 'image-policy' })!;
  t.deepEqual(stored.metadata!.annotations, { other: 'kept' });
  t.deepEqual(stored.data, { 'a.rego': 'package new' });
});

test('applyPolicyConfigMap: unchanged content but an error status → kube-mgmt is made to sync again', async (t) => {
  const kube = new FakeKube().seed(
    configMap({ 'a.rego': 'package same' }, { [POLICY_STATUS_ANNOTATION]: '{"status":"error","error":{"code":"x"}}' }),
  );
  await applyPolicyConfigMap(kube, configMap({ 'a.rego': 'package same' }));
  t.deepEqual(kube.log(), [`get ${CM_KEY}`, `apply ${CM_KEY}`, `mergePatch ${CM_KEY}`]);
});

test('applyPolicyConfigMap: OPA started after kube-mgmt wrote "ok" → the policy is gone from OPA: sync again', async (t) => {
  const live = withManagedFields(configMap({ 'a.rego': 'package same' }, { [POLICY_STATUS_ANNOTATION]: OK }), '2026-11-26T10:00:00Z');
  const kube = new FakeKube().seed(live);
  await applyPolicyConfigMap(kube, configMap({ 'a.rego': 'package same' }), new Date('2026-11-26T10:05:00Z'));
  t.deepEqual(kube.log(), [`get ${CM_KEY}`, `apply ${CM_KEY}`, `mergePatch ${CM_KEY}`]);
  t.is(statusWrittenAt(live as never)?.toISOString(), '2026-11-26T10:00:00.000Z');
});

test('applyPolicyConfigMap: "ok" written after OPA started, same content → current: no patch', async (t) => {
  const live = withManagedFields(configMap({ 'a.rego': 'package same' }, { [POLICY_STATUS_ANNOTATION]: OK }), '2026-11-26T10:05:00Z');
  const kube = new FakeKube().seed(live);
  await applyPolicyConfigMap(kube, configMap({ 'a.rego': 'package same' }), new Date('2026-11-26T10:00:00Z'));
  t.deepEqual(kube.log(), [`get ${CM_KEY}`, `apply ${CM_KEY}`]);
});

test('policyStatus parsing', (t) => {
  const withStatus = (value?: string) => configMap({}, value === undefined ? undefined : { [POLICY_STATUS_ANNOTATION]: value }) as never;
  t.is(policyStatus(undefined), undefined);
  t.is(policyStatus(withStatus()), undefined);
  t.is(policyStatus(withStatus('')), undefined);
  t.deepEqual(policyStatus(withStatus('{"status":"ok"}')), { ok: true });
  t.deepEqual(policyStatus(withStatus('{"status":"error","error":"1 error occurred: x.rego:3: rego_parse_error"}')), {
    ok: false,
    error: '1 error occurred: x.rego:3: rego_parse_error',
    transport: false,
  });
  t.deepEqual(policyStatus(withStatus('{"status":"error","error":{"code":"invalid_parameter","message":"error(s) occurred"}}')), {
    ok: false,
    error: '{"code":"invalid_parameter","message":"error(s) occurred"}',
    transport: false,
  });
  // Go's url.Error, as kube-mgmt writes it when OPA does not answer yet.
  const refused =
    '{"status":"error","error":{"Op":"Put","URL":"http://127.0.0.1:8181/v1/policies/opa/cm/key","Err":{"Op":"dial","Net":"tcp"}}}';
  t.like(policyStatus(withStatus(refused)), { ok: false, transport: true });
  t.deepEqual(policyStatus(withStatus('{"status":"weird"}')), { ok: false, error: '{"status":"weird"}', transport: false });
  t.deepEqual(policyStatus(withStatus('not json')), { ok: false, error: 'not json', transport: false });
});

test('waitUntilServing: a transport error (OPA not answering yet) asks kube-mgmt to retry and keeps waiting', async (t) => {
  const ctx = makeCtx(t);
  const refused = '{"status":"error","error":{"Op":"Put","URL":"http://127.0.0.1:8181/v1/policies/opa/image-policy/a.rego"}}';
  const kube = new FakeKube().seed(configMap({ 'a.rego': 'package a' }, { [POLICY_STATUS_ANNOTATION]: refused }), readyDeployment());
  // kube-mgmt's retry, once asked (the merge patch after the first poll), succeeds.
  kube.onGet = (_ref, count) => {
    if (count === 2) kube.seed(configMap({ 'a.rego': 'package a' }, { [POLICY_STATUS_ANNOTATION]: OK }));
  };
  await waitUntilServing(ctx, kube, [configMap({ 'a.rego': 'package a' })]);
  t.true(kube.log().includes(`mergePatch ${CM_KEY}`));
});

type Dep = Parameters<typeof rolloutState>[0];
const deployment = (generation: number, replicas: number | undefined, status?: Record<string, number>): Dep =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'opa', namespace: 'opa', generation },
    spec: { replicas },
    status,
  }) as Dep;

test('rolloutState table', (t) => {
  const table: [Dep, boolean, string][] = [
    [undefined, false, 'no Deployment opa/opa'],
    [
      deployment(2, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
      false,
      'new template not yet observed',
    ],
    [deployment(1, 1, undefined), false, 'new template not yet observed'],
    [deployment(1, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 0 }), false, '0/1 pods updated'],
    [deployment(2, 1, { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2 }), false, '1 old pods terminating'],
    [deployment(1, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 }), false, '0/1 pods available'],
    [
      deployment(1, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 }),
      true,
      '1/1 ready',
    ],
    [deployment(3, undefined, { observedGeneration: 3, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }), true, '1/1 ready'],
    [deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }), false, '1/2 pods available'],
    [deployment(4, 0, { observedGeneration: 4, replicas: 0, updatedReplicas: 0, availableReplicas: 0 }), false, 'scaled to 0 replicas'],
  ];
  for (const [d, done, detail] of table) t.deepEqual(rolloutState(d), { done, detail }, JSON.stringify(d?.status));
});

test('waitUntilServing: returns once the Deployment becomes available', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 60 });
  const kube = new FakeKube();
  kube.onGet = (_ref, count) => {
    if (count === 3)
      kube.seed(deployment(1, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }) as KubeObject);
  };
  await waitUntilServing(ctx, kube, []);
  // Once the rollout is done, OPA's pods are listed: no old one may be left terminating.
  t.deepEqual(kube.log(), [
    'get apps/v1/Deployment/opa/opa',
    'get apps/v1/Deployment/opa/opa',
    'get apps/v1/Deployment/opa/opa',
    'list v1/Pod/opa/*',
  ]);
  t.deepEqual(ctx.services.fakes.clock.sleeps, [100, 200]);
});

test('waitUntilServing: times out with the rollout’s last detail (fake clock)', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 5 });
  const kube = new FakeKube().seed(
    deployment(1, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 }) as KubeObject,
  );
  const start = ctx.services.fakes.clock.time;
  const error = await t.throwsAsync(waitUntilServing(ctx, kube, []), { instanceOf: BootstrapError });
  t.is(error!.problem, 'OPA did not become ready within 5s (0/1 pods available).');
  t.true(ctx.services.fakes.clock.time - start >= 5000);
  t.true(ctx.services.fakes.clock.time - start < 6100);
});

/** An OPA pod whose opa container runs since `startedAt`, Ready or not. */
const opaPod = (name: string, startedAt: string | undefined, ready: boolean, deleting = false): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'opa', labels: { app: 'opa' }, ...(deleting ? { deletionTimestamp: '2025-06-01T11:00:00Z' } : {}) },
    status: {
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [{ name: 'opa', state: startedAt ? { running: { startedAt } } : { waiting: {} } }],
    },
  }) as KubeObject;

test('staleOpaPod: the status from before the cluster started is stale; a restarted pod counts once Ready', (t) => {
  const since = new Date('2025-06-01T12:00:00Z');
  const table: [KubeObject[], string | undefined][] = [
    [[], undefined],
    [[opaPod('opa-1', '2025-06-01T11:00:00Z', true)], 'pod opa-1 not yet restarted since the cluster started'],
    [[opaPod('opa-1', undefined, false)], 'pod opa-1 not yet restarted since the cluster started'],
    [[opaPod('opa-1', '2025-06-01T12:00:20Z', false)], 'pod opa-1 restarted, not ready yet'],
    [[opaPod('opa-1', '2025-06-01T12:00:20Z', true)], undefined],
    // within the clock-skew tolerance (2 s) of a node whose clock runs a little behind this machine's
    [[opaPod('opa-1', '2025-06-01T11:59:59Z', true)], undefined],
    [[opaPod('old', '2025-06-01T11:00:00Z', true, true), opaPod('opa-2', '2025-06-01T12:00:05Z', true)], undefined],
    // A pod that ended (Failed after the node's restart; its ReplicaSet makes another) is no one's endpoint.
    [
      [
        { ...opaPod('ended', '2025-06-01T11:00:00Z', false), status: { phase: 'Failed' } } as KubeObject,
        opaPod('opa-2', '2025-06-01T12:00:05Z', true),
      ],
      undefined,
    ],
  ];
  for (const [pods, expected] of table) t.is(staleOpaPod(pods as never, since), expected, JSON.stringify(pods.map((p) => p.status)));
});

test('waitUntilServing after this run started the cluster: waits until the kubelet reports OPA again, not the status from before the stop', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 60 });
  ctx.clusterStartedAt = ctx.services.now();
  // What the API server shows right after `minikube start` of a stopped profile: all of it from before the stop.
  const kube = new FakeKube().seed(readyDeployment(), opaPod('opa-1', '2025-06-01T11:00:00Z', true));
  kube.onGet = (_ref, count) => {
    if (count === 2) kube.seed(opaPod('opa-1', new Date(ctx.services.fakes.clock.time).toISOString(), false));
    if (count === 3) kube.seed(opaPod('opa-1', '2025-06-01T12:00:00.100Z', true));
  };
  await waitUntilServing(ctx, kube, []);
  t.is(kube.log().filter((l) => l.startsWith('list v1/Pod/opa')).length, 3);
  t.deepEqual(ctx.services.fakes.clock.sleeps, [100, 200]);
});

test('waitUntilServing times out naming the pod the kubelet has not reported since the start', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 5 });
  ctx.clusterStartedAt = ctx.services.now();
  const kube = new FakeKube().seed(readyDeployment(), opaPod('opa-1', '2025-06-01T11:00:00Z', true));
  const error = await t.throwsAsync(waitUntilServing(ctx, kube, []), { instanceOf: BootstrapError });
  t.is(error!.problem, 'OPA did not become ready within 5s (pod opa-1 not yet restarted since the cluster started).');
});

/** Mid-rollout: the new pod ready, the old one still terminating. */
const midRollout = () => [opaPod('opa-1', '2025-06-01T11:00:00Z', true, true), opaPod('opa-2', '2025-06-01T12:00:05Z', true)];

test('terminatingOpaPod names a pod that is still going; none going is undefined', (t) => {
  t.is(terminatingOpaPod([]), undefined);
  t.is(terminatingOpaPod([opaPod('opa-2', '2025-06-01T12:00:05Z', true)] as never), undefined);
  t.is(terminatingOpaPod(midRollout() as never), 'old pod opa-1 still terminating');
});

test('waitUntilServing after a rollout: done only once the old pod is gone (the Service may still route to it)', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 60 });
  const kube = new FakeKube().seed(readyDeployment(), ...midRollout());
  kube.onGet = (_ref, count) => {
    if (count === 3) kube.objects.delete('v1/Pod/opa/opa-1');
  };
  await waitUntilServing(ctx, kube, []);
  t.is(kube.log().filter((l) => l.startsWith('list v1/Pod/opa')).length, 3);
});

test('waitUntilServing times out naming the old pod that does not go', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 5 });
  const kube = new FakeKube().seed(readyDeployment(), ...midRollout());
  const error = await t.throwsAsync(waitUntilServing(ctx, kube, []), { instanceOf: BootstrapError });
  t.is(error!.problem, 'OPA did not become ready within 5s (old pod opa-1 still terminating).');
});

const policyCms = [configMap({}), { ...configMap({}), metadata: { name: 'opa-default-system-main', namespace: 'opa' } }] as KubeObject[];

test('waitUntilServing: throws kube-mgmt’s error text for a rejected policy', async (t) => {
  const ctx = makeCtx(t);
  const kube = new FakeKube().seed(
    configMap(
      {},
      {
        [POLICY_STATUS_ANNOTATION]:
          '{"status":"error","error":"1 error occurred: image-policy.rego:7: rego_unsafe_var_error: var x is unsafe"}',
      },
    ),
    {
      ...configMap({}, { [POLICY_STATUS_ANNOTATION]: OK }),
      metadata: { name: 'opa-default-system-main', namespace: 'opa', annotations: { [POLICY_STATUS_ANNOTATION]: OK } },
    },
    readyDeployment(),
  );
  const error = await t.throwsAsync(waitUntilServing(ctx, kube, policyCms), { instanceOf: BootstrapError });
  t.is(
    error!.problem,
    'kube-mgmt could not load ConfigMap opa/image-policy: 1 error occurred: image-policy.rego:7: rego_unsafe_var_error: var x is unsafe',
  );
});

test('waitUntilServing: resolves when every ConfigMap reports ok and OPA is ready; times out naming the silent one', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 3 });
  const kube = new FakeKube().seed(
    configMap({}, { [POLICY_STATUS_ANNOTATION]: OK }),
    { ...configMap({}), metadata: { name: 'opa-default-system-main', namespace: 'opa' } } as KubeObject,
    readyDeployment(),
  );
  await t.throwsAsync(waitUntilServing(ctx, kube, policyCms), {
    message: /kube-mgmt did not report on ConfigMap opa\/opa-default-system-main within 3s/,
  });
  kube.seed({
    ...configMap({}),
    metadata: { name: 'opa-default-system-main', namespace: 'opa', annotations: { [POLICY_STATUS_ANNOTATION]: OK } },
  } as KubeObject);
  await t.notThrowsAsync(waitUntilServing(ctx, kube, policyCms));
});

test('applyAll: namespaces first, the Deployment last, the rest in between', async (t) => {
  const kube = new FakeKube();
  const object = (kind: string, name: string, namespace?: string): KubeObject => ({
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace },
  });
  await applyAll(
    kube,
    [object('Deployment', 'opa', 'opa'), object('Secret', 's', 'opa'), object('Namespace', 'opa'), object('ServiceAccount', 'opa', 'opa')],
    fakeTask().task,
  );
  const order = kube.log((c) => c.op === 'apply');
  t.is(order[0], 'apply v1/Namespace//opa');
  t.is(order[3], 'apply v1/Deployment/opa/opa');
  t.deepEqual(order.slice(1, 3).sort(), ['apply v1/Secret/opa/s', 'apply v1/ServiceAccount/opa/opa']);
});

test('refuseForeignObjects: a same-named object without our label stops up before anything is applied', async (t) => {
  const foreign = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'opa-viewer' },
  } as KubeObject;
  const kube = new FakeKube().seed(foreign);
  const error = await t.throwsAsync(refuseForeignObjects(kube));
  t.regex(
    error!.message,
    /ClusterRoleBinding opa-viewer exists, but bootstrap did not create it[\s\S]*kubectl delete clusterrolebinding opa-viewer/,
  );
  t.deepEqual(
    kube.log((c) => c.op !== 'get'),
    [],
  );
  // Ours (labelled), or absent: fine.
  const ours = new FakeKube().seed({
    ...foreign,
    metadata: { name: 'opa-viewer', labels: { 'app.kubernetes.io/managed-by': 'bootstrap' } },
  } as KubeObject);
  await t.notThrowsAsync(refuseForeignObjects(ours));
  await t.notThrowsAsync(refuseForeignObjects(new FakeKube()));
});

const UNREACHABLE =
  'Internal error occurred: failed calling webhook "validating-webhook.openpolicyagent.org": failed to call webhook: Post "https://opa.opa.svc:443/?timeout=10s": dial tcp 10.100.246.209:443: connect: connection refused';

/** An API server that answers the first two probes with `before`, then with the webhook's denial; counts the probes. */
function probedKube(before: AdmissionOutcome) {
  const kube = new FakeKube();
  const counted = { probes: 0 };
  const denied =
    'admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image \'bootstrap.invalid/probe:1\' comes from untrusted registry';
  kube.admission = () => (++counted.probes < 3 ? before : { allowed: false, code: 403, message: denied });
  return { kube, counted };
}

test('waitUntilWebhookAnswers: waits while the API server cannot call the webhook (kube-proxy not ready yet), then goes on', async (t) => {
  const ctx = makeCtx(t);
  const { kube, counted } = probedKube({ allowed: false, code: 500, message: UNREACHABLE });
  await waitUntilWebhookAnswers(ctx, kube);
  t.is(counted.probes, 3);
  t.true(
    kube.calls.every((c) => c.op === 'createPod' && c.dryRun === true),
    'only server-side dry runs: nothing is created',
  );
});

test('waitUntilWebhookAnswers: an admitted probe is the API server without the webhook yet: waits for the denial', async (t) => {
  const ctx = makeCtx(t);
  const { kube, counted } = probedKube({ allowed: true, code: 201, message: '' });
  await waitUntilWebhookAnswers(ctx, kube);
  t.is(counted.probes, 3);
});

test('waitUntilWebhookAnswers: another refusal (no such namespace yet) is not the webhook answering: waits for its denial', async (t) => {
  const ctx = makeCtx(t);
  const { kube, counted } = probedKube({ allowed: false, code: 404, message: 'namespaces "default" not found' });
  await waitUntilWebhookAnswers(ctx, kube);
  t.is(counted.probes, 3);
});

test('waitUntilWebhookAnswers: a policy that admits the probe is accepted after the grace period, not waited on to the end', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 60 });
  const kube = new FakeKube();
  kube.admission = () => ({ allowed: true, code: 201, message: '' });
  const start = ctx.services.fakes.clock.time;
  await waitUntilWebhookAnswers(ctx, kube);
  const waited = ctx.services.fakes.clock.time - start;
  t.true(waited >= ADMITTED_PROBE_GRACE_SECONDS * 1000 && waited < ADMITTED_PROBE_GRACE_SECONDS * 1000 + 500, `${waited} ms`);
});

test('waitUntilWebhookAnswers: never reached → the error names the API server’s last answer and where to look', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 1 });
  const kube = new FakeKube();
  kube.admission = () => ({ allowed: false, code: 500, message: UNREACHABLE });
  const error = await t.throwsAsync(waitUntilWebhookAnswers(ctx, kube), { instanceOf: BootstrapError });
  t.true(error!.message.includes('could not reach the webhook within 1s'), error!.message);
  t.true(error!.message.includes('connect: connection refused'), error!.message);
  t.true(error!.message.includes('kube-proxy'), error!.message);
});
