// Preflight: each prerequisite's failure names its fix; nothing here changes anything.
import test from 'ava';
import { loadKubeConfig, looksLocal } from '../../src/adapters/kube.js';
import type { Ctx } from '../../src/context.js';
import { BootstrapError, errorText, GroupFailed, rootError } from '../../src/errors.js';
import { loadRegistrySpec } from '../../src/registry-spec.js';
import {
  checkDocker,
  checkExistingCluster,
  checkMinikube,
  checkPolicyFile,
  checkRegistryPort,
  preflightTask,
} from '../../src/steps/preflight.js';
import { FakeKube, fakeServices, makeCtx, stateFromSpec } from '../helpers/fakes.js';
import { runSilently } from '../helpers/run.js';

const runPreflight = (ctx: Ctx) => runSilently([preflightTask()], ctx);

test('checkDocker: reports the engine version', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.docker.engineVersion = '28.1.0';
  t.is(await checkDocker(ctx), 'Docker 28.1.0');
  t.deepEqual(ctx.services.fakes.docker.calls, [['ping'], ['version']]);
});

test('checkDocker: engine down → says how to start Docker', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.docker.pingError = new Error('connect ENOENT /var/run/docker.sock');
  const error = await t.throwsAsync(checkDocker(ctx), { instanceOf: BootstrapError });
  t.true(error!.problem.includes('connect ENOENT /var/run/docker.sock'));
  t.true(error!.fix.includes('Start Docker'));
  t.true(error!.fix.includes('DOCKER_HOST'));
});

test('checkMinikube: version found and new enough', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.cmd.on(['minikube', 'version'], { stdout: 'v1.36.0\n' });
  t.is(await checkMinikube(ctx), 'minikube 1.36.0');
  t.deepEqual(ctx.services.fakes.cmd.calls, [['minikube', 'version', '--short']]);
});

test('checkMinikube: not on PATH (CommandNotFoundError) → install hint', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.cmd.on(['minikube'], 'not-found');
  const error = await t.throwsAsync(checkMinikube(ctx), { instanceOf: BootstrapError });
  t.true(error!.problem.includes('minikube is not installed'));
  t.true(error!.fix.includes('--cluster existing'));
});

test('checkMinikube: too old, and unreadable version', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.cmd.on(['minikube', 'version'], { stdout: 'v1.25.2' });
  await t.throwsAsync(checkMinikube(ctx), { message: /minikube 1\.25\.2 is too old; bootstrap needs 1\.26\.0 or newer/ });
  ctx.services.fakes.cmd.on(['minikube', 'version'], { stdout: 'garbage' });
  await t.throwsAsync(checkMinikube(ctx), { message: /Cannot read minikube's version/ });
});

test('checkRegistryPort: free port', async (t) => {
  const ctx = makeCtx(t, { registryPort: 5005 });
  t.is(await checkRegistryPort(ctx), 'port 5005 free');
});

test('checkRegistryPort: Docker engine unreachable → says it could not decide, and why, not a bare socket error', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.docker.inspectContainer = async () => {
    throw new Error('connect ENOENT /nonexistent.sock');
  };
  const error = await t.throwsAsync(checkRegistryPort(ctx), { instanceOf: BootstrapError });
  t.is(error!.problem, 'Cannot tell whether port 5000 is ours: the Docker engine does not answer (connect ENOENT /nonexistent.sock).');
  t.true(error!.fix.includes('Start Docker'));
});

test.serial('loadKubeConfig: KUBECONFIG naming a missing file → says so, with the fix (not a bare ENOENT)', async (t) => {
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = '/nonexistent/bootstrap-test/kubeconfig';
  t.teardown(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  const error = await t.throwsAsync(loadKubeConfig(), { instanceOf: BootstrapError });
  t.regex(
    error!.problem,
    /^Cannot read the kubeconfig \(ENOENT: no such file or directory, open '\/nonexistent\/bootstrap-test\/kubeconfig'\)\.$/,
  );
  t.true(error!.fix.includes('Point KUBECONFIG at an existing kubeconfig file'));
});

test('checkRegistryPort: held by another process → error naming --registry-port', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.portsInUse.add(5000);
  const error = await t.throwsAsync(checkRegistryPort(ctx), { instanceOf: BootstrapError });
  t.true(error!.problem.includes('Port 5000 is already in use by another process'));
  t.true(error!.fix.includes('--registry-port'));
});

test('checkRegistryPort: held by our running container → fine', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.portsInUse.add(5000);
  ctx.services.fakes.docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(5000), true));
  t.is(await checkRegistryPort(ctx), 'port 5000 held by our registry');
});

test('checkRegistryPort: held by a same-named container that is not ours, or ours on another port → error', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.portsInUse.add(5000);
  ctx.services.fakes.docker.addContainer('registry', { ...stateFromSpec(await loadRegistrySpec(5000), true), labels: {} });
  await t.throwsAsync(checkRegistryPort(ctx), { message: /Port 5000 is already in use/ });
  ctx.services.fakes.docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(6000), true));
  await t.throwsAsync(checkRegistryPort(ctx), { message: /Port 5000 is already in use/ });
});

test('checkExistingCluster: a context that does not look local is refused without --yes', async (t) => {
  const kube = new FakeKube('gke_project_europe-west1_prod', 'https://34.118.10.20');
  const ctx = makeCtx(t, { cluster: 'existing', context: 'gke_project_europe-west1_prod' }, {}, fakeServices(t, { fakes: { kube } }));
  const error = await t.throwsAsync(checkExistingCluster(ctx), { instanceOf: BootstrapError });
  t.is(error!.exitCode, 2);
  t.true(error!.problem.includes("Context 'gke_project_europe-west1_prod' (https://34.118.10.20) does not look like a local cluster"));
  t.true(error!.fix.includes('--yes'));
  t.is(ctx.kube, undefined);
  t.deepEqual(ctx.services.fakes.kubeRequests, ['gke_project_europe-west1_prod']);
});

test('checkExistingCluster: --yes accepts it; a local one needs no --yes', async (t) => {
  const remote = new FakeKube('prod', 'https://34.118.10.20', 'v1.31.4');
  const ctx = makeCtx(t, { cluster: 'existing' }, { yes: true }, fakeServices(t, { fakes: { kube: remote } }));
  t.is(await checkExistingCluster(ctx), 'context prod, Kubernetes v1.31.4');
  t.is(ctx.kube, remote);
  const local = makeCtx(
    t,
    { cluster: 'existing' },
    {},
    fakeServices(t, { fakes: { kube: new FakeKube('kind-sandbox', 'https://127.0.0.1:40123') } }),
  );
  t.is(await checkExistingCluster(local), 'context kind-sandbox, Kubernetes v1.33.1');
});

test('checkExistingCluster: an API server that is a container on this Docker (a minikube profile of any name) is local', async (t) => {
  const kube = new FakeKube('sandbox', 'https://192.168.49.2:8443', 'v1.37.2');
  const ctx = makeCtx(t, { cluster: 'existing', context: 'sandbox' }, {}, fakeServices(t, { fakes: { kube } }));
  ctx.services.fakes.docker.addresses.set('sandbox', '192.168.49.2');
  t.is(await checkExistingCluster(ctx), 'context sandbox, Kubernetes v1.37.2');
  // The same private address with no such container: not local.
  ctx.services.fakes.docker.addresses.clear();
  await t.throwsAsync(checkExistingCluster(ctx), { message: /does not look like a local cluster/ });
});

test('looksLocal table', (t) => {
  const expect = (local: boolean, rows: [context: string, server: string][]) => {
    for (const [context, server] of rows) t.is(looksLocal(context, server), local, `${context} ${server}`);
  };
  // By the API server's address, whatever the context is called.
  expect(
    true,
    [
      'https://127.0.0.1:6443',
      'https://127.5.6.7:6443',
      'https://localhost:6443',
      'https://[::1]:6443',
      'https://kubernetes.docker.internal:6443',
      'https://0.0.0.0:6443',
    ].map((server) => ['any', server]),
  );
  // A private address alone is not local: company clusters live there too.
  expect(
    false,
    ['https://10.1.2.3:6443', 'https://172.16.0.1:6443', 'https://192.168.49.2:8443'].map((server) => ['any', server]),
  );
  // By the name a local tool gives its context, wherever its server is.
  expect(true, [
    ['kind-dev', 'https://34.1.2.3'],
    ['k3d-mycluster', 'https://0.0.0.0:41234'],
    ['docker-desktop', 'https://kubernetes.docker.internal:6443'],
    ['minikube', 'https://192.168.49.2:8443'],
  ]);
  // Clouds, names that only look alike, and a server that is no URL.
  expect(false, [
    ['arn:aws:eks:eu-west-1:123456789012:cluster/prod', 'https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com'],
    ['gke_p_z_c', 'https://35.200.1.2'],
    ['prod', 'not a url'],
    ['prod-kind-', 'https://example.com'],
  ]);
  // The product knows no test bed's name: a context called so is judged by its address alone.
  expect(false, [['testbed', 'https://10.0.0.5:6443']]);
});

test('checkPolicyFile: compiles with the opa binary found; a syntax error is reported with OPA output', async (t) => {
  const services = fakeServices(t, { opaBinary: async () => '/usr/local/bin/opa' });
  const ctx = makeCtx(t, { policyFile: '/tmp/p.rego' }, {}, services);
  t.is(await checkPolicyFile(ctx), '/tmp/p.rego compiles');
  t.deepEqual(services.fakes.cmd.calls, [['/usr/local/bin/opa', 'check', '--strict', '/tmp/p.rego']]);
  services.fakes.cmd.on(['/usr/local/bin/opa'], { exitCode: 1, stderr: '1 error occurred: /tmp/p.rego:3: rego_parse_error' });
  await t.throwsAsync(checkPolicyFile(ctx), { message: /does not compile:\n1 error occurred: \/tmp\/p\.rego:3: rego_parse_error/ });
});

test('checkPolicyFile: no opa binary and no OPA image → a note, not an error', async (t) => {
  const ctx = makeCtx(t, { policyFile: '/tmp/p.rego' });
  t.is(await checkPolicyFile(ctx), 'not checked (no opa binary or OPA image here)');
  t.is(ctx.notes.length, 1);
  t.deepEqual(ctx.services.fakes.cmd.calls, []);
  t.deepEqual(ctx.services.fakes.docker.calls, [['imageExists', 'openpolicyagent/opa:1.22.3']]);
});

test('checkPolicyFile: no opa binary but the OPA image → opa check in a one-off container (Docker API), file mounted read-only', async (t) => {
  const ctx = makeCtx(t, { policyFile: '/tmp/rules/p.rego' });
  const { docker, cmd } = ctx.services.fakes;
  docker.images.add('openpolicyagent/opa:1.22.3');
  t.is(await checkPolicyFile(ctx), '/tmp/rules/p.rego compiles');
  t.deepEqual(
    docker.calls.filter((c) => c[0] === 'run'),
    [['run', 'openpolicyagent/opa:1.22.3', 'check', '--strict', '/policy/p.rego', '-v /tmp/rules/p.rego:/policy/p.rego:ro']],
  );
  t.deepEqual(cmd.calls, [], 'no docker CLI');
  docker.onRun = () => ({ exitCode: 1, stdout: '', stderr: '1 error occurred: /policy/p.rego:3: rego_parse_error: unexpected eof token' });
  await t.throwsAsync(checkPolicyFile(ctx), { message: /does not compile:\n1 error occurred: \/policy\/p\.rego:3: rego_parse_error/ });
});

test('preflight: in a dry run, failures become notes and the run goes on', async (t) => {
  const ctx = makeCtx(t, {}, { dryRun: true });
  ctx.services.fakes.docker.pingError = new Error('docker down');
  ctx.services.fakes.cmd.on(['minikube'], 'not-found');
  await runPreflight(ctx);
  t.is(ctx.notes.length, 2);
  t.true(ctx.notes.some((n) => n.includes('Cannot reach the Docker engine (docker down)')));
  t.true(ctx.notes.some((n) => n.includes('minikube is not installed')));
});

test('preflight: outside a dry run, every check reports, then the first failure stops the run', async (t) => {
  const ctx = makeCtx(t);
  ctx.services.fakes.docker.pingError = new Error('docker down');
  ctx.services.fakes.cmd.on(['minikube'], 'not-found');
  const error = await t.throwsAsync(runPreflight(ctx), { instanceOf: GroupFailed });
  // Both failures are kept; the first decides the closing message and exit code.
  const failures = (error as GroupFailed).failures.map(errorText);
  t.true(
    failures.some((f) => /minikube is not installed/.test(f)),
    failures.join('\n'),
  );
  t.regex(errorText(rootError(error)), /Cannot reach the Docker engine \(docker down\)/);
  t.deepEqual(ctx.services.fakes.cmd.calls, [['minikube', 'version', '--short']]);
  t.deepEqual(ctx.notes, []);
});
