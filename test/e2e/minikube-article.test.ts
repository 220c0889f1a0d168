// End to end on real minikube (scripts/testbed/minikube-up): the README's plain `npx bootstrap up` with minikube's
// own docker (or none) driver, a real node (systemd, containerd, runc, the kubelet, kube-proxy, CoreDNS), kubeadm's
// control plane, and pods that really pull from our registry. Only kube-mgmt is a stand-in (docs/testbed.md).
// The tests run in order and each leaves the environment as the next expects; together they start minikube three
// times, so they take minutes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import Docker from 'dockerode';
import { execa } from 'execa';
import { readMinikubeEnv } from '../helpers/minikube-env.js';
import { until } from '../helpers/poll.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const env = readMinikubeEnv();
const PROFILE = 'trusted-registry';
const REGISTRY_HOST = 'host.minikube.internal:5000';
const docker = new Docker();
let stateHome: string;

interface Run {
  exitCode: number;
  output: string;
  stdout: string;
  ms: number;
}

/** A command as a user runs it after `set -a; . .testbed/minikube.env; set +a`, in CI mode (plain renderer). */
async function run(file: string, args: string[]): Promise<Run> {
  const start = Date.now();
  const result = await execa(file, args, {
    cwd: repo,
    reject: false,
    all: true,
    extendEnv: true,
    env: { ...env, XDG_STATE_HOME: stateHome, CI: 'true' },
  });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '', stdout: result.stdout, ms: Date.now() - start };
}
const bootstrap = (...args: string[]) => run('npx', ['bootstrap', ...args]);
const minikube = (...args: string[]) => run('minikube', args);

function kube() {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.KUBECONFIG);
  kc.setCurrentContext(PROFILE);
  return {
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
  };
}

function expectArticleResults(t: import('ava').ExecutionContext, output: string) {
  t.regex(output, /PASS {2}untrusted registry \(pod-bad-repo\.yaml\) +denied: Image 'nginx:1\.21\.1' comes from untrusted registry/);
  t.regex(
    output,
    /PASS {2}latest tag \(pod-bad-tag\.yaml\) +denied: Image 'host\.minikube\.internal:5000\/nginx:latest' used latest image/,
  );
  t.regex(output, /PASS {2}trusted and pinned \(pod-ok\.yaml\) +admitted/);
  t.regex(output, /3\/3 checks as expected/);
}

/** The resourceVersions of everything `up` applies: unchanged means nothing was written. */
async function versions() {
  const { core, apps, admission } = kube();
  const objects = await Promise.all([
    apps.readNamespacedDeployment({ namespace: 'opa', name: 'opa' }),
    core.readNamespacedSecret({ namespace: 'opa', name: 'opa-server' }),
    core.readNamespacedConfigMap({ namespace: 'opa', name: 'image-policy' }),
    core.readNamespace({ name: 'opa' }),
    admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' }),
  ]);
  return objects.map((o) => `${o.kind ?? ''}/${o.metadata?.name}@${o.metadata?.resourceVersion}`);
}

/** The digest our registry holds for nginx:1.21.1, as the node pulls it. */
async function registryDigest(): Promise<string | undefined> {
  const response = await fetch('http://127.0.0.1:5000/v2/nginx/manifests/1.21.1', {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  return response.headers.get('docker-content-digest') ?? undefined;
}

test.before(async () => {
  stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-minikube-e2e-'));
  // Start from nothing: no profile, no registry container (left by an earlier, interrupted run).
  await minikube('delete', `--profile=${PROFILE}`);
  await docker
    .getContainer('registry')
    .remove({ force: true })
    .catch(() => undefined);
});

test.after.always(async () => {
  await bootstrap('down');
  await minikube('delete', `--profile=${PROFILE}`);
  await rm(stateHome, { recursive: true, force: true });
});

test.serial('npx bootstrap up on real minikube: the article end to end, on a real node', async (t) => {
  const up = await bootstrap('up');
  t.is(up.exitCode, 0, up.output);
  t.regex(up.output, /Cluster: minikube profile trusted-registry created/);
  t.regex(
    up.output,
    /Registry reachable from the node through registry:5000 on network trusted-registry \(joined network trusted-registry, containerd mirror written\)/,
  );
  expectArticleResults(t, up.output);
  t.log(`cold up (minikube start included): ${(up.ms / 1000).toFixed(1)} s`);

  const { core } = kube();
  const [node] = (await core.listNode()).items;
  t.is(node?.metadata?.name, PROFILE);
  t.regex(node?.status?.nodeInfo?.containerRuntimeVersion ?? '', /^containerd:\/\//);
  t.is(node?.status?.nodeInfo?.kubeletVersion, env.TESTBED_KUBE_VERSION);
  const opa = (await core.listNamespacedPod({ namespace: 'opa', labelSelector: 'app=opa' })).items;
  t.true(
    opa.some((p) => p.status?.containerStatuses?.every((c) => c.ready && c.state?.running)),
    'OPA and kube-mgmt run for real on the node',
  );
});

/** Runs `args` in a network namespace of our own, routed to this machine through a veth pair; cleans up after. */
async function fromOtherHost<T>(use: (hostSide: string, exec: (args: string[]) => Promise<Run>) => Promise<T>): Promise<T> {
  const ns = `bootstrap-e2e-${process.pid}`;
  const [hostIf, nsIf] = [`bte${process.pid % 10000}h`, `bte${process.pid % 10000}n`];
  const hostSide = '10.253.7.1';
  const setup = [
    ['netns', 'add', ns],
    ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf],
    ['link', 'set', nsIf, 'netns', ns],
    ['addr', 'add', `${hostSide}/30`, 'dev', hostIf],
    ['link', 'set', hostIf, 'up'],
    ['-n', ns, 'addr', 'add', '10.253.7.2/30', 'dev', nsIf],
    ['-n', ns, 'link', 'set', nsIf, 'up'],
    ['-n', ns, 'link', 'set', 'lo', 'up'],
    ['-n', ns, 'route', 'add', 'default', 'via', hostSide],
  ];
  try {
    for (const args of setup) {
      const result = await run('ip', args);
      if (result.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${result.output}`);
    }
    return await use(hostSide, (args) => run('ip', ['netns', 'exec', ns, ...args]));
  } finally {
    await run('ip', ['link', 'delete', hostIf]);
    await run('ip', ['netns', 'delete', ns]);
  }
}

test.serial(
  'the registry answers on 127.0.0.1 only: another host routed to this machine is refused, at its container addresses and at 127.0.0.1 too',
  async (t) => {
    const local = await fetch('http://127.0.0.1:5000/v2/');
    t.is(local.status, 200);
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    // A control: a server on every address of this machine, which the other host must reach.
    const control = createServer((_request, response) => response.end('ok')).listen(0, '0.0.0.0');
    await once(control, 'listening');
    t.teardown(() => control.close());
    const controlPort = (control.address() as AddressInfo).port;
    // A second control, for the routes the engine leaves open before Docker 28: a registry container of nobody's,
    // published on 127.0.0.1 like ours but without our rules. The other host must reach it both ways, else the
    // probes below would pass for another reason (a firewall dropping all forwarded traffic, say).
    const engineMajor = Number.parseInt((await docker.version()).Version, 10);
    const open = await docker.createContainer({
      name: `bootstrap-e2e-open-${process.pid}`,
      Image: 'registry:2.7.1',
      ExposedPorts: { '5000/tcp': {} },
      HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    t.teardown(() => open.remove({ force: true }));
    await open.start();
    const openInfo = await open.inspect();
    const openAddress = openInfo.NetworkSettings.Networks.bridge!.IPAddress;
    const openPort = openInfo.NetworkSettings.Ports['5000/tcp']![0]!.HostPort;
    await until(
      'the open control registry answers',
      async () => (await fetch(`http://127.0.0.1:${openPort}/v2/`).catch(() => undefined))?.ok,
    );
    const answers = (probe: Run) => probe.exitCode === 0 && /^2\d\d$/.test(probe.stdout);

    await fromOtherHost(async (hostSide, exec) => {
      const curl = (url: string) => exec(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', url]);
      const reached = await exec(['curl', '-sS', '--max-time', '3', `http://${hostSide}:${controlPort}/`]);
      t.is(reached.stdout, 'ok', `the other host reaches this machine: ${reached.output}`);
      const unguarded = await curl(`http://${openAddress}:5000/v2/`);
      t.is(answers(unguarded), engineMajor < 28, `Docker ${engineMajor} and a container address without our rule: ${unguarded.output}`);
      // The registry container's own addresses (the default bridge, the profile's network): a host that routes them
      // through this machine reaches them on Docker before 28, unless up's packet-filter rules drop it.
      const networks = (await docker.getContainer('registry').inspect()).NetworkSettings.Networks;
      const containerAddresses = Object.values(networks).map((n) => n.IPAddress);
      t.true(containerAddresses.length >= 2, JSON.stringify(Object.keys(networks)));
      for (const address of [hostSide, ...addresses, ...containerAddresses]) {
        const probe = await curl(`http://${address}:5000/v2/`);
        t.false(answers(probe), `http://${address}:5000/v2/ must not answer from another host: ${probe.output}`);
      }
      // Last (it takes the namespace's loopback away: its local routes go only with its addresses): 127.0.0.1 sent to this machine, as a neighbour can craft it.
      // Docker's NAT rule for a port published on 127.0.0.1 matches any interface; route_localnet (kube-proxy's) lets
      // such packets in. The control answers that way, ours must not.
      const routed = await exec([
        'sh',
        '-c',
        `echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && ip addr flush dev lo && ip link set lo down && ip route replace 127.0.0.1/32 via ${hostSide}`,
      ]);
      t.is(routed.exitCode, 0, routed.output);
      const openViaLoopback = await curl(`http://127.0.0.1:${openPort}/v2/`);
      t.is(answers(openViaLoopback), engineMajor < 28, `the control at 127.0.0.1:${openPort}: ${openViaLoopback.output}`);
      const oursViaLoopback = await curl('http://127.0.0.1:5000/v2/');
      t.false(answers(oursViaLoopback), `127.0.0.1:5000 must not answer another host: ${oursViaLoopback.output}`);
    });
    // Meanwhile the node pulls through the profile's network, which the rules leave open (verify --create, below).
    const rules = await run('iptables', ['-t', 'raw', '-S', 'PREROUTING']);
    const ours = rules.stdout.split('\n').filter((l) => /bootstrap-registry-guard:registry"?( |$)/.test(l));
    const networkCount = Object.keys((await docker.getContainer('registry').inspect()).NetworkSettings.Networks).length;
    t.is(ours.length, engineMajor < 28 ? 1 + networkCount : 0, rules.stdout);
  },
);

test.serial('verify --create: the ok pod runs the image the node pulled from our registry', async (t) => {
  const verify = await bootstrap('verify', '--create');
  t.is(verify.exitCode, 0, verify.output);
  t.regex(verify.output, /PASS {2}pod-ok\.yaml created and running +Running/);

  const { core } = kube();
  const pod = await core.readNamespacedPod({ namespace: 'default', name: 'web-server' });
  const status = pod.status?.containerStatuses?.[0];
  t.is(pod.status?.phase, 'Running');
  t.is(status?.image, `${REGISTRY_HOST}/nginx:1.21.1`);
  const digest = await registryDigest();
  t.truthy(digest);
  t.true(status?.imageID?.endsWith(`@${digest}`), `${status?.imageID} is the registry's ${digest}`);
  const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=web-server' });
  t.true(
    events.items.some((e) => e.reason === 'Pulled' && e.message?.includes(`${REGISTRY_HOST}/nginx:1.21.1`)),
    events.items.map((e) => `${e.reason}: ${e.message}`).join('\n'),
  );
});

test.serial('a converged up writes nothing; status is all healthy', async (t) => {
  const before = await versions();
  const again = await bootstrap('up');
  t.is(again.exitCode, 0, again.output);
  t.regex(again.output, /Cluster: minikube profile trusted-registry already running/);
  expectArticleResults(t, again.output);
  t.deepEqual(await versions(), before, 'a converged up must not write anything');
  t.log(`converged up: ${(again.ms / 1000).toFixed(1)} s`);

  const status = await bootstrap('status', '--json');
  t.is(status.exitCode, 0, status.output);
  const report = JSON.parse(status.stdout) as { ok: boolean; components: { name: string; ok: boolean }[] };
  t.true(report.ok, status.stdout);
});

/** The ok pod, as pod-ok.yaml makes it, created through the API (admitted by the webhook). */
async function createOkPod() {
  const { core } = kube();
  await core.deleteNamespacedPod({ namespace: 'default', name: 'web-server', gracePeriodSeconds: 0 }).catch(() => undefined);
  await until('the old ok pod gone', async () =>
    core.readNamespacedPod({ namespace: 'default', name: 'web-server' }).then(
      () => false,
      () => true,
    ),
  );
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'web-server', labels: { run: 'web-server' } },
      spec: { containers: [{ name: 'web-server', image: `${REGISTRY_HOST}/nginx:1.21.1` }], terminationGracePeriodSeconds: 0 },
    },
  });
}

/**
 * Side-loads an image with other content into the node's containerd under the trusted name, as `ctr images import`
 * (what `minikube image load` does) would: the stand-in nginx with another index.html, committed by Docker here.
 * Returns the side-loaded image's digest in the node.
 */
async function sideLoad(): Promise<string> {
  const name = `${REGISTRY_HOST}/nginx:1.21.1`;
  await run('docker', ['rm', '-f', 'sideload-src']);
  await run('docker', ['create', '--name', 'sideload-src', 'nginx:1.21.1']);
  const html = path.join(stateHome, 'index.html');
  await writeFile(html, 'side-loaded, not from the registry\n');
  await run('docker', ['cp', html, 'sideload-src:/usr/share/nginx/html/index.html']);
  const commit = await run('docker', ['commit', 'sideload-src', name]);
  await run('docker', ['rm', '-f', 'sideload-src']);
  if (commit.exitCode !== 0) throw new Error(commit.output);
  const load = await execa('sh', ['-c', `docker save '${name}' | docker exec -i ${PROFILE} ctr -n k8s.io images import -`], {
    reject: false,
    all: true,
  });
  await run('docker', ['rmi', name]);
  if (load.exitCode !== 0) throw new Error(load.all);
  const list = await run('docker', ['exec', PROFILE, 'ctr', '-n', 'k8s.io', 'images', 'ls', `name==${name}`]);
  return /sha256:[0-9a-f]{64}/.exec(list.stdout)?.[0] ?? '';
}

test.serial('side-loaded images never run under the trusted name: AlwaysPullImages pulls from the registry', async (t) => {
  const { core } = kube();
  const registry = await registryDigest();
  const sideLoaded = await sideLoad();
  t.truthy(sideLoaded);
  t.not(sideLoaded, registry, 'the side-loaded image has other content');

  await createOkPod();
  const pod = await until('the ok pod running', async () => {
    const live = await core.readNamespacedPod({ namespace: 'default', name: 'web-server' });
    return live.status?.phase === 'Running' ? live : undefined;
  });
  t.is(pod.spec?.containers[0]?.imagePullPolicy, 'Always', 'AlwaysPullImages set the policy at admission');
  t.true(pod.status?.containerStatuses?.[0]?.imageID?.endsWith(`@${registry}`), `${pod.status?.containerStatuses?.[0]?.imageID}`);

  // With the registry lacking the tag, the pod fails to pull rather than run the side-loaded image.
  const deleted = await fetch(`http://127.0.0.1:5000/v2/nginx/manifests/${registry}`, { method: 'DELETE' });
  t.is(deleted.status, 202);
  t.truthy(await sideLoad());
  await createOkPod();
  const waiting = await until('the ok pod failing to pull', async () => {
    const live = await core.readNamespacedPod({ namespace: 'default', name: 'web-server' });
    t.not(live.status?.phase, 'Running');
    const reason = live.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    return reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? reason : undefined;
  });
  t.log(`registry without the tag: ${waiting}, the side-loaded image did not run`);
  await core.deleteNamespacedPod({ namespace: 'default', name: 'web-server', gracePeriodSeconds: 0 });

  // up puts the trusted image back.
  const up = await bootstrap('up');
  t.is(up.exitCode, 0, up.output);
  t.regex(up.output, /Trusted image: nginx:1\.21\.1 pushed to the registry/);
});

test.serial('--cluster existing against the minikube context: accepted as local without --yes; verify and up pass', async (t) => {
  const existing = ['--cluster', 'existing', '--context', PROFILE, '--registry-host', REGISTRY_HOST];
  const verify = await bootstrap('verify', ...existing);
  t.is(verify.exitCode, 0, verify.output);
  expectArticleResults(t, verify.output);
  // Its state directory is the context's own (context-trusted-registry), so up makes that context its certificates.
  const up = await bootstrap('up', ...existing);
  t.is(up.exitCode, 0, up.output);
  t.regex(up.output, /Cluster: context trusted-registry, Kubernetes v1\.37\.2/);
  expectArticleResults(t, up.output);
});

test.serial('a stopped profile is started again by up, and the checks pass', async (t) => {
  const stop = await minikube('stop', `--profile=${PROFILE}`);
  t.is(stop.exitCode, 0, stop.output);
  const up = await bootstrap('up');
  t.is(up.exitCode, 0, up.output);
  t.regex(up.output, /Cluster: minikube profile trusted-registry started/);
  expectArticleResults(t, up.output);
});

test.serial('down removes the profile and the registry; twice, it still succeeds', async (t) => {
  const down = await bootstrap('down');
  t.is(down.exitCode, 0, down.output);
  t.regex(down.output, /Cluster: minikube profile trusted-registry deleted/);
  const list = await minikube('profile', 'list', '--output=json');
  t.false(list.stdout.includes(`"Name":"${PROFILE}"`), list.output);
  t.is(
    await docker
      .getContainer('registry')
      .inspect()
      .then(() => 'present')
      .catch(() => 'absent'),
    'absent',
  );
  // The registry left the profile's network first, so minikube could remove the network with the profile.
  t.is(
    await docker
      .getNetwork(PROFILE)
      .inspect()
      .then(() => 'present')
      .catch(() => 'absent'),
    'absent',
  );
  const again = await bootstrap('down');
  t.is(again.exitCode, 0, again.output);
});

test.serial('a profile made without --insecure-registry: up refuses clearly; --recreate-cluster recreates it', async (t) => {
  const start = await minikube('start', `--profile=${PROFILE}`, '--container-runtime=containerd', '--wait=apiserver');
  t.is(start.exitCode, 0, start.output);
  const refused = await bootstrap('up');
  t.is(refused.exitCode, 1, refused.output);
  t.true(
    refused.output.includes(
      `minikube profile '${PROFILE}' was created without --insecure-registry=${REGISTRY_HOST}, and minikube applies that flag only when a profile is created.`,
    ),
    refused.output,
  );
  t.true(refused.output.includes('bootstrap up --recreate-cluster'), refused.output);

  const recreated = await bootstrap('up', '--recreate-cluster');
  t.is(recreated.exitCode, 0, recreated.output);
  t.regex(recreated.output, /Cluster: minikube profile trusted-registry recreated/);
  expectArticleResults(t, recreated.output);
  const down = await bootstrap('down');
  t.is(down.exitCode, 0, down.output);
});
