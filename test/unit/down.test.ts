// down: the webhook first, then everything else, and only what carries our label.
import test from 'ava';
import { stopKubeletCommand } from '../../src/adapters/minikube.js';
import { convergeRegistry } from '../../src/registry-container.js';
import { existsSync } from 'node:fs';
import type { KubeObject } from '../../src/adapters/kube.js';
import type { Ctx } from '../../src/context.js';
import { loadRegistrySpec } from '../../src/registry-spec.js';
import { deleteIfOurs, downTasks } from '../../src/steps/down.js';
import { FakeKube, fakeTask, makeCtx, runWithTestRenderer, stateFromSpec, type FakeCtx, type Owner } from '../helpers/fakes.js';
import { runSilently } from '../helpers/run.js';

const OURS = { 'app.kubernetes.io/managed-by': 'bootstrap' };
const WEBHOOK_REF = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
  name: 'opa-validating-webhook',
};
const obj = (ref: { apiVersion: string; kind: string; name: string; namespace?: string }, labels?: Record<string, string>): KubeObject => ({
  apiVersion: ref.apiVersion,
  kind: ref.kind,
  metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}), ...(labels ? { labels } : {}) },
});
const WEBHOOK_KEY = 'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//opa-validating-webhook';
const NS_KEY = 'v1/Namespace//opa';
const BINDING_KEY = 'rbac.authorization.k8s.io/v1/ClusterRoleBinding//opa-viewer';
const HOSTING_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-public', name: 'local-registry-hosting' };
const HOSTING_KEY = 'v1/ConfigMap/kube-public/local-registry-hosting';

const run = (ctx: Ctx) => runSilently(downTasks(), ctx);

test('deleteIfOurs: absent, not ours (never deleted), ours (deleted)', async (t) => {
  const kube = new FakeKube();
  t.is(await deleteIfOurs(kube, WEBHOOK_REF), 'absent');
  kube.seed(obj(WEBHOOK_REF));
  t.is(await deleteIfOurs(kube, WEBHOOK_REF), 'not ours');
  kube.seed(obj(WEBHOOK_REF, { 'app.kubernetes.io/managed-by': 'helm' }));
  t.is(await deleteIfOurs(kube, WEBHOOK_REF), 'not ours');
  t.deepEqual(
    kube.log((c) => c.op === 'delete'),
    [],
  );
  t.truthy(kube.stored(WEBHOOK_REF));
  kube.seed(obj(WEBHOOK_REF, { ...OURS, other: 'x' }));
  t.is(await deleteIfOurs(kube, WEBHOOK_REF), 'deleted');
  t.deepEqual(kube.log(), [
    `get ${WEBHOOK_KEY}`,
    `get ${WEBHOOK_KEY}`,
    `get ${WEBHOOK_KEY}`,
    `get ${WEBHOOK_KEY}`,
    `delete ${WEBHOOK_KEY}`,
  ]);
  t.is(kube.stored(WEBHOOK_REF), undefined);
});

async function world(t: Owner, options: Parameters<typeof makeCtx>[2] = {}): Promise<FakeCtx> {
  const ctx = makeCtx(t, {}, options);
  const { kube, docker, cmd } = ctx.services.fakes;
  kube.seed(
    obj(WEBHOOK_REF, OURS),
    obj({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web-server' }, OURS),
    obj({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'users-pod' }, { run: 'x' }),
    obj({ apiVersion: 'batch/v1', kind: 'CronJob', namespace: 'default', name: 'bootstrap-verify-cronjob-allowed' }, OURS),
    obj({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'users-web' }, { app: 'x' }),
    obj({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'opa-viewer' }, OURS),
    obj({ apiVersion: 'v1', kind: 'Namespace', name: 'opa' }, OURS),
    obj(HOSTING_REF, OURS),
  );
  ctx.kube = kube;
  cmd.on(['minikube', 'profile'], {
    stdout: JSON.stringify({
      valid: [{ Name: 'trusted-registry', Status: 'Running', Config: { InsecureRegistry: ['host.minikube.internal:5000'] } }],
    }),
  });
  docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(5000)));
  await ctx.services.state.updateRecord({ createdProfile: true });
  return ctx;
}

test('downTasks: webhook first, then pods, binding and namespace, then the kube-system label; cluster; registry', async (t) => {
  const ctx = await world(t);
  const { kube, docker, cmd } = ctx.services.fakes;
  await run(ctx);
  t.deepEqual(kube.log(), [
    `get ${WEBHOOK_KEY}`,
    `delete ${WEBHOOK_KEY}`,
    'list v1/Pod/default/*',
    'list apps/v1/Deployment/default/*',
    'list apps/v1/ReplicaSet/default/*',
    'list apps/v1/StatefulSet/default/*',
    'list apps/v1/DaemonSet/default/*',
    'list batch/v1/Job/default/*',
    'list v1/ReplicationController/default/*',
    'list batch/v1/CronJob/default/*',
    'delete v1/Pod/default/web-server',
    'delete batch/v1/CronJob/default/bootstrap-verify-cronjob-allowed',
    `get ${BINDING_KEY}`,
    `delete ${BINDING_KEY}`,
    `get ${NS_KEY}`,
    `delete ${NS_KEY}`,
    `get ${NS_KEY}`,
    'apply v1/Namespace//kube-system',
    `get ${HOSTING_KEY}`,
    `delete ${HOSTING_KEY}`,
  ]);
  t.is(kube.calls[2]!.body, 'app.kubernetes.io/managed-by=bootstrap');
  t.truthy(kube.stored({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'users-pod' }), "the user's pod stays");
  t.truthy(
    kube.stored({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'users-web' }),
    "the user's Deployment stays",
  );
  t.falsy(kube.stored({ apiVersion: 'batch/v1', kind: 'CronJob', namespace: 'default', name: 'bootstrap-verify-cronjob-allowed' }));
  t.deepEqual((kube.calls.at(-3)!.body as KubeObject).metadata, { name: 'kube-system', labels: {} });
  t.is(kube.stored(HOSTING_REF), undefined);
  t.deepEqual(cmd.calls, [
    ['minikube', 'profile', 'list', '--output=json'],
    ['minikube', 'delete', '--profile=trusted-registry'],
  ]);
  t.deepEqual(docker.calls, [
    ['disconnectNetwork', 'registry', 'trusted-registry'],
    ['inspectContainer', 'registry'],
    ['removeContainer', 'registry'],
  ]);
  t.true(docker.volumes.has('bootstrap-registry-data'), 'the volume is kept without --purge');
  t.deepEqual(await ctx.services.state.readRecord(), { createdProfile: false });
});

test('downTasks: objects without our label are left alone', async (t) => {
  const ctx = makeCtx(t, {}, { keepCluster: true, keepRegistry: true });
  const { kube } = ctx.services.fakes;
  kube.seed(
    obj(WEBHOOK_REF),
    obj({ apiVersion: 'v1', kind: 'Namespace', name: 'opa' }),
    obj({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'opa-viewer' }),
    // kind's registry script writes this one.
    { ...obj(HOSTING_REF), data: { 'localRegistryHosting.v1': 'host: "localhost:5001"\n' } },
  );
  ctx.kube = kube;
  await run(ctx);
  t.deepEqual(
    kube.log((c) => c.op === 'delete'),
    [],
  );
  for (const key of [WEBHOOK_KEY, NS_KEY, BINDING_KEY, HOSTING_KEY]) t.true(kube.objects.has(key), key);
});

test('downTasks: a profile of the user’s (not created by bootstrap) is kept; a foreign registry container too', async (t) => {
  const ctx = makeCtx(t, { profile: 'users-profile' });
  const { kube, docker, cmd } = ctx.services.fakes;
  ctx.kube = kube;
  cmd.on(['minikube', 'profile'], { stdout: JSON.stringify({ valid: [{ Name: 'users-profile', Status: 'Running', Config: {} }] }) });
  docker.addContainer('registry', { ...stateFromSpec(await loadRegistrySpec(5000)), labels: {} });
  await run(ctx);
  t.deepEqual(cmd.calls, [['minikube', 'profile', 'list', '--output=json']]);
  t.deepEqual(docker.calls, [['inspectContainer', 'registry']]);
  t.true(docker.containers.has('registry'));
});

test('downTasks: a profile bootstrap created is deleted even under another name', async (t) => {
  const ctx = makeCtx(t, { profile: 'mine' }, { keepRegistry: true });
  const { kube, cmd } = ctx.services.fakes;
  ctx.kube = kube;
  await ctx.services.state.updateRecord({ createdProfile: true });
  cmd.on(['minikube', 'profile'], { stdout: JSON.stringify({ valid: [{ Name: 'mine', Status: 'Stopped', Config: {} }] }) });
  await run(ctx);
  t.deepEqual(cmd.calls.at(-1), ['minikube', 'delete', '--profile=mine']);
});

test('downTasks, none driver: the kubelet is stopped before minikube delete (as minikube manages it), so no pod is left', async (t) => {
  for (const [systemd, stop] of [
    [true, ['systemctl', 'stop', 'kubelet']],
    [false, ['service', 'kubelet', 'stop']],
  ] as const) {
    const ctx = makeCtx(t, {}, { keepRegistry: true });
    const { kube, cmd } = ctx.services.fakes;
    ctx.kube = kube;
    await ctx.services.state.updateRecord({ createdProfile: true });
    cmd.on(['minikube', 'profile'], {
      stdout: JSON.stringify({ valid: [{ Name: 'trusted-registry', Status: 'Running', Config: { Driver: 'none' } }] }),
    });
    cmd.on(['systemctl', '--version'], systemd ? { stdout: 'systemd 252' } : { exitCode: 1 });
    await run(ctx);
    const asRoot = process.getuid?.() === 0;
    const expected = asRoot ? [...stop] : ['sudo', '-n', ...stop];
    const stopAt = cmd.calls.findIndex((c) => c.join(' ') === expected.join(' '));
    const deleteAt = cmd.calls.findIndex((c) => c[0] === 'minikube' && c[1] === 'delete');
    t.true(stopAt >= 0 && stopAt < deleteAt, JSON.stringify(cmd.calls));
  }
});

test('stopKubeletCommand: systemd or OpenRC, sudo unless root', (t) => {
  t.deepEqual(stopKubeletCommand(true, true), { file: 'systemctl', args: ['stop', 'kubelet'] });
  t.deepEqual(stopKubeletCommand(false, true), { file: 'service', args: ['kubelet', 'stop'] });
  t.deepEqual(stopKubeletCommand(true, false), { file: 'sudo', args: ['-n', 'systemctl', 'stop', 'kubelet'] });
});

test('downTasks --purge: removes the volume and the state directory', async (t) => {
  const ctx = await world(t, { purge: true });
  await ctx.services.state.write('ca.crt', 'x');
  await run(ctx);
  t.deepEqual(ctx.services.fakes.docker.calls.at(-1), ['removeVolume', 'bootstrap-registry-data']);
  t.false(ctx.services.fakes.docker.volumes.has('bootstrap-registry-data'));
  t.false(existsSync(ctx.services.state.dir));
});

test('downTasks --dry-run: changes nothing anywhere', async (t) => {
  const ctx = await world(t, { dryRun: true, purge: true });
  await run(ctx);
  t.deepEqual(ctx.services.fakes.kube.calls, []);
  t.deepEqual(ctx.services.fakes.cmd.calls, []);
  t.deepEqual(ctx.services.fakes.docker.calls, []);
});

test('downTasks: an unreachable cluster skips the cluster objects with a note', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing' }, { keepRegistry: true });
  const kube = ctx.services.fakes.kube;
  kube.serverVersion = async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
  };
  await run(ctx);
  t.deepEqual(kube.calls, []);
  t.true(ctx.notes.some((n) => n.startsWith('Cluster not reachable (connect ECONNREFUSED 127.0.0.1:6443)')));
});

test('downTasks: without a record of creating it, even the default profile is kept', async (t) => {
  const ctx = await world(t);
  await ctx.services.state.updateRecord({ createdProfile: false });
  await run(ctx);
  t.deepEqual(ctx.services.fakes.cmd.calls, [['minikube', 'profile', 'list', '--output=json']]);
});

test('downTasks, docker driver: the registry leaves the profile network before minikube delete (else the network stays); the VM address is forgotten', async (t) => {
  const ctx = makeCtx(t, {}, { keepRegistry: true });
  const { kube, cmd, docker } = ctx.services.fakes;
  ctx.kube = kube;
  docker.images.add('registry:2.7.1');
  docker.networks.add('trusted-registry');
  await convergeRegistry(ctx, fakeTask().task);
  await docker.connectNetwork('registry', 'trusted-registry');
  await ctx.services.state.updateRecord({ createdProfile: true, registryNodeAddress: '192.168.105.1' });
  cmd.on(['minikube', 'profile'], {
    stdout: JSON.stringify({ valid: [{ Name: 'trusted-registry', Status: 'Running', Config: { Driver: 'docker' } }] }),
  });
  await run(ctx);
  t.false((await docker.inspectContainer('registry'))!.networks.includes('trusted-registry'));
  t.deepEqual(cmd.calls.at(-1), ['minikube', 'delete', '--profile=trusted-registry']);
  t.is((await ctx.services.state.readRecord()).registryNodeAddress, undefined);
});

test('downTasks: the packet-filter rules up made for the registry go with it; rules for another container stay', async (t) => {
  const ctx = makeCtx(t, {}, { keepCluster: true });
  const { docker, firewall } = ctx.services.fakes;
  docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(5000)));
  firewall.rules.push(
    { container: 'registry', address: '172.17.0.2', inInterface: 'docker0' },
    { container: 'registry', address: '192.168.49.2', inInterface: 'br-trusted-registry' },
    { container: 'other-registry', address: '172.17.0.9', inInterface: 'docker0' },
  );
  const { screen, error } = await runWithTestRenderer(downTasks(), ctx);
  t.is(error, undefined, screen.join('\n'));
  t.deepEqual(firewall.rules, [{ container: 'other-registry', address: '172.17.0.9', inInterface: 'docker0' }]);
  t.false(docker.containers.has('registry'));
  t.true(
    screen.some((line) => line.includes('Registry container: removed') && line.includes('2 packet-filter rules for it removed')),
    screen.join('\n'),
  );
});

test('downTasks: a registry container already gone still takes its rules along', async (t) => {
  const ctx = makeCtx(t, {}, { keepCluster: true });
  const { firewall } = ctx.services.fakes;
  firewall.rules.push({ container: 'registry', address: '172.17.0.2', inInterface: 'docker0' });
  await run(ctx);
  t.deepEqual(firewall.rules, []);
});
