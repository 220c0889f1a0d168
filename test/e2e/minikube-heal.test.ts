// End to end on a real minikube node: run with MINIKUBE_PROFILE naming a profile and
// KUBECONFIG (or ~/.kube/config) holding its context, e.g.
//   MINIKUBE_PROFILE=trusted-registry npx ava test/e2e/minikube-heal.test.ts
// It runs `bootstrap up -p $MINIKUBE_PROFILE` first (a converged environment changes nothing), with the user's own
// state directory. Without MINIKUBE_PROFILE, or without a minikube binary, every case is skipped and says why.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { until } from '../helpers/poll.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const profile = process.env.MINIKUBE_PROFILE;
const minikube = process.env.MINIKUBE_BINARY || 'minikube';

async function skipReason(): Promise<string | undefined> {
  if (!profile) return 'not on minikube: set MINIKUBE_PROFILE to a running minikube profile';
  const found = await execa(minikube, ['version'], { reject: false }).catch(() => undefined);
  if (!found || found.exitCode !== 0) return `not on minikube: no working '${minikube}' binary (MINIKUBE_BINARY)`;
  return undefined;
}
const skipped = await skipReason();
if (skipped) console.log(`test/e2e/minikube-heal.test.ts: skipped (${skipped})`);
const serial = skipped ? test.serial.skip : test.serial;
const titled = (title: string) => (skipped ? `${title} [skipped: ${skipped}]` : title);

const kc = new k8s.KubeConfig();
let core: k8s.CoreV1Api;
/** The address the node pulls from, as `up` reported it. */
let registryHost: string;

async function bootstrap(args: string[]) {
  const result = await execa(process.execPath, [path.join(repo, 'bin/bootstrap.js'), ...args], {
    cwd: repo,
    reject: false,
    all: true,
    env: { CI: 'true' },
  });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}

/** The minikube driver of the profile: `none` runs the node's containers on this host, with no `minikube ssh`. */
async function driver(): Promise<string | undefined> {
  const listed = await execa(minikube, ['profile', 'list', '--output=json'], { reject: false });
  const profiles = (JSON.parse(listed.stdout || '{}') as { valid?: { Name: string; Config?: { Driver?: string } }[] }).valid ?? [];
  return profiles.find((p) => p.Name === profile)?.Config?.Driver;
}

/** crictl on the node: through `minikube ssh` (every driver but none), else on this host. */
async function crictl(args: string[]) {
  if ((await driver()) === 'none') {
    const asRoot = process.getuid?.() === 0 ? ['crictl', ...args] : ['sudo', 'crictl', ...args];
    return execa(asRoot[0]!, asRoot.slice(1), { reject: false, all: true });
  }
  return execa(minikube, ['ssh', '-p', profile!, '--', 'sudo', 'crictl', ...args], { reject: false, all: true });
}

const pod = (image: string): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'e2e-minikube-probe', namespace: 'default' },
  spec: { containers: [{ name: 'c', image }] },
});

/** A server-side dry-run pod creation: undefined when admitted, else the API server's message. */
async function dryRunPod(image: string): Promise<string | undefined> {
  try {
    await core.createNamespacedPod({ namespace: 'default', body: pod(image), dryRun: 'All' });
    return undefined;
  } catch (error) {
    const body = (error as { body?: string }).body;
    try {
      return (body && (JSON.parse(body) as { message?: string }).message) || String(error);
    } catch {
      return String(body ?? error);
    }
  }
}

const UNTRUSTED = `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image 'nginx:1.21.1' comes from untrusted registry`;
const opaPods = async () =>
  (await core.listNamespacedPod({ namespace: 'opa', labelSelector: 'app=opa' })).items.filter((p) => !p.metadata?.deletionTimestamp);
const container = (p: k8s.V1Pod, name: string) => p.status?.containerStatuses?.find((c) => c.name === name);
const policyDecides = async () =>
  (await dryRunPod('nginx:1.21.1')) === UNTRUSTED && (await dryRunPod(`${registryHost}/nginx:1.21.1`)) === undefined;

test.before(async () => {
  if (skipped) return;
  // As a user would: up creates or starts the profile when it is not running.
  const up = await bootstrap(['up', '-p', profile!]);
  if (up.exitCode !== 0) throw new Error(`bootstrap up -p ${profile} failed:\n${up.output}`);
  registryHost = /Registry reachable from the node at (\S+)/.exec(up.output)?.[1] ?? 'host.minikube.internal:5000';
  kc.loadFromDefault();
  kc.setCurrentContext(profile!); // minikube names the context after the profile
  core = kc.makeApiClient(k8s.CoreV1Api);
});

serial(titled('KEP-1755: kube-public/local-registry-hosting names where to push and what the node pulls through'), async (t) => {
  const cm = await core.readNamespacedConfigMap({ namespace: 'kube-public', name: 'local-registry-hosting' });
  t.is(cm.metadata?.labels?.['app.kubernetes.io/managed-by'], 'bootstrap');
  const hosting = parseYaml(cm.data!['localRegistryHosting.v1']!) as Record<string, string>;
  t.log(hosting);
  t.is(hosting.hostFromContainerRuntime, registryHost);
  t.regex(hosting.help ?? '', /^https:\/\//);
  // `host` is where this machine pushes: its registry API answers there.
  const fromHere = await fetch(`http://${hosting.host}/v2/`).catch((error: Error) => error);
  t.is(fromHere instanceof Error ? fromHere.message : fromHere.status, 200, `http://${hosting.host}/v2/ from this machine`);
  // `hostFromContainerRuntime` is the name the node's container runtime pulls through (with the docker driver, by the
  // mirror entry to the registry on the node's network): the node's containerd really pulls the trusted image by it.
  const pull = ['crictl', 'pull', `${registryHost}/nginx:1.21.1`];
  const fromNode =
    (await driver()) === 'none'
      ? await execa(pull[0]!, pull.slice(1), { reject: false, all: true })
      : await execa(minikube, ['ssh', '-p', profile!, '--', 'sudo', ...pull], { reject: false, all: true });
  t.is(fromNode.exitCode, 0, `crictl pull ${registryHost}/nginx:1.21.1 on the node: ${fromNode.all}`);
  t.regex(fromNode.all ?? '', /Image is up to date for sha256:[0-9a-f]{64}/);
  if (hosting.hostFromClusterNetwork !== undefined) t.regex(hosting.hostFromClusterNetwork, /^[a-z0-9.-]+(:\d+)?$/);
});

serial(
  titled('OPA container stopped on the node (crictl): within 30 s the webhook decides by the policy again, nothing run by hand'),
  async (t) => {
    // A fresh pod: no restart history, so no CrashLoopBackOff delay from an earlier run (the kubelet keeps one for
    // 10 minutes). Its first start must succeed on its own too: nothing but the Deployment brings it back.
    for (const p of await opaPods()) await core.deleteNamespacedPod({ namespace: 'opa', name: p.metadata!.name! });
    const fresh = await until(
      'a new OPA pod ready, with the policy deciding (first start, no bootstrap command)',
      async () => {
        const [p] = await opaPods();
        return p && container(p, 'opa')?.ready && (await policyDecides()) ? p : undefined;
      },
      180_000,
    );
    const name = fresh.metadata!.name!;
    // The liveness probe must not be what made the first start work: kube-mgmt loaded the policy without a restart.
    t.is(container(fresh, 'kube-mgmt')?.restartCount, 0, `fresh pod ${name}: kube-mgmt restarted during its first start`);
    const before = { opa: container(fresh, 'opa')!.restartCount, kubeMgmt: container(fresh, 'kube-mgmt')!.restartCount };
    const id = container(fresh, 'opa')!.containerID!.replace(/^[a-z]+:\/\//, '');

    const stoppedAt = Date.now();
    const stop = await crictl(['stop', id]);
    t.is(stop.exitCode, 0, stop.all);
    await until(
      'the OPA container restarted by the kubelet',
      async () => {
        const live = await core.readNamespacedPod({ namespace: 'opa', name });
        return (container(live, 'opa')?.restartCount ?? 0) > before.opa;
      },
      30_000,
    );
    await until(
      'the bad-repo pod denied with the article’s message and the ok pod admitted',
      policyDecides,
      30_000 - (Date.now() - stoppedAt),
    );
    const healedMs = Date.now() - stoppedAt;
    t.log(`policy deciding again ${healedMs} ms after the OPA container was stopped`);
    t.true(healedMs <= 30_000, `${healedMs} ms`);
    const live = await core.readNamespacedPod({ namespace: 'opa', name });
    t.true(container(live, 'kube-mgmt')!.restartCount > before.kubeMgmt, 'the kubelet restarted kube-mgmt (its liveness probe)');
    t.is(await dryRunPod('nginx:1.21.1'), UNTRUSTED);
    t.is(await dryRunPod(`${registryHost}/nginx:1.21.1`), undefined);
  },
);
