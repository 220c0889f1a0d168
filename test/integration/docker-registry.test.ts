// The registry step against the REAL Docker engine, on a container, volume and port unique to this run, so a real
// `registry` container is never touched. convergeRegistry always uses compose/registry.yaml's container name, so this
// drives what it is made of: the dockerode adapter, planRegistry and containerDrift, and pushTrustedImage (which
// only needs the port). Needs the stand-in images from scripts/images/build-standins.sh.
import test from 'ava';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { freePort } from '../helpers/ports.js';
import { setTimeout as delay } from 'node:timers/promises';
import { createDockerClient, type ContainerSpec, type DockerClient } from '../../src/adapters/docker.js';
import { registryApi } from '../../src/adapters/net.js';
import { waitFor } from '../../src/context.js';
import { containerDrift, isOurs, loadRegistrySpec } from '../../src/registry-spec.js';
import { planRegistry, pushTrustedImage } from '../../src/registry-container.js';
import { fakeServices, fakeTask, makeCtx, type Owner } from '../helpers/fakes.js';

const REGISTRY_IMAGE = 'registry:2.7.1';
const NGINX_IMAGE = 'nginx:1.21.1';
const suffix = randomBytes(4).toString('hex');
const NAME = `bootstrap-test-registry-${suffix}`;
const VOLUME = `bootstrap-test-registry-data-${suffix}`;
const OTHER = `${NAME}-other`;
const FOREIGN = `${NAME}-foreign`;

const engine = new Docker();
let docker: DockerClient;
let port: number;
let spec: ContainerSpec;
const realTime = { now: () => new Date(), sleep: (ms: number) => delay(ms) };

const url = () => `http://127.0.0.1:${port}`;
const waitForRegistry = () =>
  waitFor(
    realTime,
    30,
    async () => ((await registryApi.ping(url())) ? true : undefined),
    () => new Error(`${url()}/v2/ did not answer`),
  );

test.before(async () => {
  docker = await createDockerClient();
  await docker.ping();
  for (const image of [REGISTRY_IMAGE, NGINX_IMAGE]) {
    if (!(await docker.imageExists(image))) throw new Error(`Image ${image} is missing: run scripts/images/build-standins.sh`);
  }
  port = await freePort();
  const compose = await loadRegistrySpec(port);
  spec = { ...compose, name: NAME, volume: { ...compose.volume, name: VOLUME } };
});

test.after.always(async () => {
  for (const name of [NAME, OTHER, FOREIGN])
    await engine
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
  await engine
    .getImage(`localhost:${port}/nginx:1.21.1`)
    .remove()
    .catch(() => undefined);
  await engine
    .getVolume(VOLUME)
    .remove()
    .catch(() => undefined);
  await engine
    .getVolume(`${VOLUME}-other`)
    .remove()
    .catch(() => undefined);
});

test.serial('create: plan says create; the container matches the spec and answers', async (t) => {
  t.is(await docker.inspectContainer(NAME), undefined);
  t.is(planRegistry(undefined, spec, false), 'create');
  await docker.createContainer(spec);
  await docker.startContainer(NAME);
  await waitForRegistry();
  const state = (await docker.inspectContainer(NAME))!;
  t.true(state.running);
  t.true(isOurs(state, spec));
  t.deepEqual(containerDrift(state, spec), []);
  t.deepEqual(state.ports, { '5000/tcp': port });
  t.deepEqual(state.volumes, [{ name: VOLUME, target: '/var/lib/registry' }]);
  t.is(state.restart, 'always');
  t.true(await docker.volumeExists(VOLUME));
});

test.serial('re-run: plan says none (nothing to do)', async (t) => {
  t.is(planRegistry(await docker.inspectContainer(NAME), spec, false), 'none');
});

test.serial('stopped → plan says start; starting twice is fine', async (t) => {
  await engine.getContainer(NAME).stop({ t: 1 });
  const stopped = (await docker.inspectContainer(NAME))!;
  t.false(stopped.running);
  t.is(planRegistry(stopped, spec, false), 'start');
  await docker.startContainer(NAME);
  await docker.startContainer(NAME); // 304 from the engine is not an error
  t.true((await docker.inspectContainer(NAME))!.running);
  await waitForRegistry();
});

test.serial('a container with other settings → drift error naming --recreate-registry', async (t) => {
  const otherSpec: ContainerSpec = {
    ...spec,
    name: OTHER,
    env: { ...spec.env, REGISTRY_STORAGE_DELETE_ENABLED: 'false' },
    ports: { '5000/tcp': await freePort() },
    volume: { ...spec.volume, name: `${VOLUME}-other` },
    restart: 'no',
  };
  await docker.createContainer(otherSpec);
  const state = (await docker.inspectContainer(OTHER))!;
  const wanted = { ...spec, name: OTHER };
  t.deepEqual(containerDrift(state, wanted), [
    'REGISTRY_STORAGE_DELETE_ENABLED=false (want true)',
    `port 5000/tcp published on ${otherSpec.ports['5000/tcp']} (want ${port})`,
    `no volume ${VOLUME} at /var/lib/registry`,
    'restart policy no (want always)',
  ]);
  t.throws(() => planRegistry(state, wanted, false), { message: /--recreate-registry/ });
  t.is(planRegistry(state, wanted, true), 'recreate');
  t.true(await docker.removeContainer(OTHER));
  t.false(await docker.removeContainer(OTHER));
});

test.serial('a same-named container without our label → not-ours error', async (t) => {
  await docker.createContainer({ ...spec, name: FOREIGN, labels: {}, ports: { '5000/tcp': await freePort() } });
  const state = (await docker.inspectContainer(FOREIGN))!;
  t.false(isOurs(state, spec));
  t.throws(() => planRegistry(state, { ...spec, name: FOREIGN }, true), { message: new RegExp(`docker rm -f ${FOREIGN}`) });
});

function pushCtx(t: Owner) {
  const services = fakeServices(t, { docker: async () => docker, registryApi, ...realTime });
  return makeCtx(t, { registryPort: port }, {}, services);
}

test.serial('pushTrustedImage pushes nginx:1.21.1 into it; a second call skips', async (t) => {
  const ctx = pushCtx(t);
  t.false(await registryApi.hasManifest(url(), 'nginx', '1.21.1'));
  t.true(await pushTrustedImage(ctx, fakeTask().task));
  t.true(await registryApi.hasManifest(url(), 'nginx', '1.21.1'));
  t.false(await registryApi.hasManifest(url(), 'nginx', 'latest'));
  t.false(await pushTrustedImage(ctx, fakeTask().task));
});

test.serial('removing the container keeps the volume: the pushed image survives a recreate', async (t) => {
  t.is(planRegistry(await docker.inspectContainer(NAME), spec, true), 'recreate');
  t.true(await docker.removeContainer(NAME));
  t.is(await docker.inspectContainer(NAME), undefined);
  t.true(await docker.volumeExists(VOLUME));
  await docker.createContainer(spec);
  await docker.startContainer(NAME);
  await waitForRegistry();
  t.true(await registryApi.hasManifest(url(), 'nginx', '1.21.1'));
  const ctx = pushCtx(t);
  t.false(await pushTrustedImage(ctx, fakeTask().task));
});
