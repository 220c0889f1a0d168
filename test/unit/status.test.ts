// `status`: each component's state from the fakes, including a policy made stale by an OPA restart.
import test from 'ava';
import type { KubeObject } from '../../src/adapters/kube.js';
import { base64 } from '../../src/certs.js';
import { collectStatus, status } from '../../src/commands/status.js';
import { POLICY_STATUS_ANNOTATION } from '../../src/manifests.js';
import { registryHosting, registryHostingConfigMap } from '../../src/registry-hosting.js';
import { loadRegistrySpec } from '../../src/registry-spec.js';
import { messages } from '../../src/messages.js';
import { makeCtx, stateFromSpec, upEnvironment, type Owner } from '../helpers/fakes.js';
import { recordingIo } from '../helpers/run.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const OK = '{"status":"ok"}';

const policyConfigMap = (name: string, writtenAt: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: 'opa',
      annotations: { [POLICY_STATUS_ANNOTATION]: OK },
      managedFields: [
        {
          manager: 'kube-mgmt',
          time: writtenAt,
          fieldsV1: { 'f:metadata': { 'f:annotations': { [`f:${POLICY_STATUS_ANNOTATION}`]: {} } } },
        },
      ],
    },
  }) as unknown as KubeObject;

async function healthyCtx(t: Owner, opaStartedAt: string, kubeMgmtStartedAt?: string) {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost: '127.0.0.1:5000' });
  const { docker, kube, registryApi } = ctx.services.fakes;
  docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(5000), true));
  // The fake engine is Docker 27: up closed the registry's addresses (127.0.0.1 at its port, the default bridge).
  ctx.services.fakes.firewall.rules.push(
    { container: 'registry', address: '127.0.0.1', inInterface: 'lo', port: 5000 },
    { container: 'registry', address: '172.17.0.2', inInterface: 'docker0' },
  );
  registryApi.manifests.add('nginx:1.21.1');
  await ctx.services.state.write('ca.crt', CA);
  kube.seed(
    ...upEnvironment().filter((o) => o.kind === 'Deployment'),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'opa-1', namespace: 'opa', labels: { app: 'opa' } },
      status: {
        containerStatuses: [
          { name: 'opa', state: { running: { startedAt: opaStartedAt } } },
          ...(kubeMgmtStartedAt ? [{ name: 'kube-mgmt', state: { running: { startedAt: kubeMgmtStartedAt } } }] : []),
        ],
      },
    } as KubeObject,
    policyConfigMap('opa-default-system-main', '2026-11-26T10:00:10Z'),
    policyConfigMap('image-policy', '2026-11-26T10:00:10Z'),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'opa-validating-webhook' },
      webhooks: [{ clientConfig: { caBundle: base64(CA) } }],
    } as KubeObject,
    registryHostingConfigMap(registryHosting({ config: { registryPort: 5000 }, registryHost: '127.0.0.1:5000' })),
  );
  return ctx;
}

test('status: every component fine', async (t) => {
  const ctx = await healthyCtx(t, '2026-11-26T10:00:00Z');
  const components = await collectStatus(ctx);
  t.deepEqual(
    components.map((c) => [c.component, c.ok]),
    [
      ['registry', true],
      ['trusted image', true],
      ['cluster', true],
      ['OPA', true],
      ['policy', true],
      ['webhook', true],
      ['registry hosting', true],
      ['registry guard', true],
    ],
  );
  t.is(
    components.find((c) => c.component === 'registry guard')!.state,
    "other hosts' packets to the registry are dropped (127.0.0.1:5000 unless via lo, 172.17.0.2 unless via docker0)",
  );
  t.is(components.find((c) => c.component === 'policy')!.state, 'opa-default-system-main: ok; image-policy: ok');
  t.is(components.find((c) => c.component === 'registry hosting')!.state, 'push to localhost:5000, manifests use 127.0.0.1:5000');
});

test('status: OPA started after kube-mgmt loaded the policy → stale, with the fix', async (t) => {
  const ctx = await healthyCtx(t, '2026-11-26T10:05:00Z');
  const policy = (await collectStatus(ctx)).find((c) => c.component === 'policy')!;
  t.false(policy.ok);
  t.regex(
    policy.state,
    /image-policy: stale: OPA restarted after it was loaded \(kube-mgmt is restarted to load it again; if that lasts, run bootstrap up\)/,
  );
});

test('status: kube-mgmt restarted after OPA (its liveness probe) loaded every policy again: not stale, though the annotation kept its time', async (t) => {
  const healed = await healthyCtx(t, '2026-11-26T10:05:00Z', '2026-11-26T10:05:09Z');
  const policy = (await collectStatus(healed)).find((c) => c.component === 'policy')!;
  t.deepEqual([policy.ok, policy.state], [true, 'opa-default-system-main: ok; image-policy: ok']);
  // kube-mgmt started before that OPA: the OPA restarted in place and nobody loaded it since.
  const stale = await healthyCtx(t, '2026-11-26T10:05:00Z', '2026-11-26T09:59:00Z');
  t.false((await collectStatus(stale)).find((c) => c.component === 'policy')!.ok);
});

test('status: nothing there → every component says what is missing', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost: '127.0.0.1:5000' });
  const components = await collectStatus(ctx);
  t.deepEqual(
    components.map((c) => [c.component, c.ok, c.state]),
    [
      ['registry', false, 'absent'],
      ['trusted image', false, 'nginx:1.21.1 missing'],
      ['cluster', true, 'minikube: Kubernetes v1.33.1'],
      ['OPA', false, 'no Deployment opa/opa'],
      ['policy', false, 'opa-default-system-main: not loaded; image-policy: not loaded'],
      ['webhook', false, 'not registered'],
      ['registry hosting', false, 'no ConfigMap kube-public/local-registry-hosting (run bootstrap up)'],
      ['registry guard', true, 'no registry container: nothing to close'],
    ],
  );
});

test('status: registry hosting written for another address → outdated; someone else’s → not ours, naming what tools use', async (t) => {
  const ctx = await healthyCtx(t, '2026-11-26T10:00:00Z');
  const { kube } = ctx.services.fakes;
  const hosting = async () => (await collectStatus(ctx)).find((c) => c.component === 'registry hosting')!;
  kube.seed(registryHostingConfigMap(registryHosting({ config: { registryPort: 5000 }, registryHost: '10.9.9.9:5000' })));
  t.deepEqual(await hosting(), {
    component: 'registry hosting',
    ok: false,
    state: 'outdated: push to localhost:5000, manifests use 10.9.9.9:5000 (run bootstrap up)',
  });
  kube.seed({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'local-registry-hosting', namespace: 'kube-public' },
    data: { 'localRegistryHosting.v1': 'host: "localhost:5001"\n' },
  });
  t.deepEqual(await hosting(), {
    component: 'registry hosting',
    ok: false,
    state: 'kube-public/local-registry-hosting is not ours: tools use localhost:5001',
  });
});

test('status printed on a 50-column terminal: cells wrap at spaces under their column; 120 without a terminal', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost: '127.0.0.1:5000' });
  const printed = async (columns: number | undefined) => {
    const io = recordingIo({ isTTY: columns !== undefined, columns });
    t.false(await status(ctx, io));
    return io.printed;
  };
  // The column of states keeps its longest word (kube-public/local-registry-hosting) whole: the names give way.
  t.deepEqual(await printed(50), [
    '✖ registry      absent',
    '✖ trusted       nginx:1.21.1 missing',
    '  image',
    '✔ cluster       minikube: Kubernetes v1.33.1',
    '✖ OPA           no Deployment opa/opa',
    '✖ policy        opa-default-system-main: not',
    '                loaded; image-policy: not loaded',
    '✖ webhook       not registered',
    '✖ registry      no ConfigMap',
    '  hosting       kube-public/local-registry-hosting',
    '                (run bootstrap up)',
    '✔ registry      no registry container: nothing to',
    '  guard         close',
  ]);
  t.deepEqual((await printed(undefined)).slice(-3), [
    '✖ webhook           not registered',
    '✖ registry hosting  no ConfigMap kube-public/local-registry-hosting (run bootstrap up)',
    '✔ registry guard    no registry container: nothing to close',
  ]);
});

test('status: the registry guard after a reboot (rules gone) says so with the fix; not root, it says it did not check', async (t) => {
  const ctx = await healthyCtx(t, '2026-11-26T10:00:00Z');
  const { firewall } = ctx.services.fakes;
  firewall.rules.splice(1, 1);
  const guard = async () => (await collectStatus(ctx)).find((c) => c.component === 'registry guard')!;
  t.like(await guard(), { ok: false, state: messages.guardRulesMissing(1, 2) });
  firewall.manageable = false;
  t.like(await guard(), { ok: true, state: messages.guardUnchecked() });
});
