// --cluster existing where the node is a container on this machine's Docker (as with kind or k3d): here a minikube
// profile started by hand, which bootstrap did not make. up finds the node by its InternalIP, joins the loopback-only
// registry to the node's network and writes the node's containerd mirror; the ok pod then really pulls and runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import Docker from 'dockerode';
import { execa } from 'execa';
import { readMinikubeEnv } from '../helpers/minikube-env.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const env = readMinikubeEnv();
const PROFILE = 'trusted-registry';
const existing = ['--cluster', 'existing', '--context', PROFILE, '--registry-host', 'host.minikube.internal:5000'];
let stateHome: string;

async function run(file: string, args: string[]) {
  const result = await execa(file, args, { cwd: repo, reject: false, all: true, env: { ...env, XDG_STATE_HOME: stateHome, CI: 'true' } });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}

test.before(async () => {
  stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-existing-e2e-'));
  await run('minikube', ['delete', `--profile=${PROFILE}`]);
});

test.after.always(async () => {
  await run('npx', ['bootstrap', 'down', ...existing]);
  await run('minikube', ['delete', `--profile=${PROFILE}`]);
  await rm(stateHome, { recursive: true, force: true });
});

test.serial('a container node bootstrap did not make: the registry joins its network and the ok pod pulls and runs', async (t) => {
  const start = await run('minikube', [
    'start',
    `--profile=${PROFILE}`,
    '--container-runtime=containerd',
    '--insecure-registry=host.minikube.internal:5000',
    '--wait=apiserver',
  ]);
  t.is(start.exitCode, 0, start.output);
  const up = await run('npx', ['bootstrap', 'up', ...existing]);
  t.is(up.exitCode, 0, up.output);
  t.regex(
    up.output,
    /Registry reachable from the nodes: trusted-registry through registry:5000 on network trusted-registry \(.*containerd mirror written\)/,
  );
  t.regex(up.output, /3\/3 checks as expected/);
  const registry = await new Docker().getContainer('registry').inspect();
  t.true(Object.keys(registry.NetworkSettings.Networks).includes(PROFILE));
  t.deepEqual(
    registry.HostConfig.PortBindings?.['5000/tcp']?.map((b: { HostIp: string }) => b.HostIp),
    ['127.0.0.1'],
  );
  const verify = await run('npx', ['bootstrap', 'verify', ...existing, '--create']);
  t.is(verify.exitCode, 0, verify.output);
  t.regex(verify.output, /PASS {2}pod-ok\.yaml created and running +Running/);
});
