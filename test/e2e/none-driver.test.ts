// End to end on real minikube with the none driver (scripts/testbed/minikube-up --driver none): the node is this
// machine (its containerd, runc and CNI; minikube's kubelet, kubeadm's control plane). up, verify --create and down,
// and after down no pod, container or kubelet is left (minikube delete alone would leave them running there).
// Skipped, saying why, when .testbed/minikube.env was written for another driver.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import { execa } from 'execa';
import { readMinikubeEnv } from '../helpers/minikube-env.js';
import { until } from '../helpers/poll.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const env = readMinikubeEnv();
const onNone = env.TESTBED_MINIKUBE_DRIVER === 'none';
const serial = onNone ? test.serial : test.serial.skip;
if (!onNone) console.log(`test/e2e/none-driver.test.ts: skipped (minikube-up ran with --driver ${env.TESTBED_MINIKUBE_DRIVER})`);
const CRI = ['--runtime-endpoint', 'unix:///run/containerd/containerd.sock'];
let stateHome: string;

async function run(file: string, args: string[]) {
  const result = await execa(file, args, { cwd: repo, reject: false, all: true, env: { ...env, XDG_STATE_HOME: stateHome, CI: 'true' } });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '', stdout: result.stdout };
}
const bootstrap = (...args: string[]) => run('npx', ['bootstrap', ...args, '--driver', 'none']);

test.before(async () => {
  stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-none-e2e-'));
});

test.after.always(async () => {
  if (onNone) await bootstrap('down');
  await rm(stateHome, { recursive: true, force: true });
});

serial('up --driver none: profile minikube on this machine, the article end to end', async (t) => {
  const up = await bootstrap('up');
  t.is(up.exitCode, 0, up.output);
  t.regex(up.output, /Cluster: minikube profile minikube (created|already running)/);
  t.regex(up.output, /Registry reachable from the node at host\.minikube\.internal:5000 \(the node is this machine\)/);
  t.regex(up.output, /PASS {2}untrusted registry \(pod-bad-repo\.yaml\) +denied: Image 'nginx:1\.21\.1' comes from untrusted registry/);
  t.regex(
    up.output,
    /PASS {2}latest tag \(pod-bad-tag\.yaml\) +denied: Image 'host\.minikube\.internal:5000\/nginx:latest' used latest image/,
  );
  t.regex(up.output, /PASS {2}trusted and pinned \(pod-ok\.yaml\) +admitted/);

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.KUBECONFIG);
  kc.setCurrentContext('minikube');
  const [node] = (await kc.makeApiClient(k8s.CoreV1Api).listNode()).items;
  t.regex(node?.status?.nodeInfo?.containerRuntimeVersion ?? '', /^containerd:\/\//);
});

serial('verify --create: the ok pod runs, pulled from our registry by this machine’s containerd', async (t) => {
  const verify = await bootstrap('verify', '--create');
  t.is(verify.exitCode, 0, verify.output);
  t.regex(verify.output, /PASS {2}pod-ok\.yaml created and running +Running/);
  const images = await run('crictl', [...CRI, 'images', '-o', 'json']);
  t.true(images.stdout.includes('host.minikube.internal:5000/nginx'), 'the image came through the name the policy trusts');
});

serial('down: the profile goes and no pod, container or kubelet is left on this machine', async (t) => {
  const down = await bootstrap('down');
  t.is(down.exitCode, 0, down.output);
  t.regex(down.output, /Cluster: minikube profile minikube deleted/);
  const pods = await run('crictl', [...CRI, 'pods', '-q']);
  t.is(pods.exitCode, 0, pods.output);
  t.is(pods.stdout.trim(), '', 'no pod sandbox left');
  const containers = await run('crictl', [...CRI, 'ps', '-aq']);
  t.is(containers.exitCode, 0, containers.output);
  t.is(containers.stdout.trim(), '', 'no container left');
  // `service kubelet stop` signals it and returns; the process may take a moment to go.
  const gone = await until('the kubelet to exit', async () => (await run('pgrep', ['-x', 'kubelet'])).exitCode === 1, 30_000).catch(
    () => false,
  );
  t.true(gone, `a kubelet still runs: ${(await run('pgrep', ['-a', 'kubelet'])).output}`);
  const again = await bootstrap('down');
  t.is(again.exitCode, 0, again.output);
});
