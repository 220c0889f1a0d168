// The kube-mgmt stand-in (test/testbed/kube-mgmt-standin.ts; kube-mgmt itself cannot be built here, see
// docs/testbed.md) against a real kube-apiserver — minikube's, none driver — and a real OPA, both as processes on this
// machine: what it must do exactly as kube-mgmt 11.0.7 does, since the product's waits rely on it (status and retries
// annotations, Go's error JSON, no resync by itself). The product's use of it in the cluster is shown by
// test/e2e/none-faults.test.ts and the minikube suites. Skipped, saying why, when minikube-up ran for another driver.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { readMinikubeEnv, upOnNoneDriver } from '../helpers/minikube-env.js';
import { until as waitFor } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { httpStatus, mergePatch } from '../testbed/k8s.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const env = readMinikubeEnv();
const onNone = env.TESTBED_MINIKUBE_DRIVER === 'none';
const serial = onNone ? test.serial : test.serial.skip;
if (!onNone) console.log(`test/e2e/none-kube-mgmt-standin.test.ts: skipped (minikube-up ran with --driver ${env.TESTBED_MINIKUBE_DRIVER})`);
const STATUS = 'openpolicyagent.org/kube-mgmt-status';
const RETRIES = 'openpolicyagent.org/kube-mgmt-retries';
const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const children: ChildProcess[] = [];
const namespaces: string[] = [];
let core: CoreV1Api;
let stateHome: string;

// Every namespace is exempt from the product's webhook (opa-validating-webhook), which up registered.
async function createNamespace(name: string) {
  namespaces.push(name);
  await core.createNamespace({
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'openpolicyagent.org/webhook': 'ignore' } } },
  });
}
function policyConfigMap(ns: string, name: string, key: string, rego: string, labelled = true) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: labelled ? { 'openpolicyagent.org/policy': 'rego' } : {} },
    data: { [key]: rego },
  };
}
const annotations = async (ns: string, name: string) =>
  (await core.readNamespacedConfigMap({ name, namespace: ns })).metadata?.annotations ?? {};
const createConfigMap = (ns: string, body: any) => core.createNamespacedConfigMap({ namespace: ns, body });
const patchConfigMap = (ns: string, name: string, body: any) => core.patchNamespacedConfigMap({ name, namespace: ns, body }, mergePatch);
/** The ConfigMap's annotations once `settled` holds for them. */
const annotationsWhen = (what: string, ns: string, name: string, settled: (a: Record<string, string>) => boolean, ms: number) =>
  waitFor(
    what,
    async () => {
      const a = await annotations(ns, name);
      return settled(a) && a;
    },
    ms,
  );
async function startOpa(port: number) {
  const opa = spawn(env.TESTBED_OPA ?? 'opa', ['run', '--server', `--addr=127.0.0.1:${port}`, '--log-level=error'], { stdio: 'ignore' });
  children.push(opa);
  await waitFor('OPA /health', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 15_000);
}
function startStandin(args: string[]) {
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'test/testbed/kube-mgmt-standin.ts'), `--kubeconfig=${env.KUBECONFIG}`, ...args],
    { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(p);
  const out = { stderr: '' };
  p.stderr!.on('data', (d) => (out.stderr += d));
  return out;
}

test.before(async () => {
  stateHome = await mkdtemp(path.join(os.tmpdir(), 'bootstrap-standin-'));
  if (onNone) core = (await upOnNoneDriver(env, stateHome)).makeApiClient(CoreV1Api);
});

test.after.always(async () => {
  for (const c of children) c.kill('SIGTERM');
  for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => {});
  for (const ns of namespaces) {
    await waitFor(
      `namespace ${ns} gone`,
      () =>
        core.readNamespace({ name: ns }).then(
          () => false,
          (e) => httpStatus(e) === 404,
        ),
      90_000,
    ).catch(() => {});
  }
  await rm(stateHome, { recursive: true, force: true });
});

serial('kube-mgmt stand-in: loads labelled ConfigMaps, annotates ok / OPA errors, removes on unlabel and delete, replicates', async (t) => {
  const ns = `standin-${id}`;
  await createNamespace(ns);
  const port = await freePort();
  await startOpa(port);
  const standin = startStandin([
    `--namespaces=${ns}`,
    `--opa-url=http://127.0.0.1:${port}/v1`,
    '--replicate=v1/configmaps',
    '--policies=ignored',
  ]);
  const opaGet = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/${p}`);
    return r.ok ? ((await r.json()) as any).result : undefined;
  };

  await createConfigMap(ns, policyConfigMap(ns, 'good', 'good.rego', 'package good\n\nallow if input.user == "alice"\n'));
  await createConfigMap(ns, policyConfigMap(ns, 'bad', 'bad.rego', 'package bad\n\nallow if {\n'));
  await createConfigMap(ns, policyConfigMap(ns, 'plain', 'x.rego', 'package plain\n', false));

  await waitFor('ok annotation', async () => (await annotations(ns, 'good'))[STATUS] === '{"status":"ok"}', 30_000);
  t.is((await opaGet(`policies/${ns}/good/good.rego`))?.id, `${ns}/good/good.rego`, `stand-in stderr: ${standin.stderr}`);
  t.is(
    (
      (await (
        await fetch(`http://127.0.0.1:${port}/v1/data/good/allow`, { method: 'POST', body: JSON.stringify({ input: { user: 'alice' } }) })
      ).json()) as any
    ).result,
    true,
  );

  // Rego syntax error: OPA's error, re-marshalled like Go's opa.Error, and the retries counted down to "0"
  const badAnn = await annotationsWhen('error annotation settled', ns, 'bad', (a) => a[RETRIES] === '0', 30_000);
  const status = JSON.parse(badAnn[STATUS] ?? '');
  t.deepEqual(Object.keys(status), ['status', 'error']);
  t.is(status.status, 'error');
  t.deepEqual(Object.keys(status.error), ['code', 'message', 'errors']);
  t.is(status.error.code, 'invalid_parameter');
  t.is(status.error.message, 'error(s) occurred while compiling module(s)');
  t.is(status.error.errors[0].code, 'rego_parse_error');
  t.is(status.error.errors[0].location.file, `${ns}/bad/bad.rego`);
  t.is(await opaGet(`policies/${ns}/bad/bad.rego`), undefined);
  t.false(STATUS in (await annotations(ns, 'plain')));

  // --replicate=v1/configmaps → data.kubernetes.configmaps.<ns>.<name>, the apiserver's raw object
  const replicated = await waitFor('replicated ConfigMap', () => opaGet(`data/kubernetes/configmaps/${ns}/plain`), 30_000);
  t.is(replicated.metadata.name, 'plain');
  t.regex(replicated.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // unlabel → policy removed; delete → policy removed
  await patchConfigMap(ns, 'good', { metadata: { labels: { 'openpolicyagent.org/policy': null } } });
  await waitFor('policy removed after unlabel', async () => (await opaGet(`policies/${ns}/good/good.rego`)) === undefined, 15_000);
  await patchConfigMap(ns, 'good', { metadata: { labels: { 'openpolicyagent.org/policy': 'rego' } } });
  await waitFor('policy back after relabel', () => opaGet(`policies/${ns}/good/good.rego`), 15_000);
  await core.deleteNamespacedConfigMap({ name: 'good', namespace: ns });
  await waitFor('policy removed after delete', async () => (await opaGet(`policies/${ns}/good/good.rego`)) === undefined, 15_000);
  await waitFor(
    'replicated data removed after delete',
    async () => (await opaGet(`data/kubernetes/configmaps/${ns}/good`)) === undefined,
    15_000,
  );
  t.pass();
});

serial(
  'kube-mgmt stand-in before OPA: the connection error is recorded, 2 retries, then only a retries-annotation or data/label change loads it',
  async (t) => {
    const ns = `standin-early-${id}`;
    await createNamespace(ns);
    const port = await freePort(); // nothing listens there yet
    const standin = startStandin([`--namespaces=${ns}`, `--opa-url=http://127.0.0.1:${port}/v1`]);
    const policyId = `${ns}/early/early.rego`;
    const attempts = () => standin.stderr.split('\n').filter((l) => l.includes(`Added policy ${policyId}, err=`)).length;
    const loaded = async () => (await fetch(`http://127.0.0.1:${port}/v1/policies/${policyId}`).catch(() => undefined))?.ok ?? false;
    await createConfigMap(ns, policyConfigMap(ns, 'early', 'early.rego', 'package early\n\nallow := true\n'));

    const failed = await annotationsWhen('error annotation settled', ns, 'early', (a) => a[RETRIES] === '0', 30_000);
    // Go's *url.Error as encoding/json writes it (errList with one error is that error's JSON)
    t.is(
      failed[STATUS],
      JSON.stringify({
        status: 'error',
        error: {
          Op: 'Put',
          URL: `http://127.0.0.1:${port}/v1/policies/${policyId}`,
          Err: {
            Op: 'dial',
            Net: 'tcp',
            Source: null,
            Addr: { IP: '127.0.0.1', Port: port, Zone: '' },
            Err: { Syscall: 'connect', Err: 111 },
          },
        },
      }),
    );
    await sleep(1500);
    t.is(attempts(), 3, standin.stderr); // the add, then 2 retries driven by its own annotation patches (2 → 1 → 0)

    await startOpa(port);
    await sleep(1500);
    t.false(await loaded(), 'nothing retries on its own once OPA is up');
    // changing or removing the status annotation (or any other annotation) is not a trigger
    await patchConfigMap(ns, 'early', { metadata: { annotations: { [STATUS]: null, 'example.com/touched': 'yes' } } });
    await sleep(1500);
    t.false(await loaded());
    t.is(attempts(), 3);
    t.false(STATUS in (await annotations(ns, 'early')));
    // removing the retries annotation is: a retries value other than "0" makes the update re-sync
    await patchConfigMap(ns, 'early', { metadata: { annotations: { [RETRIES]: null } } });
    await waitFor('policy loaded after the retries annotation was removed', loaded, 15_000);
    const ok = await annotationsWhen('ok annotation', ns, 'early', (a) => a[STATUS] === '{"status":"ok"}', 15_000);
    t.is(ok[RETRIES], '0');
    t.is(attempts(), 4);
  },
);
