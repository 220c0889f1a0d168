// minikube: argv built by pure functions, `profile list` parsing, and the cluster plan driven through a recording runner.
import test from 'ava';
import { containerdHostsPath, containerdHostsToml } from '../../src/registry-access.js';
import { convergeRegistry } from '../../src/registry-container.js';
import {
  ADMISSION_PLUGINS,
  deleteArgs,
  Minikube,
  mirrorResult,
  nodeHostAddressArgs,
  nodeMirrorArgs,
  nodeMirrorScript,
  parseProfileList,
  parseVersion,
  profileListArgs,
  registryProbeArgs,
  startArgs,
  versionAtLeast,
  type MinikubeProfile,
} from '../../src/adapters/minikube.js';
import { BootstrapError } from '../../src/errors.js';
import { registryHostFor } from '../../src/cluster-access.js';
import {
  convergeMinikube,
  existingNodesReachRegistryTask,
  nodeReachesRegistryTask,
  planCluster,
  startOptions,
} from '../../src/steps/cluster.js';
import { FakeCmdRunner, fakeTask, makeCtx, type FakeCtx, type Owner } from '../helpers/fakes.js';
import type { Task } from '../../src/listr.js';

const HOST = 'host.minikube.internal:5000';
const PLUGINS_FLAG =
  '--extra-config=apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,AlwaysPullImages';

/** What `minikube profile list -o json` prints (minikube 1.3x), trimmed to the fields bootstrap reads plus neighbours. */
function profileListJson(
  profiles: { name: string; status: string; insecure: string[] | null; driver?: string }[],
  invalid: string[] = [],
): string {
  const config = (name: string, insecure: string[] | null, driver = 'docker') => ({
    Name: name,
    KeepContext: false,
    EmbedCerts: false,
    Memory: 3900,
    CPUs: 2,
    Driver: driver,
    InsecureRegistry: insecure,
    RegistryMirror: [],
    KubernetesConfig: {
      KubernetesVersion: 'v1.33.1',
      ClusterName: name,
      ContainerRuntime: 'containerd',
      ExtraOptions: [
        { Component: 'kubelet', Key: 'fail-cgroupv1', Value: 'false' },
        { Component: 'apiserver', Key: 'enable-admission-plugins', Value: ADMISSION_PLUGINS.join(',') },
      ],
    },
    Nodes: [{ Name: '', IP: '192.168.49.2', Port: 8443, ControlPlane: true, Worker: true }],
  });
  return JSON.stringify({
    invalid: invalid.map((name) => ({ Name: name, Status: '', Config: null, Active: false, ActiveKubeContext: false })),
    valid: profiles.map((p) => ({
      Name: p.name,
      Status: p.status,
      Config: config(p.name, p.insecure, p.driver),
      Active: false,
      ActiveKubeContext: true,
    })),
  });
}

// --- argv ---------------------------------------------------------------------------------------------------

test('startArgs without driver or Kubernetes version', (t) => {
  t.deepEqual(startArgs({ profile: 'trusted-registry', insecureRegistry: HOST }), [
    'start',
    '--profile=trusted-registry',
    '--insecure-registry=host.minikube.internal:5000',
    '--container-runtime=containerd',
    PLUGINS_FLAG,
    '--wait=apiserver',
  ]);
});

test('startArgs with driver and Kubernetes version', (t) => {
  t.deepEqual(startArgs({ profile: 'p1', insecureRegistry: '10.0.0.5:5001', driver: 'kvm2', kubernetesVersion: 'v1.33.1' }), [
    'start',
    '--profile=p1',
    '--insecure-registry=10.0.0.5:5001',
    '--container-runtime=containerd',
    PLUGINS_FLAG,
    '--driver=kvm2',
    '--kubernetes-version=v1.33.1',
    '--wait=apiserver',
  ]);
});

test('deleteArgs, profileListArgs, registryProbeArgs', (t) => {
  t.deepEqual(deleteArgs('trusted-registry'), ['delete', '--profile=trusted-registry']);
  t.deepEqual(profileListArgs(), ['profile', 'list', '--output=json']);
  t.deepEqual(registryProbeArgs('p1', HOST), [
    'ssh',
    '--profile=p1',
    '--',
    "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://host.minikube.internal:5000/v2/",
  ]);
});

// --- parsing ----------------------------------------------------------------------------------------------

test('parseProfileList: valid and invalid profiles, InsecureRegistry null', (t) => {
  const stdout = profileListJson(
    [
      { name: 'minikube', status: 'Running', insecure: null },
      { name: 'trusted-registry', status: 'Stopped', insecure: [HOST, '10.0.0.0/24'] },
    ],
    ['broken'],
  );
  t.deepEqual(parseProfileList(stdout), [
    { name: 'minikube', status: 'Running', insecureRegistries: [], driver: 'docker', admissionPlugins: ADMISSION_PLUGINS },
    {
      name: 'trusted-registry',
      status: 'Stopped',
      insecureRegistries: [HOST, '10.0.0.0/24'],
      driver: 'docker',
      admissionPlugins: ADMISSION_PLUGINS,
    },
    { name: 'broken', status: '', insecureRegistries: [], admissionPlugins: [] },
  ]);
});

test('parseProfileList: empty output and null arrays mean no profiles', (t) => {
  t.deepEqual(parseProfileList(''), []);
  t.deepEqual(parseProfileList('{"invalid":null,"valid":null}'), []);
  t.deepEqual(parseProfileList('{"invalid":[{"Name":"x"}]}'), [
    { name: 'x', status: 'Unknown', insecureRegistries: [], admissionPlugins: [] },
  ]);
});

test('Minikube.profile: no profiles at all (error object, non-zero exit) means none', async (t) => {
  const cmd = new FakeCmdRunner().on(['minikube', 'profile', 'list'], {
    exitCode: 85,
    stdout: '{"error":{"Name":"MK_USAGE_NO_PROFILE"}}\n* Exiting due to MK_USAGE_NO_PROFILE',
  });
  t.is(await new Minikube(cmd).profile('trusted-registry'), undefined);
  t.deepEqual(cmd.calls, [['minikube', 'profile', 'list', '--output=json']]);
});

test('parseVersion and versionAtLeast', (t) => {
  t.is(parseVersion('v1.36.0'), '1.36.0');
  t.is(parseVersion('minikube version: v1.26.1\ncommit: abc'), '1.26.1');
  t.is(parseVersion('no version here'), undefined);
  const table: [string, string, boolean][] = [
    ['1.26.0', '1.26.0', true],
    ['1.26.1', '1.26.0', true],
    ['1.27.0', '1.26.9', true],
    ['2.0.0', '1.26.0', true],
    ['1.25.99', '1.26.0', false],
    ['1.9.0', '1.26.0', false],
    ['0.99.99', '1.26.0', false],
    ['1.26', '1.26.0', true],
  ];
  for (const [found, needed, expected] of table) t.is(versionAtLeast(found, needed), expected, `${found} >= ${needed}`);
});

// --- planCluster ----------------------------------------------------------------------------------------------

const profile = (status: string, insecure: string[] = [HOST], admissionPlugins = ADMISSION_PLUGINS): MinikubeProfile => ({
  name: 'trusted-registry',
  status,
  insecureRegistries: insecure,
  admissionPlugins,
});

test('planCluster: absent profile → create (recreate flag or not)', (t) => {
  t.is(planCluster(undefined, HOST, false), 'create');
  t.is(planCluster(undefined, HOST, true), 'create');
});

test('planCluster: profile lacking the insecure registry → error naming --recreate-cluster', (t) => {
  const error = t.throws(() => planCluster(profile('Running', ['other:5000']), HOST, false), { instanceOf: BootstrapError });
  t.true(error!.message.includes('--recreate-cluster'));
  t.true(error!.message.includes(`--insecure-registry=${HOST}`));
  t.true(error!.message.includes("'trusted-registry'"));
});

test('planCluster: profile lacking the insecure registry → recreate when asked', (t) => {
  t.is(planCluster(profile('Running', []), HOST, true), 'recreate');
});

test('planCluster: a profile made without AlwaysPullImages → error naming --recreate-cluster, or recreate when asked', (t) => {
  const plugins = ADMISSION_PLUGINS.filter((p) => p !== 'AlwaysPullImages');
  const error = t.throws(() => planCluster(profile('Running', [HOST], plugins), HOST, false), { instanceOf: BootstrapError });
  t.true(error!.message.includes('without the AlwaysPullImages admission plugin'), error!.message);
  t.true(error!.message.includes('bootstrap up --recreate-cluster'), error!.message);
  t.is(planCluster(profile('Running', [HOST], []), HOST, true), 'recreate');
});

test('planCluster: running or OK → none; stopped → start; recreate wins', (t) => {
  t.is(planCluster(profile('Running'), HOST, false), 'none');
  t.is(planCluster(profile('OK'), HOST, false), 'none');
  t.is(planCluster(profile('Stopped'), HOST, false), 'start');
  t.is(planCluster(profile('Unknown'), HOST, false), 'start');
  t.is(planCluster(profile('Running'), HOST, true), 'recreate');
});

// --- convergeMinikube -----------------------------------------------------------------------------------------

const LIST = ['minikube', 'profile', 'list', '--output=json'];
const START = [
  'minikube',
  'start',
  '--profile=trusted-registry',
  `--insecure-registry=${HOST}`,
  '--container-runtime=containerd',
  PLUGINS_FLAG,
  '--wait=apiserver',
];

test('startOptions and registryHostFor follow the config', (t) => {
  t.is(registryHostFor(makeCtx(t, { registryPort: 5001 })), 'host.minikube.internal:5001');
  t.is(registryHostFor(makeCtx(t, { registryHost: '192.168.49.1:5000' })), '192.168.49.1:5000');
  t.throws(() => registryHostFor(makeCtx(t, { cluster: 'existing' })), { message: /--registry-host/ });
  t.deepEqual(startOptions(makeCtx(t, { minikubeDriver: 'docker', kubernetesVersion: 'v1.32.0' })), {
    profile: 'trusted-registry',
    insecureRegistry: HOST,
    kubernetesVersion: 'v1.32.0',
    driver: 'docker',
  });
});

test('convergeMinikube: create runs list then start, and records createdProfile', async (t) => {
  const ctx = makeCtx(t);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'minikube', status: 'Running', insecure: null }]) });
  cmd.on(['minikube', 'start'], { stdout: '* Done! kubectl is now configured' });
  const { task, outputs } = fakeTask();
  t.is(await convergeMinikube(ctx, task), 'create');
  t.deepEqual(cmd.calls, [LIST, START]);
  t.deepEqual(outputs, ['* Done! kubectl is now configured']);
  t.deepEqual(await ctx.services.state.readRecord(), { createdProfile: true });
});

test('convergeMinikube: recreate deletes then starts, with driver and version', async (t) => {
  const ctx = makeCtx(t, { minikubeDriver: 'docker', kubernetesVersion: 'v1.33.1' }, { recreateCluster: true });
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Running', insecure: null }]) });
  t.is(await convergeMinikube(ctx, fakeTask().task), 'recreate');
  t.deepEqual(cmd.calls, [
    LIST,
    ['minikube', 'delete', '--profile=trusted-registry'],
    // START with the driver and the version, before --wait.
    [...START.slice(0, -1), '--driver=docker', '--kubernetes-version=v1.33.1', '--wait=apiserver'],
  ]);
  t.true((await ctx.services.state.readRecord()).createdProfile);
});

test('convergeMinikube: stopped profile is started and not recorded as created', async (t) => {
  const ctx = makeCtx(t);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Stopped', insecure: [HOST] }]) });
  const before = ctx.services.now();
  t.is(await convergeMinikube(ctx, fakeTask().task), 'start');
  t.deepEqual(cmd.calls, [LIST, START]);
  t.deepEqual(await ctx.services.state.readRecord(), {});
  // Pod statuses from before this moment are the stopped node's: the OPA step waits for fresh ones.
  t.deepEqual(ctx.clusterStartedAt, before);
});

test('convergeMinikube: a paused profile is started, but its pods kept their containers: their statuses are not stale', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.cmd.on(['minikube', 'profile'], {
    stdout: profileListJson([{ name: 'trusted-registry', status: 'Paused', insecure: [HOST] }]),
  });
  t.is(await convergeMinikube(ctx, fakeTask().task), 'start');
  t.is(ctx.clusterStartedAt, undefined);
});

test('convergeMinikube: running profile → only the list call', async (t) => {
  const ctx = makeCtx(t);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Running', insecure: [HOST] }]) });
  t.is(await convergeMinikube(ctx, fakeTask().task), 'none');
  t.deepEqual(cmd.calls, [LIST]);
  t.is(ctx.clusterStartedAt, undefined);
});

test('convergeMinikube: a failing start throws minikube’s stderr and records nothing', async (t) => {
  const ctx = makeCtx(t);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: '' });
  cmd.on(['minikube', 'start'], { exitCode: 80, stderr: 'X Exiting due to PROVIDER_DOCKER_NOT_RUNNING' });
  await t.throwsAsync(convergeMinikube(ctx, fakeTask().task), {
    message: /could not start profile 'trusted-registry': X Exiting due to PROVIDER_DOCKER_NOT_RUNNING/,
  });
  t.deepEqual(cmd.calls, [LIST, START]);
  t.deepEqual(await ctx.services.state.readRecord(), {});
});

test('Minikube.profile: "no profile" is none; any other failure to list stops, so an existing profile is never started over', async (t) => {
  const ctx = makeCtx(t);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], {
    exitCode: 85,
    stdout: '',
    stderr: 'X Exiting due to MK_USAGE_NO_PROFILE: No minikube profile was found.',
  });
  t.is(await ctx.services.minikube.profile('trusted-registry'), undefined);

  cmd.on(['minikube', 'profile'], {
    exitCode: 1,
    stdout: '',
    stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock',
  });
  await t.throwsAsync(convergeMinikube(ctx, fakeTask().task), {
    message: /Cannot list minikube profiles: Cannot connect to the Docker daemon/,
  });
  t.false(cmd.calls.some((call) => call[1] === 'start'));
});

/** The node step against a fake minikube whose profile has `driver`, with our registry container in the fake Docker. */
async function nodeStep(t: Owner, driver: string) {
  const ctx = makeCtx(t);
  const { cmd, docker } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Running', insecure: [HOST], driver }]) });
  docker.images.add('registry:2.7.1');
  await convergeRegistry(ctx, fakeTask().task);
  const run = async () => (await runStep(nodeReachesRegistryTask(), ctx)).title;
  return { ctx, cmd, docker, run };
}

/** Runs one step's task function with a stand-in task wrapper: the title it ends with, the skips it asked for. */
async function runStep(step: Task, ctx: FakeCtx) {
  const { task, skips } = fakeTask();
  await (step.task as (c: FakeCtx, task: unknown) => Promise<void>)(ctx, task);
  return { title: (task as unknown as { title: string }).title, skips };
}

/** --cluster existing (registry at `registryHost`) whose API server lists one Node, `name` at `address`. */
function existingClusterWithNode(t: Owner, registryHost: string, name: string, address: string) {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost });
  const { docker, kube } = ctx.services.fakes;
  ctx.kube = kube;
  kube.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address }] } } as never);
  return { ctx, docker };
}

test('nodeMirrorArgs, nodeHostAddressArgs: the exact commands', (t) => {
  const toml = containerdHostsToml(HOST, 'registry:5000');
  t.is(toml, `server = "http://${HOST}"\n\n[host."http://registry:5000"]\n  capabilities = ["pull", "resolve"]\n`);
  t.is(containerdHostsPath(HOST), `/etc/containerd/certs.d/${HOST}/hosts.toml`);
  t.deepEqual(nodeMirrorArgs('p1', containerdHostsPath(HOST), toml, 'registry:5000'), [
    'ssh',
    '--profile=p1',
    '--',
    `want='server = "http://${HOST}"\n\n[host."http://registry:5000"]\n  capabilities = ["pull", "resolve"]'; ` +
      `f='/etc/containerd/certs.d/${HOST}/hosts.toml'; ` +
      `S=; [ "$(id -u)" = 0 ] || S=sudo; ` +
      `if [ "$($S cat "$f" 2>/dev/null)" != "$want" ]; then $S mkdir -p "$(dirname "$f")" && printf '%s\\n' "$want" | $S tee "$f" >/dev/null && echo changed; fi; ` +
      `curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://registry:5000/v2/`,
  ]);
  t.deepEqual(nodeHostAddressArgs('p1'), ['ssh', '--profile=p1', '--', 'getent ahostsv4 host.minikube.internal']);
});

test('docker driver: the registry joins the profile network and the node pulls through it; once, then nothing changes', async (t) => {
  const { ctx, cmd, docker, run } = await nodeStep(t, 'docker');
  docker.networks.add('trusted-registry');
  cmd.on(['minikube', 'ssh'], { stdout: 'changed\n200' });
  t.is(
    await run(),
    'Registry reachable from the node through registry:5000 on network trusted-registry (joined network trusted-registry, containerd mirror written)',
  );
  t.deepEqual(
    docker.calls.filter((c) => c[0] === 'connectNetwork'),
    [['connectNetwork', 'registry', 'trusted-registry']],
  );
  t.deepEqual(cmd.calls.at(-1)!.slice(0, 4), ['minikube', 'ssh', '--profile=trusted-registry', '--']);
  t.true(cmd.calls.at(-1)![4]!.includes(`/etc/containerd/certs.d/${HOST}/hosts.toml`));

  cmd.on(['minikube', 'ssh'], { stdout: '200' });
  t.is(await run(), 'Registry reachable from the node through registry:5000 on network trusted-registry');
  t.is(docker.calls.filter((c) => c[0] === 'connectNetwork').length, 1, 'already joined: not again');

  cmd.on(['minikube', 'ssh'], { exitCode: 7, stdout: '000', stderr: 'curl: (6) Could not resolve host: registry' });
  const error = await t.throwsAsync(run());
  t.true(
    error!.message.startsWith(
      "The node trusted-registry cannot reach the registry at http://registry:5000/v2/ on Docker network 'trusted-registry' (000curl: (6) Could not resolve host: registry).",
    ),
    error!.message,
  );
  t.regex(
    error!.message,
    /docker network inspect trusted-registry[\s\S]*docker exec trusted-registry curl -v http:\/\/registry:5000\/v2\//,
  );
});

test('docker driver without its network: a clear error, nothing connected', async (t) => {
  const { ctx, docker, run } = await nodeStep(t, 'docker');
  await t.throwsAsync(run(), { message: /Docker has no network 'trusted-registry'/ });
  t.false(docker.calls.some((c) => c[0] === 'connectNetwork'));
});

test('none driver: the node is this machine; the registry is probed here, no ssh', async (t) => {
  const { ctx, cmd, run } = await nodeStep(t, 'none');
  t.is(await run(), `Registry reachable from the node at ${HOST} (the node is this machine)`);
  t.false(cmd.calls.some((c) => c[1] === 'ssh'));
  t.deepEqual(ctx.services.fakes.registryApi.calls.at(-1), ['ping', `http://${HOST}`]);
});

test('VM driver: the registry is published on the host address the node resolves too, then probed from the node', async (t) => {
  const { ctx, cmd, docker, run } = await nodeStep(t, 'qemu2');
  cmd.on(['minikube', 'ssh', '--profile=trusted-registry', '--', 'getent ahostsv4 host.minikube.internal'], {
    stdout: '192.168.105.1   STREAM host.minikube.internal\n192.168.105.1   DGRAM\n',
  });
  cmd.on(
    ['minikube', 'ssh', '--profile=trusted-registry', '--', `curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://${HOST}/v2/`],
    {
      stdout: '200',
    },
  );
  t.is(await run(), `Registry reachable from the node at ${HOST} (published on 192.168.105.1)`);
  t.deepEqual((await docker.inspectContainer('registry'))!.listenAddresses, ['127.0.0.1', '192.168.105.1']);
  t.is((await ctx.services.state.readRecord()).registryNodeAddress, '192.168.105.1');
  const removals = docker.calls.filter((c) => c[0] === 'removeContainer').length;
  t.is(await run(), `Registry reachable from the node at ${HOST} (published on 192.168.105.1)`);
  t.is(docker.calls.filter((c) => c[0] === 'removeContainer').length, removals, 'the second time, nothing is recreated');
});

test('docker driver: the mirror is written through the Docker API into the node container when it is there (no minikube ssh)', async (t) => {
  const { ctx, cmd, docker, run } = await nodeStep(t, 'docker');
  docker.networks.add('trusted-registry');
  docker.execAnswers.set('trusted-registry', { exitCode: 0, stdout: 'changed\n200', stderr: '' });
  t.is(
    await run(),
    'Registry reachable from the node through registry:5000 on network trusted-registry (joined network trusted-registry, containerd mirror written)',
  );
  const exec = docker.calls.find((c) => c[0] === 'exec')!;
  t.deepEqual(exec.slice(0, 4), ['exec', 'trusted-registry', 'sh', '-c']);
  t.is(exec[4], nodeMirrorScript(containerdHostsPath(HOST), containerdHostsToml(HOST, 'registry:5000'), 'registry:5000'));
  t.false(
    cmd.calls.some((c) => c[1] === 'ssh'),
    'no minikube ssh',
  );
});

test('nodeMirrorScript, run by a real shell: writes once, then reports no change; quotes survive', async (t) => {
  const { execa } = await import('execa');
  const { mkdtemp, readFile, rm, writeFile, chmod } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'mirror-script-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // sudo and curl as the node has them, minus privileges and network: sudo runs its command, curl says 200.
  await writeFile(path.join(dir, 'sudo'), '#!/bin/sh\nexec "$@"\n');
  await writeFile(path.join(dir, 'curl'), '#!/bin/sh\nprintf 200\n');
  await chmod(path.join(dir, 'sudo'), 0o755);
  await chmod(path.join(dir, 'curl'), 0o755);
  const file = path.join(dir, 'certs.d', "it's here", 'hosts.toml');
  const content = containerdHostsToml(HOST, 'registry:5000');
  const script = nodeMirrorScript(file, content, 'registry:5000');
  const env = { PATH: `${dir}:${process.env.PATH}` };
  const first = await execa('sh', ['-c', script], { env });
  t.deepEqual(mirrorResult(first.exitCode ?? 1, first.stdout, first.stderr), { changed: true, ok: true, output: 'changed\n200' });
  t.is(await readFile(file, 'utf8'), content);
  const second = await execa('sh', ['-c', script], { env });
  t.deepEqual(mirrorResult(second.exitCode ?? 1, second.stdout, second.stderr), { changed: false, ok: true, output: '200' });
});

test('--cluster existing (kind, k3d): each node that is a container here gets the registry on its network and the mirror', async (t) => {
  const { ctx, docker } = existingClusterWithNode(t, 'localhost:5001', 'kind-control-plane', '172.18.0.2');
  docker.images.add('registry:2.7.1');
  await convergeRegistry(ctx, fakeTask().task);
  docker.addresses.set('kind-control-plane', '172.18.0.2');
  docker.containerNetworks.set('kind-control-plane', 'kind');
  docker.networks.add('kind');
  docker.execAnswers.set('kind-control-plane', { exitCode: 0, stdout: 'changed\n200', stderr: '' });
  t.is(
    (await runStep(existingNodesReachRegistryTask(), ctx)).title,
    'Registry reachable from the nodes: kind-control-plane through registry:5000 on network kind (joined network kind, containerd mirror written)',
  );
  t.true((await docker.inspectContainer('registry'))!.networks.includes('kind'));
  const exec = docker.calls.find((c) => c[0] === 'exec')!;
  t.is(exec[1], 'kind-control-plane');
  t.true(exec[4]!.includes(`/etc/containerd/certs.d/localhost:5001/hosts.toml`));
});

test('--cluster existing with no node in a container here (the test bed, a remote node): nothing is joined', async (t) => {
  const { ctx, docker } = existingClusterWithNode(t, '127.0.0.1:5000', 'n', '10.0.0.9');
  const { skips } = await runStep(existingNodesReachRegistryTask(), ctx);
  t.deepEqual(skips, ['Registry and nodes: no node is a container on this Docker; nothing to join']);
  t.false(docker.calls.some((c) => c[0] === 'connectNetwork' || c[0] === 'exec'));
});
