// One source of truth: the container Docker Compose makes from compose/registry.yaml and the one bootstrap makes
// through dockerode from the same file agree on every setting (real Docker engine, real docker-compose).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../helpers/ports.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { createDockerClient } from '../../src/adapters/docker.js';
import { COMPOSE_FILE, containerDrift, specFromCompose } from '../../src/registry-spec.js';

const id = randomBytes(3).toString('hex');

/** The project's compose file with a unique name, port and volume, so that it never meets a real `registry`. */
async function isolatedCompose(name: string, port: number, volume: string): Promise<string> {
  const compose = parse(await readFile(COMPOSE_FILE, 'utf8'));
  const service = compose.services.registry;
  service.container_name = name;
  // Only the host port changes: the address it is published on stays the file's.
  service.ports = [String(service.ports[0]).replace(/\d+(?=:\d+$)/, String(port))];
  const [key, target] = service.volumes[0].split(':');
  service.volumes = [`${key}:${target}`];
  compose.volumes[key].name = volume;
  return stringify(compose);
}

test('docker-compose and bootstrap make the same registry container from compose/registry.yaml', async (t) => {
  const docker = await createDockerClient();
  const dir = await mkdtemp(path.join(tmpdir(), 'compose-agreement-'));
  const [composePort, toolPort] = [await freePort(), await freePort()];
  const composeName = `bootstrap-compose-${id}`;
  const toolName = `bootstrap-tool-${id}`;
  const composeFile = path.join(dir, 'registry.yaml');
  await writeFile(composeFile, await isolatedCompose(composeName, composePort, `bootstrap-compose-${id}`));
  const project = `agreement${id}`;
  t.teardown(async () => {
    await execa('docker-compose', ['-f', composeFile, '-p', project, 'down', '--volumes'], { reject: false });
    await docker.removeContainer(toolName);
    await docker.removeVolume(`bootstrap-tool-${id}`);
    await rm(dir, { recursive: true, force: true });
  });

  const composed = await execa('docker-compose', ['-f', composeFile, '-p', project, 'up', '-d'], { reject: false, all: true });
  t.is(composed.exitCode, 0, composed.all);

  const toolSpec = specFromCompose(await isolatedCompose(toolName, toolPort, `bootstrap-tool-${id}`));
  await docker.createContainer(toolSpec);
  await docker.startContainer(toolName);

  const byCompose = (await docker.inspectContainer(composeName))!;
  const byTool = (await docker.inspectContainer(toolName))!;
  // What compose made satisfies the spec bootstrap reads from the same file (name, port and volume aside)...
  const composeSpec = specFromCompose(await readFile(composeFile, 'utf8'));
  t.deepEqual(containerDrift(byCompose, composeSpec), []);
  t.deepEqual(containerDrift(byTool, toolSpec), []);
  // ...and the two containers agree setting by setting.
  t.is(byTool.image, byCompose.image);
  t.deepEqual(byTool.env, byCompose.env);
  t.is(byTool.restart, byCompose.restart);
  t.deepEqual(Object.keys(byTool.ports), Object.keys(byCompose.ports));
  t.deepEqual(byTool.listenAddresses, byCompose.listenAddresses);
  t.deepEqual(byTool.listenAddresses, ['127.0.0.1'], 'loopback only, as compose/registry.yaml says');
  t.deepEqual(
    byTool.volumes.map((v) => v.target),
    byCompose.volumes.map((v) => v.target),
  );
  for (const [label, value] of Object.entries(toolSpec.labels)) t.is(byCompose.labels[label], value, label);
  t.true(byCompose.running && byTool.running);
});
