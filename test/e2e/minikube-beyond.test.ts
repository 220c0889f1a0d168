// Beyond the anchors, on real minikube: the extended matrix (invalid references, workloads) through the real
// admission path, `audit` decided by the running OPA, `watch` turning a save into changed decisions, and `verify`
// saying in one line that there is nothing to verify once the environment is down.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
const REGISTRY_HOST = 'host.minikube.internal:5000';
let stateHome: string;

const runEnv = () => ({ ...env, XDG_STATE_HOME: stateHome, CI: 'true' });
async function bootstrap(...args: string[]) {
  const result = await execa('npx', ['bootstrap', ...args], { cwd: repo, reject: false, all: true, env: runEnv() });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '', stdout: result.stdout };
}

const kc = new k8s.KubeConfig();
const core = () => {
  kc.loadFromFile(env.KUBECONFIG);
  kc.setCurrentContext('trusted-registry');
  return kc.makeApiClient(k8s.CoreV1Api);
};

test.before(async () => {
  stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-beyond-e2e-'));
  const up = await bootstrap('up');
  if (up.exitCode !== 0) throw new Error(`bootstrap up failed:\n${up.output}`);
});

test.after.always(async () => {
  await bootstrap('down');
  await rm(stateHome, { recursive: true, force: true });
});

test.serial('verify --suite extended on a real node: every case as expected, workloads and invalid references among them', async (t) => {
  const run = await bootstrap('verify', '--suite', 'extended', '--json');
  t.is(run.exitCode, 0, run.output);
  const report = JSON.parse(run.stdout) as { passed: number; failed: number; checks: { name: string; actual: string }[] };
  t.is(report.failed, 0);
  t.true(report.passed >= 48, `only ${report.passed} checks`);
  t.true(report.checks.some((c) => /^create: Deployment /.test(c.name) && c.actual.startsWith('denied: ')));
  t.true(report.checks.some((c) => /is not a valid image reference/.test(c.actual)));
});

test.serial('audit: a pod made while its namespace was exempt is listed by the running OPA once it is not', async (t) => {
  const api = core();
  const ns = `e2e-audit-${Date.now().toString(36)}`;
  const ignore = 'openpolicyagent.org/webhook';
  await api.createNamespace({ body: { metadata: { name: ns, labels: { [ignore]: 'ignore' } } } });
  t.teardown(() => api.deleteNamespace({ name: ns }).catch(() => undefined));
  await api.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name: 'old-bad' }, spec: { containers: [{ name: 'c', image: 'nginx:1.21.1' }] } },
  });
  const exempt = await bootstrap('audit', '--json');
  t.true(
    (JSON.parse(exempt.stdout) as { exempt: { name: string }[] }).exempt.some((o) => o.name === 'old-bad'),
    exempt.output,
  );

  await api.patchNamespace(
    { name: ns, body: { metadata: { labels: { [ignore]: null } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  const audit = await bootstrap('audit');
  t.is(audit.exitCode, 1, audit.output);
  t.regex(audit.stdout, new RegExp(`${ns} +Pod/old-bad +c +nginx:1\\.21\\.1 +comes from untrusted registry`));
});

test.serial('watch: a save changes what the real cluster admits, and only the changes are printed; Ctrl-C exits 0', async (t) => {
  t.timeout(240_000);
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-watch-minikube-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.is((await bootstrap('init-policy', path.join(dir, 'policy'))).exitCode, 0);
  const file = path.join(dir, 'policy', 'image-policy.rego');
  const shipped = await readFile(file, 'utf8');
  const child = execa(process.execPath, [path.join(repo, 'bin/bootstrap.js'), 'watch', '--policy-file', file], {
    cwd: repo,
    reject: false,
    all: true,
    env: runEnv(),
  });
  let output = '';
  child.all!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const printed = (pattern: RegExp, from: number) =>
    until(`watch to print ${pattern}`, async () => pattern.test(output.slice(from)), 120_000);
  try {
    await printed(/watching .*image-policy\.rego/, 0);
    // The shipped policy judged twice, seconds apart: a change here is a false one.
    t.regex(output, /image-policy\.rego as it is now: no decision changed/);
    const mark = output.length;
    await writeFile(file, shipped.replace('lower(ref.tag) == "latest"', 'lower(ref.tag) == "no-such-tag"'));
    await printed(/save 1: \d+ decisions? changed/, mark);
    t.regex(
      output.slice(mark),
      /create: article-bad-tag +denied: Image 'host\.minikube\.internal:5000\/nginx:latest' used latest image +admitted/,
    );
    const admitted = await core()
      .createNamespacedPod({
        namespace: 'default',
        body: { metadata: { generateName: 'e2e-' }, spec: { containers: [{ name: 'c', image: `${REGISTRY_HOST}/nginx:latest` }] } },
        dryRun: 'All',
      })
      .then(
        () => true,
        () => false,
      );
    t.true(admitted, 'the cluster really answers with the saved policy');
    child.kill('SIGINT');
    t.is((await child).exitCode, 0, output);
    t.notRegex(output, /being deleted|already exists/, 'no row is about a base object of an earlier run');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    t.is((await bootstrap('up')).exitCode, 0, 'up puts the shipped policy back');
  }
});

test.serial('after down, verify says in one line that there is nothing to verify, with the fix', async (t) => {
  t.is((await bootstrap('down', '--keep-cluster')).exitCode, 0);
  const verify = await bootstrap('verify', '--suite', 'extended');
  t.is(verify.exitCode, 1, verify.output);
  t.regex(verify.output, /✖ Nothing to verify: .*\n +→ Run `bootstrap up`/);
  t.notRegex(verify.output, /FAIL/);
});
