// Proves, against the real Docker engine, that the local registry:2.7.1 stand-in (built by
// scripts/images/build-standins.sh) does what the sandbox needs from the real image when it runs
// with compose/registry.yaml's environment: /v2/ answers, `docker push` works, the catalog and the
// manifest are visible, and manifests can be deleted by digest (REGISTRY_STORAGE_DELETE_ENABLED).
import test from 'ava';
import Docker from 'dockerode';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { fetchWithin } from '../../src/adapters/net.js';

const REGISTRY_IMAGE = 'registry:2.7.1';
const NGINX_IMAGE = 'nginx:1.21.1';
const BUILD_HINT = 'run scripts/images/build-standins.sh';
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const composeFile = fileURLToPath(new URL('../../compose/registry.yaml', import.meta.url));

interface ComposeService {
  image: string;
  environment?: Record<string, string | number | boolean> | string[];
  ports?: Array<string | number>;
}

async function registryService(): Promise<ComposeService> {
  const doc = parse(await readFile(composeFile, 'utf8')) as { services?: Record<string, ComposeService> };
  const service = doc.services?.registry;
  if (!service) throw new Error(`${composeFile} has no services.registry`);
  return service;
}

function envList(environment: ComposeService['environment']): string[] {
  if (!environment) return [];
  if (Array.isArray(environment)) return environment;
  return Object.entries(environment).map(([k, v]) => `${k}=${String(v)}`);
}

/** Container port of the compose file's first port mapping ('5000:5000' -> 5000/tcp). */
function containerPort(ports: ComposeService['ports']): string {
  const first = String(ports?.[0] ?? '5000');
  return `${first.split(':').pop()!.split('/')[0]}/tcp`;
}

async function waitFor200(url: string, ms = 15_000): Promise<Response> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetchWithin(url, 2000);
      if (res.status === 200) return res;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${ms}ms (last: ${last})`);
}

test('registry:2.7.1 stand-in serves /v2/, accepts a push, lists it and deletes manifests by digest', async (t) => {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    t.fail(`Docker engine is not reachable (${(error as Error).message}); start it with scripts/docker/ensure-dockerd.sh`);
    return;
  }
  for (const image of [REGISTRY_IMAGE, NGINX_IMAGE]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      t.fail(`image ${image} is missing: ${BUILD_HINT}`);
      return;
    }
  }

  const service = await registryService();
  t.is(service.image, REGISTRY_IMAGE, 'compose/registry.yaml should run the image this test checks');
  const port = containerPort(service.ports);
  const suffix = randomBytes(4).toString('hex');
  const volumeName = `bootstrap-test-registry-${suffix}`;
  const labels = { 'app.kubernetes.io/managed-by': 'bootstrap-test' };

  await docker.createVolume({ Name: volumeName, Labels: labels });
  t.teardown(async () => {
    await docker
      .getVolume(volumeName)
      .remove()
      .catch(() => undefined);
  });

  const container = await docker.createContainer({
    name: `bootstrap-test-registry-${suffix}`,
    Image: REGISTRY_IMAGE,
    Env: envList(service.environment),
    Labels: labels,
    ExposedPorts: { [port]: {} },
    HostConfig: {
      // HostPort '' lets the engine pick a free port; binding to loopback keeps it off the network.
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      Binds: [`${volumeName}:/var/lib/registry`],
    },
  });
  // Registered before the volume's teardown runs (ava runs teardowns last-in first-out).
  t.teardown(async () => {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  });
  await container.start();

  const info = await container.inspect();
  const hostPort = info.NetworkSettings.Ports[port]?.[0]?.HostPort;
  if (!hostPort) {
    t.fail(`no host port published for ${port}`);
    return;
  }
  const base = `http://127.0.0.1:${hostPort}`;

  const v2 = await waitFor200(`${base}/v2/`).catch(async (error: Error) => {
    const logs = await container.logs({ stdout: true, stderr: true, tail: 30 });
    throw new Error(`${error.message}\ncontainer logs:\n${logs.toString()}`);
  });
  t.is(v2.status, 200);
  t.is(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');

  const target = `127.0.0.1:${hostPort}/nginx:1.21.1`;
  t.teardown(async () => {
    await docker
      .getImage(target)
      .remove({ noprune: true })
      .catch(() => undefined);
  });
  await docker.getImage(NGINX_IMAGE).tag({ repo: `127.0.0.1:${hostPort}/nginx`, tag: '1.21.1' });
  const push = await execa('docker', ['push', target], { reject: false, stdin: 'ignore', timeout: 120_000 });
  t.is(push.exitCode, 0, `docker push ${target} failed:\n${push.stdout}\n${push.stderr}`);

  const catalog = (await (await fetchWithin(`${base}/v2/_catalog`, 10_000)).json()) as { repositories?: string[] };
  t.true(catalog.repositories?.includes('nginx'), `catalog: ${JSON.stringify(catalog)}`);

  const tags = (await (await fetchWithin(`${base}/v2/nginx/tags/list`, 10_000)).json()) as { tags?: string[] };
  t.deepEqual(tags.tags, ['1.21.1']);

  const manifestUrl = `${base}/v2/nginx/manifests/1.21.1`;
  const head = await fetchWithin(manifestUrl, 10_000, { method: 'HEAD', headers: { Accept: MANIFEST_V2 } });
  t.is(head.status, 200, 'manifest for nginx:1.21.1 should exist');
  const digest = head.headers.get('docker-content-digest');
  t.regex(digest ?? '', /^sha256:[0-9a-f]{64}$/);

  const del = await fetchWithin(`${base}/v2/nginx/manifests/${digest}`, 10_000, { method: 'DELETE' });
  t.is(del.status, 202, `DELETE by digest should be accepted (delete enabled), got ${del.status}: ${await del.text()}`);

  const gone = await fetchWithin(manifestUrl, 10_000, { method: 'HEAD', headers: { Accept: MANIFEST_V2 } });
  t.is(gone.status, 404, 'manifest should be gone after the delete');
});
