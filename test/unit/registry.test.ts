// The registry container: compose/registry.yaml → spec → dockerode options, the plan, and convergence through a recording FakeDocker.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createOptions, type ContainerSpec } from '../../src/adapters/docker.js';
import { BootstrapError } from '../../src/errors.js';
import { COMPOSE_FILE, containerDrift, isOurs, loadRegistrySpec, specFromCompose } from '../../src/registry-spec.js';
import { convergeRegistry, planRegistry, pushTrustedImage } from '../../src/registry-container.js';
import { fakeTask, makeCtx, stateFromSpec } from '../helpers/fakes.js';

const EXPECTED: ContainerSpec = {
  name: 'registry',
  image: 'registry:2.7.1',
  env: {
    REGISTRY_HTTP_ADDR: '0.0.0.0:5000',
    REGISTRY_STORAGE: 'filesystem',
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/var/lib/registry',
  },
  ports: { '5000/tcp': 5000 },
  listenAddresses: ['127.0.0.1'],
  volume: { name: 'bootstrap-registry-data', target: '/var/lib/registry' },
  restart: 'always',
  labels: { 'app.kubernetes.io/managed-by': 'bootstrap' },
};

test('specFromCompose on the real compose file', async (t) => {
  t.deepEqual(specFromCompose(await readFile(COMPOSE_FILE, 'utf8')), EXPECTED);
  t.deepEqual(await loadRegistrySpec(), EXPECTED);
});

test('specFromCompose: only the host port and the address it is published on are overridden', async (t) => {
  t.deepEqual(await loadRegistrySpec(5123), { ...EXPECTED, ports: { '5000/tcp': 5123 } });
  t.deepEqual(await loadRegistrySpec(5123, ['127.0.0.1', '192.168.105.1']), {
    ...EXPECTED,
    ports: { '5000/tcp': 5123 },
    listenAddresses: ['127.0.0.1', '192.168.105.1'],
  });
  const text = (ports: string) =>
    `services:\n  registry:\n    image: x\n    container_name: r\n    ports: ['${ports}']\n    volumes: ['v:/data']\n`;
  t.deepEqual(specFromCompose(text('5000:5000')).listenAddresses, [''], 'no address: every address, as Docker does');
  t.deepEqual(specFromCompose(text('0.0.0.0:5000:5000')).listenAddresses, ['0.0.0.0']);
  t.deepEqual(specFromCompose(text('127.0.0.1:5001:5000')).ports, { '5000/tcp': 5001 });
});

test('containerDrift: the address the port is published on', (t) => {
  t.deepEqual(containerDrift({ ...stateFromSpec(EXPECTED), listenAddresses: [''] }, EXPECTED), [
    'published on every address (want 127.0.0.1)',
  ]);
  t.deepEqual(containerDrift({ ...stateFromSpec(EXPECTED), listenAddresses: ['0.0.0.0'] }, { ...EXPECTED, listenAddresses: [''] }), []);
  const vm = { ...EXPECTED, listenAddresses: ['127.0.0.1', '192.168.105.1'] };
  t.deepEqual(containerDrift({ ...stateFromSpec(vm), listenAddresses: ['192.168.105.1', '127.0.0.1'] }, vm), [], 'order does not matter');
  t.deepEqual(containerDrift(stateFromSpec(EXPECTED), vm), ['published on 127.0.0.1 (want 127.0.0.1, 192.168.105.1)']);
});

test('specFromCompose: a compose file without the registry service, or without a volume, is refused', (t) => {
  t.throws(() => specFromCompose('services:\n  other:\n    image: x\n'), { message: /no service "registry"/ });
  t.throws(() => specFromCompose("services:\n  registry:\n    image: x\n    container_name: r\n    ports: ['1:2']\n"), {
    message: /needs one port and one volume/,
  });
});

test('createOptions: exact dockerode create options', (t) => {
  t.deepEqual(createOptions({ ...EXPECTED, ports: { '5000/tcp': 5001 } }), {
    name: 'registry',
    Image: 'registry:2.7.1',
    Env: [
      'REGISTRY_HTTP_ADDR=0.0.0.0:5000',
      'REGISTRY_STORAGE=filesystem',
      'REGISTRY_STORAGE_DELETE_ENABLED=true',
      'REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry',
    ],
    Labels: { 'app.kubernetes.io/managed-by': 'bootstrap' },
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: {
      RestartPolicy: { Name: 'always' },
      PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '5001' }] },
      Mounts: [{ Type: 'volume', Source: 'bootstrap-registry-data', Target: '/var/lib/registry' }],
    },
  });
});

// --- planRegistry ---------------------------------------------------------------------------------------------

test('planRegistry: absent → create', (t) => {
  t.is(planRegistry(undefined, EXPECTED, false), 'create');
});

test('planRegistry: a same-named container without our label → error naming docker rm -f registry', (t) => {
  const foreign = { ...stateFromSpec(EXPECTED), labels: {} };
  t.false(isOurs(foreign, EXPECTED));
  for (const recreate of [false, true]) {
    const error = t.throws(() => planRegistry(foreign, EXPECTED, recreate), { instanceOf: BootstrapError });
    t.true(error!.message.includes('`docker rm -f registry`'), error!.message);
  }
  const wrongValue = { ...stateFromSpec(EXPECTED), labels: { 'app.kubernetes.io/managed-by': 'helm' } };
  t.throws(() => planRegistry(wrongValue, EXPECTED, false), { message: /did not create/ });
});

test('planRegistry: drift → error naming --recreate-registry and every difference', (t) => {
  const drifted = {
    ...stateFromSpec(EXPECTED),
    image: 'registry:2',
    env: { ...EXPECTED.env, REGISTRY_STORAGE_DELETE_ENABLED: 'false' },
    ports: { '5000/tcp': 6000 },
    volumes: [],
    restart: '',
  };
  t.deepEqual(containerDrift(drifted, EXPECTED), [
    'image registry:2 (want registry:2.7.1)',
    'REGISTRY_STORAGE_DELETE_ENABLED=false (want true)',
    'port 5000/tcp published on 6000 (want 5000)',
    'no volume bootstrap-registry-data at /var/lib/registry',
    'restart policy no (want always)',
  ]);
  const error = t.throws(() => planRegistry(drifted, EXPECTED, false), { instanceOf: BootstrapError });
  t.true(error!.message.includes('--recreate-registry'));
  t.true(error!.message.includes('image registry:2 (want registry:2.7.1)'));
  t.is(planRegistry(drifted, EXPECTED, true), 'recreate');
});

test('containerDrift: none for a container made from the spec; unset env is named', (t) => {
  t.deepEqual(containerDrift(stateFromSpec(EXPECTED), EXPECTED), []);
  const { REGISTRY_HTTP_ADDR: _, ...env } = EXPECTED.env;
  t.deepEqual(containerDrift({ ...stateFromSpec(EXPECTED), env }, EXPECTED), ['REGISTRY_HTTP_ADDR=(unset) (want 0.0.0.0:5000)']);
});

test('planRegistry: ours and matching → none when running, start when stopped, recreate when asked', (t) => {
  t.is(planRegistry(stateFromSpec(EXPECTED, true), EXPECTED, false), 'none');
  t.is(planRegistry(stateFromSpec(EXPECTED, false), EXPECTED, false), 'start');
  t.is(planRegistry(stateFromSpec(EXPECTED, true), EXPECTED, true), 'recreate');
});

// --- convergeRegistry -------------------------------------------------------------------------------------

const INSPECT = ['inspectContainer', 'registry'];
/** The Docker calls that make the registry container once its image is there. */
const CREATE_AND_START = [
  ['createContainer', 'registry'],
  ['startContainer', 'registry'],
];

test('convergeRegistry: create pulls the image when missing, then create, start, ping', async (t) => {
  const ctx = makeCtx(t, { registryPort: 5001 });
  const { docker, registryApi } = ctx.services.fakes;
  const { task, outputs } = fakeTask();
  t.is(await convergeRegistry(ctx, task), 'create');
  t.deepEqual(docker.calls, [INSPECT, ['imageExists', 'registry:2.7.1'], ['pullImage', 'registry:2.7.1'], ...CREATE_AND_START]);
  t.deepEqual(outputs, ['pulling registry:2.7.1']);
  t.deepEqual(registryApi.calls, [['ping', 'http://127.0.0.1:5001']]);
  const created = docker.containers.get('registry')!;
  t.true(created.running);
  t.deepEqual(created.ports, { '5000/tcp': 5001 });
});

test('convergeRegistry: create does not pull an image that is there', async (t) => {
  const ctx = makeCtx(t);
  const { docker } = ctx.services.fakes;
  docker.images.add('registry:2.7.1');
  t.is(await convergeRegistry(ctx, fakeTask().task), 'create');
  t.deepEqual(docker.calls, [INSPECT, ['imageExists', 'registry:2.7.1'], ...CREATE_AND_START]);
});

test('convergeRegistry: recreate removes (keeping the volume), creates, starts', async (t) => {
  const ctx = makeCtx(t, {}, { recreateRegistry: true });
  const { docker } = ctx.services.fakes;
  docker.images.add('registry:2.7.1');
  docker.addContainer('registry', { ...stateFromSpec(EXPECTED), image: 'registry:2' });
  t.is(await convergeRegistry(ctx, fakeTask().task), 'recreate');
  t.deepEqual(docker.calls, [INSPECT, ['removeContainer', 'registry'], ['imageExists', 'registry:2.7.1'], ...CREATE_AND_START]);
  t.true(docker.volumes.has('bootstrap-registry-data'));
  t.is(docker.containers.get('registry')!.image, 'registry:2.7.1');
});

test('convergeRegistry: stopped → start only; running → nothing but the ping', async (t) => {
  const ctx = makeCtx(t);
  const { docker } = ctx.services.fakes;
  docker.addContainer('registry', stateFromSpec(EXPECTED, false));
  t.is(await convergeRegistry(ctx, fakeTask().task), 'start');
  t.deepEqual(docker.calls, [INSPECT, ['startContainer', 'registry']]);
  docker.calls.length = 0;
  t.is(await convergeRegistry(ctx, fakeTask().task), 'none');
  t.deepEqual(docker.calls, [INSPECT]);
});

test('convergeRegistry: not ours → throws before changing anything', async (t) => {
  const ctx = makeCtx(t, {}, { recreateRegistry: true });
  const { docker } = ctx.services.fakes;
  docker.addContainer('registry', { ...stateFromSpec(EXPECTED), labels: {} });
  await t.throwsAsync(convergeRegistry(ctx, fakeTask().task), { message: /docker rm -f registry/ });
  t.deepEqual(docker.calls, [INSPECT]);
});

test('convergeRegistry: a registry that never answers times out after 30s of (fake) time', async (t) => {
  const ctx = makeCtx(t);
  const { docker, registryApi, clock } = ctx.services.fakes;
  docker.addContainer('registry', stateFromSpec(EXPECTED, true));
  registryApi.upAfterPings = Number.POSITIVE_INFINITY;
  const start = clock.time;
  await t.throwsAsync(convergeRegistry(ctx, fakeTask().task), {
    message: /The registry at http:\/\/127\.0\.0\.1:5000\/v2\/ did not answer within 30s/,
  });
  t.true(clock.time - start >= 30_000);
  t.true(clock.time - start < 32_000);
  t.deepEqual(clock.sleeps.slice(0, 5), [100, 200, 250, 250, 250]);
});

test('convergeRegistry: waits until the registry answers', async (t) => {
  const ctx = makeCtx(t);
  const { docker, registryApi, clock } = ctx.services.fakes;
  docker.addContainer('registry', stateFromSpec(EXPECTED, true));
  registryApi.upAfterPings = 3;
  t.is(await convergeRegistry(ctx, fakeTask().task), 'none');
  t.is(registryApi.calls.length, 3);
  t.deepEqual(clock.sleeps, [100, 200]);
});

// --- pushTrustedImage -------------------------------------------------------------------------------------

test('pushTrustedImage: pull, tag, push into localhost:<port>; skipped when the manifest is there', async (t) => {
  const ctx = makeCtx(t, { registryPort: 5002 });
  const { docker, registryApi } = ctx.services.fakes;
  t.true(await pushTrustedImage(ctx, fakeTask().task));
  t.deepEqual(docker.calls, [
    ['imageExists', 'nginx:1.21.1'],
    ['pullImage', 'nginx:1.21.1'],
    ['tagImage', 'nginx:1.21.1', 'localhost:5002/nginx', '1.21.1'],
    ['pushImage', 'localhost:5002/nginx', '1.21.1'],
  ]);
  t.deepEqual(registryApi.calls, [['hasManifest', 'http://127.0.0.1:5002', 'nginx', '1.21.1']]);
  registryApi.manifests.add('nginx:1.21.1');
  docker.calls.length = 0;
  t.false(await pushTrustedImage(ctx, fakeTask().task));
  t.deepEqual(docker.calls, []);
});

test('pushTrustedImage: docker.io/library/ prefixes are dropped from the registry path', async (t) => {
  const ctx = makeCtx(t, { trustedImage: 'docker.io/library/nginx:1.21.1' });
  const { docker } = ctx.services.fakes;
  docker.images.add('docker.io/library/nginx:1.21.1');
  t.true(await pushTrustedImage(ctx, fakeTask().task));
  t.deepEqual(docker.pushed, ['localhost:5000/nginx:1.21.1']);
});

test('pushTrustedImage: a push failure names the target and the cause', async (t) => {
  const ctx = makeCtx(t);
  const { docker } = ctx.services.fakes;
  docker.images.add('nginx:1.21.1');
  docker.pushError = new Error('connection refused');
  await t.throwsAsync(pushTrustedImage(ctx, fakeTask().task), {
    message: /Cannot push localhost:5000\/nginx:1\.21\.1: connection refused/,
  });
});
