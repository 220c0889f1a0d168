// End to end on real minikube, none driver (scripts/testbed/minikube-up --driver none): the real CLI against a real
// cluster whose node is this machine (minikube's kubelet, this machine's containerd, runc and CNI), the real admission
// path (kube-apiserver → webhook Service → OPA over TLS with our certificates → the policy the kube-mgmt stand-in loaded
// from our ConfigMaps), the real Docker engine and registry. Faults are injected in place: OPA killed by its pid, the
// webhook removed, the registry container killed, the state directory deleted, Ctrl-C in each step. The none driver
// serves that best: pod IPs are routed on this machine and the containers' processes are its own.
// The profile is made once by the product's main path (`up --driver none`); the tests then use it as an existing
// cluster (`--cluster existing`), so that `down` between tests removes our objects and not the cluster.
// Each test leaves the environment converged for the next. Skipped, saying why, when minikube-up ran for another driver.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import Docker from 'dockerode';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { minikubeCliEnv, readMinikubeEnv, upOnNoneDriver } from '../helpers/minikube-env.js';
import { until } from '../helpers/poll.js';
import { startWatch } from '../helpers/watch-process.js';
import { deployment, refusal, WEBHOOK_DENIAL, workloadScenario } from '../helpers/workload-scenario.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const env = readMinikubeEnv();
const onNone = env.TESTBED_MINIKUBE_DRIVER === 'none';
if (!onNone) console.log(`test/e2e/none-faults.test.ts: skipped (minikube-up ran with --driver ${env.TESTBED_MINIKUBE_DRIVER})`);
const serial = onNone ? test.serial : test.serial.skip;
/** The none driver's profile and kubeconfig context (minikube names both `minikube` there). */
const CONTEXT = 'minikube';
/** What minikube's none driver maps to this machine, and what `up --driver none` passed as --insecure-registry. */
const registryHost = 'host.minikube.internal:5000';
/** The state directory `--cluster existing` keeps for this context. */
const stateDir = () => path.join(stateHome, 'opa-trusted-registry-bootstrap', `context-${CONTEXT}`);
let stateHome: string;

// The kubeconfig exists once the profile does (the before hook): the clients are made there.
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let admission: k8s.AdmissionregistrationV1Api;
const docker = new Docker();

const CRI = ['--runtime-endpoint', 'unix:///run/containerd/containerd.sock'];

interface Run {
  exitCode: number;
  output: string;
  stdout: string;
  ms: number;
}

/** The CLI as a user runs it, in CI mode (plain renderer), in the environment minikube.env gives. */
async function bootstrap(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const start = Date.now();
  const result = await execa(process.execPath, [path.join(repo, 'bin/bootstrap.js'), ...args], {
    cwd: repo,
    reject: false,
    all: true,
    env: { ...minikubeCliEnv(env, stateHome), ...extraEnv },
  });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '', stdout: result.stdout, ms: Date.now() - start };
}

const existing = ['--cluster', 'existing', '--registry-host', registryHost];
const up = (...args: string[]) => bootstrap(['up', ...existing, ...args]);
const verifyJson = async (...args: string[]) => {
  const run = await bootstrap(['verify', ...existing, '--json', ...args]);
  return {
    run,
    report: JSON.parse(run.stdout) as { passed: number; failed: number; checks: { name: string; actual: string; passed: boolean }[] },
  };
};

const pod = (namespace: string, image: string): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'e2e-probe', namespace },
  spec: { containers: [{ name: 'c', image }] },
});

/** A server-side dry-run pod creation: undefined when admitted, else the API server's message. */
async function dryRunPod(namespace: string, image: string): Promise<string | undefined> {
  try {
    await core.createNamespacedPod({ namespace, body: pod(namespace, image), dryRun: 'All' });
    return undefined;
  } catch (error) {
    const body = (error as { body?: string }).body;
    return (body && (JSON.parse(body) as { message?: string }).message) || String(error);
  }
}

/** How many packet-filter rules up made for the registry container (bootstrap-registry-guard:registry). */
async function guardRules(): Promise<number> {
  const { stdout } = await execa('iptables', ['-t', 'raw', '-S', 'PREROUTING']);
  return stdout.split('\n').filter((l) => /bootstrap-registry-guard:registry"?( |$)/.test(l)).length;
}

async function webhookExists(): Promise<boolean> {
  try {
    await admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
    return true;
  } catch {
    return false;
  }
}

const namespaceGone = () =>
  until(
    'namespace opa gone',
    async () =>
      core.readNamespace({ name: 'opa' }).then(
        () => false,
        () => true,
      ),
    120_000,
  );

test.before(async () => {
  stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-none-faults-'));
  if (!onNone) return;
  kc = await upOnNoneDriver(env, stateHome);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
});

test.after.always(async () => {
  // Never leave a webhook behind for the next test file; the profile goes with scripts/testbed/minikube-down.
  if (onNone) await bootstrap(['down', ...existing]);
  await rm(stateHome, { recursive: true, force: true });
});

serial('cold up: the article end to end, with its three results and messages', async (t) => {
  await bootstrap(['down', ...existing, '--purge']);
  await namespaceGone();
  const run = await up();
  t.is(run.exitCode, 0, run.output);
  t.regex(run.output, /PASS {2}untrusted registry \(pod-bad-repo\.yaml\) +denied: Image 'nginx:1\.21\.1' comes from untrusted registry/);
  t.true(run.output.includes(`denied: Image '${registryHost}/nginx:latest' used latest image`));
  t.regex(run.output, /PASS {2}trusted and pinned \(pod-ok\.yaml\) +admitted/);
  t.log(`cold up: ${run.ms} ms`);
  // This engine is older than Docker 28 and the tests run as root: 127.0.0.1 at the registry's port and its address
  // on the default bridge are closed to routed traffic from other hosts.
  t.regex(run.output, /Registry closed to other hosts: .*127\.0\.0\.1:5000 unless via lo, 172\.\d+\.\d+\.\d+ unless via docker0/);
  t.is(await guardRules(), 2);

  // The same decisions as a user sees them from the API server.
  t.is(
    await dryRunPod('default', 'nginx:1.21.1'),
    `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image 'nginx:1.21.1' comes from untrusted registry`,
  );
  t.is(
    await dryRunPod('default', `${registryHost}/nginx:latest`),
    `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image '${registryHost}/nginx:latest' used latest image`,
  );
  t.is(await dryRunPod('default', `${registryHost}/nginx:1.21.1`), undefined);

  // KEP-1755: tools (Tilt, Skaffold) find the registry where kind, ctlptl and k3d publish theirs.
  const hosting = await core.readNamespacedConfigMap({ namespace: 'kube-public', name: 'local-registry-hosting' });
  t.is(hosting.metadata?.labels?.['app.kubernetes.io/managed-by'], 'bootstrap');
  const advertised = parseYaml(hosting.data!['localRegistryHosting.v1']!) as Record<string, string>;
  t.is(advertised.host, 'localhost:5000');
  t.is(advertised.hostFromContainerRuntime, registryHost);
  t.regex(advertised.help ?? '', /^https:\/\//);

  const status = await bootstrap(['status', ...existing, '--json']);
  t.is(status.exitCode, 0, status.output);
  t.true((JSON.parse(status.stdout) as { ok: boolean }).ok);
  t.regex(status.stdout, /"component": "registry hosting",\s+"ok": true/);
  const doctor = await bootstrap(['doctor', ...existing]);
  t.is(doctor.exitCode, 0, doctor.output);
  // The checks run side by side and report as they finish, in any order.
  t.regex(doctor.output, /Docker engine: Docker \d+/);
  t.regex(doctor.output, /Cluster: context minikube, Kubernetes v1\.\d+/);
});

serial('verify --json reports 3/3; up again changes nothing', async (t) => {
  const { run, report } = await verifyJson();
  t.is(run.exitCode, 0, run.output);
  t.is(report.passed, 3);
  t.is(report.failed, 0);

  const versions = async () => {
    const [deployment, secret, policy, webhook] = await Promise.all([
      apps.readNamespacedDeployment({ namespace: 'opa', name: 'opa' }),
      core.readNamespacedSecret({ namespace: 'opa', name: 'opa-server' }),
      core.readNamespacedConfigMap({ namespace: 'opa', name: 'image-policy' }),
      admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' }),
    ]);
    return [deployment, secret, policy, webhook].map((o) => o.metadata?.resourceVersion);
  };
  const before = await versions();
  const again = await up();
  t.is(again.exitCode, 0, again.output);
  t.deepEqual(await versions(), before, 'a converged up must not write anything');
  t.regex(again.output, /Registry container: already running/);
  t.regex(again.output, /Trusted image: nginx:1\.21\.1 already in the registry/);
  t.regex(again.output, /Certificates: reused/);
  t.log(`converged up: ${again.ms} ms`);
});

serial('verify --suite extended: no bypass is admitted (create, update, ephemeral containers)', async (t) => {
  const { run, report } = await verifyJson('--suite', 'extended');
  t.is(run.exitCode, 0, run.output);
  t.is(report.failed, 0);
  t.true(report.passed >= 25, `only ${report.passed} checks ran`);
  t.true(report.checks.some((c) => c.name.startsWith('ephemeral:') && c.actual.startsWith('denied')));
  t.true(report.checks.some((c) => c.name.startsWith('update:') && c.actual.startsWith('denied')));
});

serial(
  'workloads: a bad Deployment is refused at apply with the policy’s words; a good one, its ReplicaSet and pod are admitted',
  async (t) => {
    await workloadScenario(t, kc, { namespace: 'default', registryHost });
    const { report } = await verifyJson('--suite', 'extended');
    const workloadRows = report.checks.filter((c) =>
      /^(create|update): (Deployment|ReplicaSet|StatefulSet|DaemonSet|Job|ReplicationController|CronJob) /.test(c.name),
    );
    t.true(workloadRows.length >= 17, `only ${workloadRows.length} workload rows`);
    t.deepEqual(
      workloadRows.filter((c) => !c.passed).map((c) => c.name),
      [],
    );
    for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController', 'CronJob']) {
      t.true(
        workloadRows.some((c) => c.name.startsWith(`create: ${kind} `) && c.actual.startsWith('denied: ')),
        `no ${kind} denied`,
      );
    }
  },
);

serial(
  'audit: pods and workloads made before the policy applied are listed, by the running OPA; exempt ones apart; --require-digest shows more',
  async (t) => {
    const ns = `e2e-audit-${Date.now().toString(36)}`;
    const ignore = 'openpolicyagent.org/webhook';
    await core.createNamespace({ body: { metadata: { name: ns, labels: { [ignore]: 'ignore' } } } });
    t.teardown(() => core.deleteNamespace({ name: ns }).catch(() => undefined));
    // Made while the namespace was exempt, as objects made before `up` are.
    await core.createNamespacedPod({ namespace: ns, body: { ...pod(ns, 'nginx:1.21.1'), metadata: { name: 'old-bad', namespace: ns } } });
    await core.createNamespacedPod({
      namespace: ns,
      body: { ...pod(ns, `${registryHost}/nginx:1.21.1`), metadata: { name: 'old-good', namespace: ns } },
    });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('old-web', ns, `${registryHost}/nginx`, 0) });

    const exempt = await bootstrap(['audit', ...existing, '--json']);
    const parse = (run: { stdout: string }) =>
      JSON.parse(run.stdout) as {
        checked: number;
        violations: { namespace: string; kind: string; name: string; container: string; image: string; reason: string }[];
        exempt: { namespace: string; kind: string; name: string }[];
        exemptNamespaces: string[];
      };
    const before = parse(exempt);
    t.true(before.exemptNamespaces.includes(ns) && before.exemptNamespaces.includes('opa'));
    t.false(
      before.violations.some((v) => v.namespace === ns),
      'an exempt namespace is not a violation',
    );
    t.true(
      before.exempt.some((v) => v.namespace === ns && v.name === 'old-bad'),
      'but it is listed, as exempt',
    );
    t.true(
      before.exempt.some((v) => v.namespace === 'opa' && v.kind === 'Deployment' && v.name === 'opa'),
      'OPA’s own images are untrusted, and exempt',
    );

    await core.patchNamespace(
      { name: ns, body: { metadata: { labels: { [ignore]: null } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const table = await bootstrap(['audit', ...existing]);
    t.is(table.exitCode, 1, table.output);
    const row = (cells: string[]) => new RegExp(cells.map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join(' +'));
    t.regex(table.stdout, /^NAMESPACE +KIND\/NAME +CONTAINER +IMAGE +REASON$/m);
    t.regex(table.stdout, row([ns, 'Pod/old-bad', 'c', 'nginx:1.21.1', 'comes from untrusted registry']));
    t.regex(table.stdout, row([ns, 'Deployment/old-web', 'web', `${registryHost}/nginx`, 'used latest image']));
    t.notRegex(table.stdout, /Pod\/old-good/);
    t.regex(table.stdout, /Exempt \(namespaces labelled openpolicyagent\.org\/webhook=ignore/);
    t.regex(table.output, /✖ \d+ container images? in existing pods and workloads would be denied/);
    const now = parse(await bootstrap(['audit', ...existing, '--json']));
    // The Deployment, the ReplicaSet it made (also from before), and the pod; not the good pod.
    t.deepEqual(
      now.violations.filter((v) => v.namespace === ns).map((v) => `${v.kind}/${v.name.replace(/-[a-z0-9]{8,10}$/, '-<hash>')} ${v.reason}`),
      ['Deployment/old-web used latest image', 'Pod/old-bad comes from untrusted registry', 'ReplicaSet/old-web-<hash> used latest image'],
    );

    // A stricter setting, installed by up: the running OPA now also refuses the pinned-by-tag pod.
    const strictUp = await up('--require-digest');
    t.is(strictUp.exitCode, 0, strictUp.output);
    const strict = parse(await bootstrap(['audit', ...existing, '--json']));
    t.true(
      strict.violations.some((v) => v.namespace === ns && v.name === 'old-good' && v.reason === 'is not pinned by digest'),
      JSON.stringify(strict.violations.filter((v) => v.namespace === ns)),
    );
    t.is((await up()).exitCode, 0);
    const back = parse(await bootstrap(['audit', ...existing, '--json']));
    t.false(back.violations.some((v) => v.name === 'old-good'));
  },
);

serial(
  'watch: a save changes the cluster’s answers and only the changes are printed; a broken save shows file:line:column and applies nothing; Ctrl-C exits 0',
  async (t) => {
    t.timeout(240_000);
    const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-watch-e2e-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const init = await bootstrap(['init-policy', path.join(dir, 'policy')]);
    t.is(init.exitCode, 0, init.output);
    const file = path.join(dir, 'policy', 'image-policy.rego');
    const shipped = await readFile(file, 'utf8');
    const watch = startWatch([...existing, '--policy-file', file], minikubeCliEnv(env, stateHome));
    const { child } = watch;
    const waitForText = (pattern: RegExp, from: number) => watch.waitFor(pattern, from);
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    try {
      await waitForText(/watching .*image-policy\.rego/, 0);
      t.regex(watch.output, /installed policy: \d+ decisions: \d+ admitted, \d+ denied/);
      // The shipped policy judged twice, seconds apart: a change here is a false one (a base object of the first run
      // still in the way of the second).
      t.regex(watch.output, /image-policy\.rego as it is now: no decision changed/);

      // 1. Loosen the latest rule: explicit ":latest" is no longer denied for it.
      const loose = shipped.replace('lower(ref.tag) == "latest"', 'lower(ref.tag) == "no-such-tag"');
      t.not(loose, shipped);
      let mark = watch.output.length;
      let saved = performance.now();
      await writeFile(file, loose);
      await waitForText(/save 1: \d+ decisions? changed/, mark);
      const looseMs = performance.now() - saved;
      const first = watch.output.slice(mark);
      t.regex(
        first,
        new RegExp(
          `create: article-bad-tag +denied: Image '${registryHost.replace(/\./g, '\\.')}/nginx:latest' used latest image +admitted`,
        ),
      );
      t.regex(first, /create: ReplicaSet replicaset-latest +denied: .* +admitted/);
      t.notRegex(first, /article-bad-repo|port-prefix-bypass/, 'unchanged decisions are not printed');
      t.is(await dryRunPod('default', `${registryHost}/nginx:latest`), undefined, 'the cluster really answers with the saved policy');

      // 2. A save that does not compile: OPA's message with file, line and column; nothing applied.
      mark = watch.output.length;
      const broken = loose.replace('lower(ref.tag) == "no-such-tag"', 'lower(ref.tag) == undefined_var');
      await writeFile(file, broken);
      await waitForText(/save 2: .* does not compile; nothing was applied/, mark);
      const line = broken.split('\n').findIndex((l) => l.includes('undefined_var')) + 1;
      t.regex(watch.output.slice(mark), new RegExp(`image-policy\\.rego:${line}:\\d+: rego_unsafe_var_error: var undefined_var is unsafe`));
      t.is(await dryRunPod('default', `${registryHost}/nginx:latest`), undefined, 'the last good save stays in force');

      // 3. Back to the shipped policy: the same decisions flip back.
      mark = watch.output.length;
      saved = performance.now();
      await writeFile(file, shipped);
      await waitForText(/save 3: \d+ decisions? changed/, mark);
      const backMs = performance.now() - saved;
      t.regex(watch.output.slice(mark), /create: article-bad-tag +admitted +denied: Image .* used latest image/);
      t.regex((await dryRunPod('default', `${registryHost}/nginx:latest`)) ?? 'admitted', /used latest image/);
      t.log(`save → changed decisions printed: ${Math.round(looseMs)} ms, ${Math.round(backMs)} ms (goal < 3 s)`);

      child.kill('SIGINT');
      const done = await child;
      t.is(done.exitCode, 0, watch.output);
      t.regex(watch.output, /stopped watching .* after 3 saves/);
      t.notRegex(watch.output, /being deleted|already exists/, 'no row is about a base object of an earlier run');
    } finally {
      // Whatever happened, the shipped policy goes back (up converges it).
      if (child.exitCode === null) child.kill('SIGKILL');
      await up();
    }
  },
);

/** POSTs to the OPA pod over TLS, trusting only our CA and checking the name opa.opa.svc, as kube-apiserver does. */
async function opaRequest(method: string, urlPath: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const [opaPod] = (await core.listNamespacedPod({ namespace: 'opa', labelSelector: 'app=opa' })).items.filter(
    (p) => p.status?.podIP && !p.metadata?.deletionTimestamp,
  );
  const ca = await readFile(path.join(stateDir(), 'ca.crt'));
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: opaPod!.status!.podIP,
        port: 8443,
        method,
        path: urlPath,
        ca,
        servername: 'opa.opa.svc',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        timeout: 5000,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const review = (uid: string, image: string) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    namespace: 'default',
    object: pod('default', image),
  },
});

serial('OPA alone, over TLS with our certificates: AdmissionReview v1 answers with uid, allowed and the message', async (t) => {
  const cases: [string, boolean, string | undefined][] = [
    ['nginx:1.21.1', false, "Image 'nginx:1.21.1' comes from untrusted registry"],
    [`${registryHost}/nginx:latest`, false, `Image '${registryHost}/nginx:latest' used latest image`],
    [`${registryHost}/nginx:1.21.1`, true, undefined],
  ];
  for (const [index, [image, allowed, message]] of cases.entries()) {
    const uid = `e2e-${index}-${Date.now()}`;
    const { status, json } = await opaRequest('POST', '/', review(uid, image));
    t.is(status, 200);
    t.is(json.apiVersion, 'admission.k8s.io/v1');
    t.is(json.response.uid, uid);
    t.is(json.response.allowed, allowed, image);
    t.is(json.response.status?.message, message);
  }
});

serial("OPA's API is locked: anonymous clients cannot read or replace policies; kube-mgmt's token can", async (t) => {
  t.is((await opaRequest('GET', '/v1/policies')).status, 401);
  t.is((await opaRequest('PUT', '/v1/policies/evil', undefined)).status, 401);
  t.is((await opaRequest('GET', '/v1/data/kubernetes/validating/images')).status, 401);
  const secret = await core.readNamespacedSecret({ namespace: 'opa', name: 'opa-authz' });
  const token = Buffer.from(secret.data!.token!, 'base64').toString();
  const listed = await opaRequest('GET', '/v1/policies', undefined, token);
  t.is(listed.status, 200);
  t.true(
    (listed.json.result as { id: string }[]).some((p) => p.id === 'opa/image-policy/image-policy.rego'),
    'kube-mgmt loaded the policy under its id',
  );
  t.is((await opaRequest('GET', '/health')).status, 200, 'probes stay open');
});

serial('private keys and the token never appear in output: up, dry run, verify --json, status --json', async (t) => {
  const dir = stateDir();
  const secrets = [
    await readFile(path.join(dir, 'tls.key'), 'utf8'),
    await readFile(path.join(dir, 'ca.key'), 'utf8'),
    (await readFile(path.join(dir, 'kube-mgmt.token'), 'utf8')).trim(),
  ];
  const keyBody = (pem: string) =>
    pem
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'))
      .slice(0, 2)
      .join('');
  const outputs = [
    await up(),
    await up('--dry-run'),
    await bootstrap(['verify', ...existing, '--json']),
    await bootstrap(['status', ...existing, '--json']),
  ];
  for (const run of outputs) {
    t.false(run.output.includes('PRIVATE KEY'));
    for (const secret of secrets) t.false(run.output.includes(secret.includes('PRIVATE') ? keyBody(secret) : secret));
  }
  for (const file of ['ca.key', 'tls.key', 'kube-mgmt.token']) t.is((await stat(path.join(dir, file))).mode & 0o777, 0o600, file);
});

serial('the webhook really decides: removed, the bad pods are admitted; restored by up, denied again', async (t) => {
  await admission.deleteValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
  await until('webhook gone from the API server cache', async () => (await dryRunPod('default', 'nginx:1.21.1')) === undefined, 10_000);
  t.is(await dryRunPod('default', `${registryHost}/nginx:latest`), undefined);
  // verify says so first, in one line with the fix, instead of a table of "admitted" rows.
  const unregistered = await bootstrap(['verify', ...existing]);
  t.is(unregistered.exitCode, 1, unregistered.output);
  t.regex(
    unregistered.output,
    /✖ Nothing to verify: the admission webhook opa-validating-webhook is not registered\.\n +→ Run `bootstrap up`/,
  );
  t.notRegex(unregistered.output, /FAIL|checks as expected/);
  // A pod made while there was no webhook (as pods made before `up` are).
  const earlier: k8s.V1Pod = { ...pod('default', 'nginx:1.21.1'), metadata: { name: 'e2e-earlier', namespace: 'default' } };
  await core.createNamespacedPod({ namespace: 'default', body: earlier });
  const oldDeploymentMade = await refusal(() =>
    apps.createNamespacedDeployment({ namespace: 'default', body: deployment('e2e-earlier-deploy', 'default', 'nginx:1.21.1', 1) }),
  );
  t.teardown(() => apps.deleteNamespacedDeployment({ namespace: 'default', name: 'e2e-earlier-deploy' }).catch(() => undefined));
  t.teardown(() => core.deleteNamespacedPod({ namespace: 'default', name: 'e2e-earlier', gracePeriodSeconds: 0 }).catch(() => undefined));

  t.is((await up()).exitCode, 0);
  t.regex((await dryRunPod('default', 'nginx:1.21.1')) ?? '', /comes from untrusted registry/);
  // That pod still takes updates that keep its image (labels, finalizers, adoption)...
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  await t.notThrowsAsync(
    core.patchNamespacedPod({ namespace: 'default', name: 'e2e-earlier', body: { metadata: { labels: { touched: 'yes' } } } }, mergePatch),
  );
  // ...but not a new untrusted image.
  const changed = await core
    .patchNamespacedPod(
      { namespace: 'default', name: 'e2e-earlier', dryRun: 'All', body: { spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    )
    .then(
      () => 'admitted',
      (error: { body?: string }) => error.body ?? String(error),
    );
  t.regex(changed, /Image 'busybox:1\.36' comes from untrusted registry/);

  // The same for a workload made while there was no webhook: scaling and relabelling pass, a new image is judged.
  t.is(oldDeploymentMade, undefined, 'the bad Deployment was accepted while there was no webhook');
  const apply = (d: k8s.V1Deployment) =>
    k8s.KubernetesObjectApi.makeApiClient(kc).patch(d, undefined, undefined, 'e2e-kubectl', true, k8s.PatchStrategy.ServerSideApply);
  const scaled = deployment('e2e-earlier-deploy', 'default', 'nginx:1.21.1', 3);
  scaled.metadata!.labels = { ...scaled.metadata!.labels, tier: 'web' };
  t.is(await refusal(() => apply(scaled)), undefined);
  t.is((await apps.readNamespacedDeployment({ namespace: 'default', name: 'e2e-earlier-deploy' })).spec?.replicas, 3);
  t.is(
    await refusal(() => apply(deployment('e2e-earlier-deploy', 'default', 'nginx:1.21.2', 3))),
    `${WEBHOOK_DENIAL}Image 'nginx:1.21.2' comes from untrusted registry`,
  );
});

serial('OPA down: kube-system and opa still admitted, other namespaces fail closed; down still works; up recovers', async (t) => {
  await apps.patchNamespacedDeployment(
    { namespace: 'opa', name: 'opa', body: { spec: { replicas: 0 } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await until(
    'OPA pods gone',
    async () => (await core.listNamespacedPod({ namespace: 'opa', labelSelector: 'app=opa' })).items.length === 0,
  );
  const bad = 'nginx:1.21.1';
  t.is(await dryRunPod('kube-system', bad), undefined, 'kube-system is exempt (namespace selector)');
  t.is(await dryRunPod('opa', bad), undefined, 'opa is exempt (namespace selector)');
  // failurePolicy Fail: with OPA unreachable, even a trusted image is refused elsewhere.
  t.regex(
    (await dryRunPod('default', `${registryHost}/nginx:1.21.1`)) ?? 'admitted',
    /failed calling webhook "validating-webhook\.openpolicyagent\.org"/,
  );
  // verify says so in one line, before sending any case (each would fail only because nothing answers).
  const notReady = await bootstrap(['verify', ...existing, '--suite', 'extended']);
  t.is(notReady.exitCode, 1, notReady.output);
  t.regex(notReady.output, /Nothing to verify: OPA is not ready \(scaled to 0 replicas\)/);
  t.notRegex(notReady.output, /FAIL|PASS|checks as expected/);

  const down = await bootstrap(['down', ...existing, '--keep-registry']);
  t.is(down.exitCode, 0, down.output);
  t.false(await webhookExists());
  await namespaceGone();
  t.is(await dryRunPod('default', bad), undefined, 'no webhook left behind');
  // verify after down: one line and the fix, exit 1, no table (and no pod sent).
  const afterDown = await bootstrap(['verify', ...existing, '--suite', 'extended']);
  t.is(afterDown.exitCode, 1, afterDown.output);
  t.regex(afterDown.output, /Nothing to verify: the admission webhook opa-validating-webhook is not registered\./);
  t.regex(afterDown.output, /→ Run `bootstrap up`/);
  t.notRegex(afterDown.output, /FAIL|PASS|checks as expected|admitted/);
  const afterDownJson = await bootstrap(['verify', ...existing, '--suite', 'extended', '--json']);
  t.is(afterDownJson.exitCode, 1);
  t.is(afterDownJson.stdout, '', 'no report when there is nothing to verify');

  const recovered = await up();
  t.is(recovered.exitCode, 0, recovered.output);
  t.regex(recovered.output, /3\/3 checks as expected/);
});

serial('kube-mgmt loads the policy: a Rego error shows in the status annotation and up reports it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-policy-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const broken = path.join(dir, 'broken.rego');
  await writeFile(broken, 'package kubernetes.validating.images\n\ndeny contains msg if {\n  msg := \n}\n');
  // No opa binary on PATH and no OPA image in Docker: the policy reaches kube-mgmt, whose verdict up must show.
  const pathWithoutOpa = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !existsSync(path.join(dir, 'opa')))
    .join(path.delimiter);
  const run = await bootstrap(['up', ...existing, '--policy-file', broken, '--wait-seconds', '30'], { OPA: '', PATH: pathWithoutOpa });
  t.not(run.exitCode, 0);
  t.regex(run.output, /kube-mgmt could not load ConfigMap opa\/image-policy: .*rego_parse_error/s);
  const cm = await core.readNamespacedConfigMap({ namespace: 'opa', name: 'image-policy' });
  const status = JSON.parse(cm.metadata!.annotations!['openpolicyagent.org/kube-mgmt-status']!) as { status: string; error: unknown };
  t.is(status.status, 'error');
  t.regex(JSON.stringify(status.error), /rego_parse_error/);

  const fixed = await up();
  t.is(fixed.exitCode, 0, fixed.output);
  const ok = await core.readNamespacedConfigMap({ namespace: 'opa', name: 'image-policy' });
  t.is(ok.metadata!.annotations!['openpolicyagent.org/kube-mgmt-status'], '{"status":"ok"}');
});

serial('a tampered policy ConfigMap, webhook and Service are repaired by up, atomic fields too', async (t) => {
  // Another manager's edits: failurePolicy, and a namespaceSelector that matches no namespace (atomic: apply replaces
  // it whole, so a comparison of our fields alone would call it unchanged), and a Service selector with a key no pod has.
  await admission.patchValidatingWebhookConfiguration({
    name: 'opa-validating-webhook',
    body: [
      { op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' },
      { op: 'add', path: '/webhooks/0/namespaceSelector/matchLabels', value: { nobody: 'x' } },
    ],
  });
  await core.patchNamespacedService(
    { namespace: 'opa', name: 'opa', body: { spec: { selector: { app: 'opa', tampered: 'yes' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await core.patchNamespacedConfigMap(
    {
      namespace: 'opa',
      name: 'image-policy',
      body: { data: { 'image-policy.rego': 'package kubernetes.validating.images\n\ndeny := set()\n' } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await until('tampered policy in effect', async () => (await dryRunPod('default', 'nginx:1.21.1')) === undefined, 30_000);
  const run = await up();
  t.is(run.exitCode, 0, run.output);
  t.regex((await dryRunPod('default', 'nginx:1.21.1')) ?? '', /comes from untrusted registry/);
  const webhook = await admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
  t.is(webhook.webhooks![0]!.failurePolicy, 'Fail');
  t.is(webhook.webhooks![0]!.namespaceSelector?.matchLabels, undefined, 'the namespaceSelector is ours again, whole');
  const service = await core.readNamespacedService({ namespace: 'opa', name: 'opa' });
  t.deepEqual(service.spec?.selector, { app: 'opa' });
  // And then nothing is left to do: a second up changes nothing.
  const again = await up('--dry-run');
  t.regex(again.output, /OPA and kube-mgmt: nothing to do/);
  t.regex(again.output, /Admission webhook: nothing to do/);
});

serial(
  'OPA restarted in place: the kubelet restarts kube-mgmt (liveness = OPA ready), which loads the policy again; nothing run by hand',
  async (t) => {
    const [opaPod] = (await core.listNamespacedPod({ namespace: 'opa', labelSelector: 'app=opa' })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
    const container = (pod: k8s.V1Pod, name: string) => pod.status!.containerStatuses!.find((c) => c.name === name)!;
    const started = container(opaPod!, 'opa').state!.running!.startedAt!;
    const kubeMgmtRestarts = container(opaPod!, 'kube-mgmt').restartCount;
    // The node is this machine: the container's process, as containerd reports it, is ours to kill.
    const containerId = container(opaPod!, 'opa').containerID!.replace(/^containerd:\/\//, '');
    const inspected = await execa('crictl', [...CRI, 'inspect', containerId]);
    const pid = (JSON.parse(inspected.stdout) as { info: { pid: number } }).info.pid;
    t.true(pid > 1, inspected.stdout.slice(0, 200));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await until('OPA container restarted', async () => {
      const live = await core.readNamespacedPod({ namespace: 'opa', name: opaPod!.metadata!.name! });
      const startedAt = container(live, 'opa').state?.running?.startedAt;
      return startedAt && new Date(startedAt).getTime() > new Date(started).getTime();
    });
    // kube-mgmt does not resync by itself (kube-mgmt issue 189); its liveness probe (OPA's readiness) has it restarted.
    const untrusted = `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image 'nginx:1.21.1' comes from untrusted registry`;
    await until(
      'the policy decides again',
      async () =>
        (await dryRunPod('default', 'nginx:1.21.1')) === untrusted &&
        (await dryRunPod('default', `${registryHost}/nginx:1.21.1`)) === undefined,
      30_000,
    );
    const healedMs = Date.now() - killedAt;
    t.log(`policy back ${healedMs} ms after OPA was killed`);
    t.true(healedMs <= 30_000, `${healedMs} ms`);
    const live = await core.readNamespacedPod({ namespace: 'opa', name: opaPod!.metadata!.name! });
    t.true(container(live, 'kube-mgmt').restartCount > kubeMgmtRestarts, 'the kubelet restarted kube-mgmt');
    t.true(container(live, 'opa').ready === true);
    const status = await bootstrap(['status', ...existing, '--json']);
    t.is(status.exitCode, 0, status.output);
    t.notRegex(status.stdout, /stale/);
    const { run, report } = await verifyJson();
    t.is(run.exitCode, 0, run.output);
    t.is(report.failed, 0);
  },
);

serial('--trust and --require-digest reach the policy through kube-mgmt; up without them takes them back', async (t) => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
  const strict = await up('--trust', 'quay.io', '--require-digest');
  t.is(strict.exitCode, 0, strict.output);
  t.regex(strict.output, /PASS {2}trusted and pinned by digest \(pod-ok\.yaml@sha256\) +admitted/);
  t.regex(strict.output, /4\/4 checks as expected/);
  t.is(await dryRunPod('default', `quay.io/org/app@${digest}`), undefined, 'an extra trusted registry, pinned');
  t.regex(
    (await dryRunPod('default', 'quay.io/org/app:1.0')) ?? 'admitted',
    /denied the request: Image 'quay\.io\/org\/app:1\.0' is not pinned by digest$/,
  );

  const relaxed = await up();
  t.is(relaxed.exitCode, 0, relaxed.output);
  t.regex((await dryRunPod('default', `quay.io/org/app@${digest}`)) ?? 'admitted', /comes from untrusted registry/);
  t.is(await dryRunPod('default', `${registryHost}/nginx:1.21.1`), undefined);
});

serial('state directory deleted: certificates renewed, and Secret, webhook CA bundle and OPA follow', async (t) => {
  const before = await core.readNamespacedSecret({ namespace: 'opa', name: 'opa-server' });
  await rm(path.join(stateHome, 'opa-trusted-registry-bootstrap'), { recursive: true, force: true });
  const run = await up();
  t.is(run.exitCode, 0, run.output);
  t.regex(run.output, /Certificates: created/);
  const after = await core.readNamespacedSecret({ namespace: 'opa', name: 'opa-server' });
  t.not(after.data!['tls.crt'], before.data!['tls.crt']);
  const ca = await readFile(path.join(stateDir(), 'ca.crt'));
  const webhook = await admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
  t.is(webhook.webhooks![0]!.clientConfig.caBundle, ca.toString('base64'));
  t.regex(run.output, /3\/3 checks as expected/, 'OPA serves the new certificate: the webhook calls succeed');
  // That rollout replaced OPA's pod. Once up has returned, no call may meet the old pod (refused, or its old
  // certificate): every answer for the next 5 s is the webhook's own denial.
  const untrusted = `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image 'nginx:1.21.1' comes from untrusted registry`;
  const answers = new Set<string>();
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 100)))
    answers.add((await dryRunPod('default', 'nginx:1.21.1')) ?? 'admitted');
  t.deepEqual([...answers], [untrusted]);
  // After that rollout, verify's and audit's own check of the environment agrees that it is up.
  const verified = await bootstrap(['verify', ...existing]);
  t.is(verified.exitCode, 0, verified.output);
  t.notRegex((await bootstrap(['audit', ...existing])).output, /Nothing to audit/);
});

serial('registry container killed, then removed: up restores it and the pushed image survived in the volume', async (t) => {
  await docker.getContainer('registry').kill();
  const restarted = await up();
  t.is(restarted.exitCode, 0, restarted.output);
  t.regex(restarted.output, /Registry container: (started|already running)/);
  await docker.getContainer('registry').remove({ force: true });
  const run = await up();
  t.is(run.exitCode, 0, run.output);
  t.regex(run.output, /Registry container: created/);
  t.regex(run.output, /Trusted image: nginx:1\.21\.1 already in the registry/);
});

/** The steps of `up`, as the plain renderer announces them ("❯ title"), in the order a cold run reaches them. */
const UP_STEPS = [
  'Registry container',
  'Certificates',
  'Trusted image',
  'Namespace opa and secrets',
  'OPA and kube-mgmt',
  'Admission webhook',
  "The article's three pods",
];

/** Starts `up` and sends Ctrl-C (SIGINT) the moment it starts `step`; says whether it got there and was cut short. */
async function interruptAt(step: string): Promise<{ reached: boolean; interrupted: boolean; output: string }> {
  const child = execa(process.execPath, [path.join(repo, 'bin/bootstrap.js'), 'up', ...existing], {
    cwd: repo,
    reject: false,
    all: true,
    env: { ...env, XDG_STATE_HOME: stateHome, CI: 'true' },
  });
  let reached = false;
  let seen = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    if (!reached && seen.split('\n').some((line) => line.startsWith(`❯ ${step}`))) {
      reached = true;
      child.kill('SIGINT');
    }
  });
  const result = await child;
  return { reached, interrupted: result.exitCode === 130, output: result.all ?? '' };
}

serial('Ctrl-C in the middle of each step of up, then up again: converges, no duplicates', async (t) => {
  // From nothing: no registry container, no certificates, nothing in the cluster.
  await bootstrap(['down', ...existing, '--purge']);
  await namespaceGone();
  for (const step of UP_STEPS) {
    const run = await interruptAt(step);
    t.true(run.reached, `up never started "${step}":\n${run.output}`);
    t.true(run.interrupted, `up was not cut short in "${step}":\n${run.output}`);
    t.regex(run.output, /Interrupted\.\n {2}→ Run the command again/);
  }
  // down after a half-finished up removes what there is; up afterwards converges.
  for (const step of ['Namespace opa and secrets', 'OPA and kube-mgmt']) {
    const run = await interruptAt(step);
    t.true(run.reached && run.interrupted, run.output);
    const half = await bootstrap(['down', ...existing, '--keep-registry']);
    t.is(half.exitCode, 0, half.output);
    t.false(await webhookExists());
    await namespaceGone();
  }
  const run = await up();
  t.is(run.exitCode, 0, run.output);
  t.regex(run.output, /3\/3 checks as expected/);
  const containers = await docker.listContainers({ all: true, filters: { name: ['^/registry$'] } });
  t.is(containers.length, 1);
  t.is((await apps.listNamespacedDeployment({ namespace: 'opa' })).items.length, 1);
  t.is(
    (await core.listNamespacedPod({ namespace: 'opa', labelSelector: 'app=opa' })).items.filter((p) => !p.metadata?.deletionTimestamp)
      .length,
    1,
  );
});

serial('bad input fails clearly and changes nothing', async (t) => {
  const snapshot = async () =>
    Promise.all([
      apps.readNamespacedDeployment({ namespace: 'opa', name: 'opa' }),
      core.readNamespacedConfigMap({ namespace: 'opa', name: 'image-policy' }),
      core.readNamespacedSecret({ namespace: 'opa', name: 'opa-server' }),
      admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' }),
    ]).then((objects) => objects.map((o) => o.metadata?.resourceVersion));
  const before = await snapshot();

  // A custom policy with a Rego error: caught by the real OPA before anything is applied.
  const dir0 = await mkdtemp(path.join(tmpdir(), 'bootstrap-policy-'));
  t.teardown(() => rm(dir0, { recursive: true, force: true }));
  await writeFile(path.join(dir0, 'bad.rego'), 'package kubernetes.validating.images\n\ndeny[msg] {\n  msg := "x"\n}\n');
  const badPolicy = await up('--policy-file', path.join(dir0, 'bad.rego'));
  t.is(badPolicy.exitCode, 2);
  t.regex(badPolicy.output, /does not compile:[\s\S]*rego_parse_error[\s\S]*nothing was applied/);

  // A port held by another process.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const held = await up('--registry-port', String(port));
  t.is(held.exitCode, 1);
  t.regex(held.output, new RegExp(`Port ${port} is already in use by another process`));

  // Docker engine down.
  const noDocker = await bootstrap(['up', ...existing], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  t.is(noDocker.exitCode, 1);
  t.regex(noDocker.output, /Cannot reach the Docker engine.*\n.*Start Docker/);

  // An unreachable cluster (nothing listens on that loopback port).
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-kc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const deadConfig = path.join(dir, 'kubeconfig');
  await writeFile(deadConfig, kubeconfig('kind-dead', 'https://127.0.0.1:1'));
  const dead = await bootstrap(['up', ...existing], { KUBECONFIG: deadConfig });
  t.is(dead.exitCode, 1);
  t.regex(dead.output, /Cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1/);

  // A context that does not look local: refused before any connection is made.
  const remoteConfig = path.join(dir, 'remote');
  await writeFile(remoteConfig, kubeconfig('prod-eu', 'https://k8s.prod.example.com:6443'));
  const remote = await bootstrap(['up', ...existing], { KUBECONFIG: remoteConfig });
  t.is(remote.exitCode, 2);
  t.regex(remote.output, /does not look like a local cluster[\s\S]*--yes/);

  // A trusted image that cannot be pulled (a loopback registry that does not exist).
  const unpullable = await up('--trusted-image', '127.0.0.1:1/nothing:1.0');
  t.is(unpullable.exitCode, 1);
  t.regex(unpullable.output, /Cannot pull 127\.0\.0\.1:1\/nothing:1\.0/);

  // An invalid registry host.
  const badHost = await bootstrap(['up', '--cluster', 'existing', '--registry-host', 'http://registry:5000/']);
  t.is(badHost.exitCode, 2);
  t.regex(badHost.output, /Invalid registryHost/);

  // Nothing of the above changed the environment.
  t.deepEqual(await snapshot(), before);
  const { report } = await verifyJson();
  t.is(report.failed, 0);
});

serial('down removes what up created; twice, and on nothing, it still succeeds', async (t) => {
  const first = await bootstrap(['down', ...existing]);
  t.is(first.exitCode, 0, first.output);
  t.false(await webhookExists());
  await namespaceGone();
  t.is((await docker.listContainers({ all: true, filters: { name: ['^/registry$'] } })).length, 0);
  t.is(await guardRules(), 0, 'the packet-filter rule went with the registry');
  const labels = (await core.readNamespace({ name: 'kube-system' })).metadata!.labels!;
  t.is(labels['openpolicyagent.org/webhook'], undefined);
  const status = await bootstrap(['status', ...existing, '--json']);
  t.is(status.exitCode, 1, 'status fails when components are missing');
  const components = (JSON.parse(status.stdout) as { components: { component: string; ok: boolean; state: string }[] }).components;
  t.deepEqual(
    components.filter((c) => !c.ok).map((c) => c.component),
    ['registry', 'trusted image', 'OPA', 'policy', 'webhook', 'registry hosting'],
  );
  const hostingGone = await core.readNamespacedConfigMap({ namespace: 'kube-public', name: 'local-registry-hosting' }).then(
    () => false,
    () => true,
  );
  t.true(hostingGone, 'down removed kube-public/local-registry-hosting');
  // A same-named object bootstrap did not create (say, from the article done by hand) stops up, untouched.
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'opa-viewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'Group', name: 'system:serviceaccounts:opa', apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  t.teardown(() => rbac.deleteClusterRoleBinding({ name: 'opa-viewer' }).catch(() => undefined));
  const refused = await up();
  t.is(refused.exitCode, 1);
  t.regex(refused.output, /ClusterRoleBinding opa-viewer exists, but bootstrap did not create it/);
  t.is((await rbac.readClusterRoleBinding({ name: 'opa-viewer' })).metadata?.labels?.['app.kubernetes.io/managed-by'], undefined);
  t.false(
    await core.readNamespace({ name: 'opa' }).then(
      () => true,
      () => false,
    ),
    'nothing was applied',
  );
  const keptByDown = await bootstrap(['down', ...existing]);
  t.regex(keptByDown.output, /ClusterRoleBinding opa-viewer not ours/);
  t.truthy(await rbac.readClusterRoleBinding({ name: 'opa-viewer' }), 'down leaves it alone');
  await rbac.deleteClusterRoleBinding({ name: 'opa-viewer' });

  // Someone else's local-registry-hosting (kind's registry script writes one): up and down leave it alone and say so.
  const theirs = { 'localRegistryHosting.v1': 'host: "localhost:5001"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n' };
  await core.createNamespacedConfigMap({ namespace: 'kube-public', body: { metadata: { name: 'local-registry-hosting' }, data: theirs } });
  t.teardown(() => core.deleteNamespacedConfigMap({ namespace: 'kube-public', name: 'local-registry-hosting' }).catch(() => undefined));
  const withTheirs = await up();
  t.is(withTheirs.exitCode, 0, withTheirs.output);
  t.regex(withTheirs.output, /note: ConfigMap kube-public\/local-registry-hosting exists, but bootstrap did not create it/);
  const keptHosting = await bootstrap(['down', ...existing]);
  t.regex(keptHosting.output, /ConfigMap kube-public\/local-registry-hosting not ours; kept/);
  const after = await core.readNamespacedConfigMap({ namespace: 'kube-public', name: 'local-registry-hosting' });
  t.deepEqual(after.data, theirs);
  t.is(after.metadata?.labels?.['app.kubernetes.io/managed-by'], undefined);
  await core.deleteNamespacedConfigMap({ namespace: 'kube-public', name: 'local-registry-hosting' });
  await namespaceGone();

  const second = await bootstrap(['down', ...existing, '--purge']);
  t.is(second.exitCode, 0, second.output);
  const third = await bootstrap(['down', ...existing, '--purge']);
  t.is(third.exitCode, 0, third.output);
});

function kubeconfig(name: string, server: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name, user: { token: 'none' } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}
