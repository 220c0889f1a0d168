// minikube: argv built by pure functions, `profile list` parsing, and the cluster plan driven through a recording runner.
import test from 'ava';
import {
  deleteArgs,
  Minikube,
  parseProfileList,
  parseVersion,
  profileListArgs,
  registryProbeArgs,
  startArgs,
  versionAtLeast,
  type MinikubeProfile,
} from '../../src/adapters/minikube.js';
import { BootstrapError } from '../../src/errors.js';
import { convergeMinikube, nodeReachesRegistryTask, planCluster, registryHostFor, startOptions } from '../../src/steps/cluster.js';
import { FakeCmdRunner, fakeTask, makeCtx } from '../helpers/fakes.js';

const HOST = 'host.minikube.internal:5000';

/** What `minikube profile list -o json` prints (minikube 1.3x), trimmed to the fields bootstrap reads plus neighbours. */
function profileListJson(profiles: { name: string; status: string; insecure: string[] | null }[], invalid: string[] = []): string {
  const config = (name: string, insecure: string[] | null) => ({
    Name: name,
    KeepContext: false,
    EmbedCerts: false,
    Memory: 3900,
    CPUs: 2,
    Driver: 'docker',
    InsecureRegistry: insecure,
    RegistryMirror: [],
    KubernetesConfig: { KubernetesVersion: 'v1.33.1', ClusterName: name, ContainerRuntime: 'docker' },
    Nodes: [{ Name: '', IP: '192.168.49.2', Port: 8443, ControlPlane: true, Worker: true }],
  });
  return JSON.stringify({
    invalid: invalid.map((name) => ({ Name: name, Status: '', Config: null, Active: false, ActiveKubeContext: false })),
    valid: profiles.map((p) => ({
      Name: p.name,
      Status: p.status,
      Config: config(p.name, p.insecure),
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
    '--wait=apiserver',
  ]);
});

test('startArgs with driver and Kubernetes version', (t) => {
  t.deepEqual(startArgs({ profile: 'p1', insecureRegistry: '10.0.0.5:5001', driver: 'kvm2', kubernetesVersion: 'v1.33.1' }), [
    'start',
    '--profile=p1',
    '--insecure-registry=10.0.0.5:5001',
    '--container-runtime=containerd',
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
    { name: 'minikube', status: 'Running', insecureRegistries: [] },
    { name: 'trusted-registry', status: 'Stopped', insecureRegistries: [HOST, '10.0.0.0/24'] },
    { name: 'broken', status: '', insecureRegistries: [] },
  ]);
});

test('parseProfileList: empty output and null arrays mean no profiles', (t) => {
  t.deepEqual(parseProfileList(''), []);
  t.deepEqual(parseProfileList('{"invalid":null,"valid":null}'), []);
  t.deepEqual(parseProfileList('{"invalid":[{"Name":"x"}]}'), [{ name: 'x', status: 'Unknown', insecureRegistries: [] }]);
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

const profile = (status: string, insecure: string[] = [HOST]): MinikubeProfile => ({
  name: 'trusted-registry',
  status,
  insecureRegistries: insecure,
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
  '--wait=apiserver',
];

test('startOptions and registryHostFor follow the config', (t) => {
  t.is(registryHostFor(makeCtx({ registryPort: 5001 })), 'host.minikube.internal:5001');
  t.is(registryHostFor(makeCtx({ registryHost: '192.168.49.1:5000' })), '192.168.49.1:5000');
  t.throws(() => registryHostFor(makeCtx({ cluster: 'existing' })), { message: /--registry-host/ });
  t.deepEqual(startOptions(makeCtx({ minikubeDriver: 'docker', kubernetesVersion: 'v1.32.0' })), {
    profile: 'trusted-registry',
    insecureRegistry: HOST,
    kubernetesVersion: 'v1.32.0',
    driver: 'docker',
  });
});

test('convergeMinikube: create runs list then start, and records createdProfile', async (t) => {
  const ctx = makeCtx();
  t.teardown(ctx.services.fakes.cleanup);
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
  const ctx = makeCtx({ minikubeDriver: 'docker', kubernetesVersion: 'v1.33.1' }, { recreateCluster: true });
  t.teardown(ctx.services.fakes.cleanup);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Running', insecure: null }]) });
  t.is(await convergeMinikube(ctx, fakeTask().task), 'recreate');
  t.deepEqual(cmd.calls, [
    LIST,
    ['minikube', 'delete', '--profile=trusted-registry'],
    [
      'minikube',
      'start',
      '--profile=trusted-registry',
      `--insecure-registry=${HOST}`,
      '--container-runtime=containerd',
      '--driver=docker',
      '--kubernetes-version=v1.33.1',
      '--wait=apiserver',
    ],
  ]);
  t.true((await ctx.services.state.readRecord()).createdProfile);
});

test('convergeMinikube: stopped profile is started and not recorded as created', async (t) => {
  const ctx = makeCtx();
  t.teardown(ctx.services.fakes.cleanup);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Stopped', insecure: [HOST] }]) });
  t.is(await convergeMinikube(ctx, fakeTask().task), 'start');
  t.deepEqual(cmd.calls, [LIST, START]);
  t.deepEqual(await ctx.services.state.readRecord(), {});
});

test('convergeMinikube: running profile → only the list call', async (t) => {
  const ctx = makeCtx();
  t.teardown(ctx.services.fakes.cleanup);
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'profile'], { stdout: profileListJson([{ name: 'trusted-registry', status: 'Running', insecure: [HOST] }]) });
  t.is(await convergeMinikube(ctx, fakeTask().task), 'none');
  t.deepEqual(cmd.calls, [LIST]);
});

test('convergeMinikube: a failing start throws minikube’s stderr and records nothing', async (t) => {
  const ctx = makeCtx();
  t.teardown(ctx.services.fakes.cleanup);
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
  const ctx = makeCtx();
  t.teardown(ctx.services.fakes.cleanup);
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

test('the node reaches the registry: curl inside the node must answer 200, else an error with the command to try', async (t) => {
  const ctx = makeCtx();
  t.teardown(ctx.services.fakes.cleanup);
  const { cmd } = ctx.services.fakes;
  const run = () => (nodeReachesRegistryTask().task as (c: typeof ctx, task: unknown) => Promise<void>)(ctx, fakeTask().task);
  cmd.on(['minikube', 'ssh'], { stdout: '200' });
  await t.notThrowsAsync(run());
  t.deepEqual(cmd.calls.at(-1), [
    'minikube',
    'ssh',
    '--profile=trusted-registry',
    '--',
    `curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://${HOST}/v2/`,
  ]);
  cmd.on(['minikube', 'ssh'], { exitCode: 7, stdout: '000', stderr: 'curl: (7) Failed to connect' });
  await t.throwsAsync(run(), {
    message:
      /cannot reach the registry at http:\/\/host\.minikube\.internal:5000\/v2\/ \(000curl: \(7\) Failed to connect\)[\s\S]*minikube ssh -p trusted-registry -- curl -v/,
  });
});
