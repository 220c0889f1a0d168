// `up` as a whole, in process, on a fake machine (test/helpers/fakes.ts machine()): a cold run, a converged run and
// dry runs, through listr2's test renderer. Every fake answers from state, so a run sees what the one before it left.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { upTasks } from '../../src/commands/up.js';
import { defaultConfig } from '../../src/config.js';
import { defaultRunOptions, newContext, type Ctx, type RunOptions } from '../../src/context.js';
import { machine, runWithTestRenderer, type FakeServices, type Owner } from '../helpers/fakes.js';

type Machine = ReturnType<typeof machine>;

function context(services: FakeServices, options: Partial<RunOptions> = {}): Ctx {
  return newContext({ ...defaultConfig({}), stateDir: services.state.dir }, { ...defaultRunOptions(), ...options }, services);
}

/** The calls that change something, per fake, in order; everything else the fakes record is a read. */
function changes(m: Machine) {
  const { docker, cmd, kube, firewall } = m.fakes;
  const reads = new Set([
    'ping',
    'version',
    'engine',
    'inspectContainer',
    'containerAddresses',
    'imageExists',
    'networkExists',
    'containerWithAddress',
    'volumeExists',
  ]);
  // A look into the node is a read when it runs the check script (it prints `differs`; it never writes).
  const writesInNode = (argv: string[]) => argv[0] === 'exec' && argv.at(-1)!.includes('echo changed');
  return {
    docker: docker.calls.filter((c) => !reads.has(c[0]!) && (c[0] !== 'exec' || writesInNode(c))).map((c) => c.slice(0, 3).join(' ')),
    minikube: cmd.calls.filter((c) => !['version', 'profile'].includes(c[1]!) && !(c[1] === 'ssh' && !c.at(-1)!.includes('echo changed'))),
    kube: kube.log((c) => !['get', 'list'].includes(c.op) && c.dryRun !== true),
    firewall: firewall.calls.filter((c) => c[0] !== 'guardRules').map((c) => c.join(' ')),
  };
}

/** The state directory: each file and its content (none when it does not exist). */
async function stateFiles(m: Machine): Promise<Record<string, string>> {
  const names = await readdir(m.state.dir).catch(() => [] as string[]);
  return Object.fromEntries(await Promise.all(names.sort().map(async (n) => [n, await readFile(m.state.file(n), 'utf8')] as const)));
}

function forget(m: Machine) {
  const { docker, cmd, kube, registryApi, firewall } = m.fakes;
  for (const calls of [docker.calls, cmd.calls, kube.calls, registryApi.calls, firewall.calls]) calls.length = 0;
}

/** A machine on which one cold `up` has run. */
async function converged(t: Owner & { is(a: unknown, b: unknown, m?: string): void }): Promise<Machine> {
  const m = machine(t);
  const { error } = await runWithTestRenderer(upTasks(), context(m));
  t.is(error, undefined, 'the cold up succeeds');
  forget(m);
  return m;
}

const START =
  'minikube start --profile=trusted-registry --insecure-registry=host.minikube.internal:5000 --container-runtime=containerd --extra-config=apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,AlwaysPullImages --wait=apiserver';

test('cold up: every change, in order, and the checks pass', async (t) => {
  const m = machine(t);
  const ctx = context(m);
  const { screen, error } = await runWithTestRenderer(upTasks(), ctx);
  t.is(error, undefined, screen.join('\n'));
  const done = changes(m);
  t.deepEqual(done.docker, [
    'pullImage registry:2.7.1',
    'createContainer registry',
    'startContainer registry',
    'pullImage nginx:1.21.1',
    'tagImage nginx:1.21.1 localhost:5000/nginx',
    'pushImage localhost:5000/nginx 1.21.1',
    'connectNetwork registry trusted-registry',
    'exec trusted-registry sh',
  ]);
  t.deepEqual(
    done.minikube.map((argv) => argv.join(' ')),
    [START],
  );
  // The fake engine is Docker 27 on this Linux machine: 127.0.0.1 at the registry's port, and each of its addresses
  // once it is on the node's network, get their rules.
  t.deepEqual(done.firewall, [
    'addGuard registry 127.0.0.1:5000 !lo',
    'addGuard registry 172.17.0.2 !docker0',
    'addGuard registry 192.168.49.2 !br-trusted-registry',
  ]);
  t.deepEqual(done.kube, [
    'apply v1/Namespace//opa',
    'apply v1/Namespace//kube-system',
    'apply v1/Secret/opa/opa-server',
    'apply v1/Secret/opa/opa-authz',
    'apply v1/ConfigMap/kube-public/local-registry-hosting',
    'apply rbac.authorization.k8s.io/v1/ClusterRoleBinding//opa-viewer',
    'apply rbac.authorization.k8s.io/v1/Role/opa/configmap-modifier',
    'apply rbac.authorization.k8s.io/v1/RoleBinding/opa/opa-configmap-modifier',
    'apply v1/ServiceAccount/opa/opa',
    'apply v1/Service/opa/opa',
    'apply apps/v1/Deployment/opa/opa',
    'apply v1/ConfigMap/opa/opa-default-system-main',
    'apply v1/ConfigMap/opa/image-policy',
    'apply admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//opa-validating-webhook',
  ]);
  t.deepEqual(Object.keys(await stateFiles(m)), ['ca.crt', 'ca.key', 'kube-mgmt.token', 'state.json', 'tls.crt', 'tls.key']);
  t.deepEqual(JSON.parse((await stateFiles(m))['state.json']!), { createdProfile: true, registryHost: 'host.minikube.internal:5000' });
  t.deepEqual(
    ctx.checks.map((c) => [c.name, c.passed]),
    [
      ['untrusted registry (pod-bad-repo.yaml)', true],
      ['latest tag (pod-bad-tag.yaml)', true],
      ['trusted and pinned (pod-ok.yaml)', true],
    ],
  );
});

test('converged up: reads only, the same titles as a second run always had, nothing written', async (t) => {
  const m = await converged(t);
  const before = await stateFiles(m);
  const ctx = context(m);
  const { screen, error } = await runWithTestRenderer(upTasks(), ctx);
  t.is(error, undefined, screen.join('\n'));
  t.deepEqual(changes(m), { docker: [], minikube: [], kube: [], firewall: [] });
  t.deepEqual(await stateFiles(m), before);
  for (const title of [
    'Registry container: already running on http://127.0.0.1:5000',
    'Trusted image: nginx:1.21.1 already in the registry',
    'Cluster: minikube profile trusted-registry already running',
    'Registry reachable from the node through registry:5000 on network trusted-registry',
    'OPA and kube-mgmt: ready, policy loaded',
    "The article's three pods: 3/3 as expected",
  ]) {
    t.true(
      screen.some((line) => line.includes(`✔ ${title}`)),
      title,
    );
  }
  t.true(screen.some((line) => /✔ Certificates: reused in /.test(line)));
});

test('dry run on a converged machine: nothing to do, step by step; no change, nothing written', async (t) => {
  const m = await converged(t);
  const before = await stateFiles(m);
  const { screen, error } = await runWithTestRenderer(upTasks(), context(m, { dryRun: true }));
  t.is(error, undefined, screen.join('\n'));
  t.deepEqual(changes(m), { docker: [], minikube: [], kube: [], firewall: [] });
  t.deepEqual(await stateFiles(m), before);
  const dir = m.state.dir;
  const plan = screen.filter((line) => line.includes('nothing to do') || line.includes('['));
  t.deepEqual(
    plan.map((line) => line.replace(/until \d{4}-\d\d-\d\d/g, 'until <date>')),
    [
      '    ✔ Registry container: nothing to do (running registry:2.7.1 on 127.0.0.1:5000)',
      '    ✔ Trusted image: nothing to do (the registry holds nginx:1.21.1)',
      "    ✔ Registry closed to other hosts: nothing to do (other hosts' packets to the registry are dropped (127.0.0.1:5000 unless via lo, 172.17.0.2 unless via docker0, 192.168.49.2 unless via br-trusted-registry))",
      '  ✔ Cluster: nothing to do (minikube profile trusted-registry Running, pulling from host.minikube.internal:5000 as an insecure registry, AlwaysPullImages on)',
      `  ✔ Certificates: nothing to do (CA CN=admission_ca, until <date> and server certificate CN=opa.opa.svc, SANs opa.opa.svc, opa.opa.svc.cluster, opa.opa.svc.cluster.local, until <date> in ${dir})`,
      '✔ Registry reachable from the node: nothing to do (trusted-registry pulls through registry:5000 on network trusted-registry, containerd mirror in place)',
      "✔ Registry closed to other hosts: nothing to do (other hosts' packets to the registry are dropped (127.0.0.1:5000 unless via lo, 172.17.0.2 unless via docker0, 192.168.49.2 unless via br-trusted-registry))",
      '✔ Namespace opa and secrets: nothing to do (Namespace opa, Namespace kube-system, Secret opa/opa-server, Secret opa/opa-authz as wanted)',
      '✔ Registry hosting for tools (kube-public/local-registry-hosting): nothing to do (it says push to localhost:5000, manifests use host.minikube.internal:5000)',
      '✔ OPA and kube-mgmt: nothing to do (ClusterRoleBinding opa-viewer, Role opa/configmap-modifier, RoleBinding opa/opa-configmap-modifier, ServiceAccount opa/opa, Service opa/opa, Deployment opa/opa, ConfigMap opa/opa-default-system-main, ConfigMap opa/image-policy as wanted)',
      '✔ Admission webhook: nothing to do (ValidatingWebhookConfiguration opa-validating-webhook as wanted)',
      "  ↓ The article's three pods [dry run: would send pods/pod-bad-repo.yaml, pods/pod-bad-tag.yaml, pods/pod-ok.yaml as server-side dry runs]",
    ],
  );
});

test('dry run on a cold machine: every container with its image, certificate with its names, object and command; no change, nothing written', async (t) => {
  const m = machine(t);
  const ctx = context(m, { dryRun: true });
  const { screen, error } = await runWithTestRenderer(upTasks(), ctx);
  t.is(error, undefined, screen.join('\n'));
  t.deepEqual(changes(m), { docker: [], minikube: [], kube: [], firewall: [] });
  t.deepEqual(await stateFiles(m), {}, 'no state directory');
  t.deepEqual(m.fakes.kube.calls, [], 'no cluster yet: nothing asked of it');
  const skip = (title: string) => {
    const line = screen.find((l) => l.trimStart().startsWith(`↓ ${title} [`));
    t.truthy(line, title);
    return line!.slice(line!.indexOf('[') + 1, -1);
  };
  t.is(
    skip('Registry container'),
    'dry run: docker pull registry:2.7.1 && create container registry (image registry:2.7.1, published on 127.0.0.1:5000, volume bootstrap-registry-data:/var/lib/registry, restart always; compose/registry.yaml through the Docker API) && docker start registry',
  );
  t.is(
    skip('Trusted image'),
    'dry run (the registry not read (container registry does not run as wanted yet): planned as if it did not hold nginx:1.21.1): docker pull nginx:1.21.1 && docker tag nginx:1.21.1 localhost:5000/nginx:1.21.1 && docker push localhost:5000/nginx:1.21.1',
  );
  t.is(skip('Cluster'), `dry run: ${START}`);
  t.regex(
    skip('Certificates'),
    new RegExp(
      `^dry run: write a CA \\(CN=admission_ca, until \\S+\\) as ca.key and ca.crt; a server certificate \\(CN=opa.opa.svc, SANs opa.opa.svc, opa.opa.svc.cluster, opa.opa.svc.cluster.local, until \\S+\\) signed by the CA, as tls.key and tls.crt; a new kube-mgmt token as kube-mgmt.token in ${m.state.dir} \\(keys and token 0600\\): no CA yet$`,
    ),
  );
  t.regex(
    skip('Registry reachable from the node'),
    /^dry run: docker network connect trusted-registry registry && docker exec trusted-registry sh -c '/,
  );
  const cold =
    "dry run (the cluster not read (minikube profile trusted-registry is to be created first): planned as if it held none of bootstrap's objects): ";
  t.true(
    skip('Namespace opa and secrets').startsWith(
      `${cold}server-side apply (field manager bootstrap) — create Namespace opa, Namespace kube-system, Secret opa/opa-server, Secret opa/opa-authz:\napiVersion: v1\nkind: Namespace\n`,
    ),
  );
  t.true(
    skip('Registry hosting for tools (kube-public/local-registry-hosting)').startsWith(
      `${cold}server-side apply (field manager bootstrap) — create ConfigMap kube-public/local-registry-hosting:\n`,
    ),
  );
  t.true(skip('OPA and kube-mgmt').includes('kind: Deployment'));
  t.true(skip('Admission webhook').includes('caBundle: '));
  t.false(screen.join('\n').includes('PRIVATE KEY'));
});

test.serial('an up that stops at minikube start leaves the registry closed all the same (its rules come as soon as it runs)', async (t) => {
  const m = machine(t);
  // As for real, minikube start takes longer than making the registry (here 1.5 s against a few fake calls; serial, so that the other tests do not hold the event loop meanwhile).
  m.fakes.cmd.on(['minikube', 'start'], { exitCode: 80, stderr: 'X Exiting due to GUEST_PROVISION', afterMs: 1500 });
  const { error, screen } = await runWithTestRenderer(upTasks(), context(m));
  t.regex(String(error), /GUEST_PROVISION/, screen.join('\n'));
  t.deepEqual(changes(m).firewall, ['addGuard registry 127.0.0.1:5000 !lo', 'addGuard registry 172.17.0.2 !docker0']);
});
