// Tests of the local test bed itself (scripts/testbed/up must have run). They exercise the real
// kube-apiserver + kube-controller-manager, the mini-kubelet and the kube-mgmt stand-in.
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { httpStatus, kubeConfig, mergePatch, statusBody } from '../testbed/k8s.js';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const envFile = path.join(process.env.TESTBED_DIR ?? path.join(repo, '.testbed'), 'env');

function loadEnv(): Record<string, string> | undefined {
  if (!fs.existsSync(envFile)) return undefined;
  return Object.fromEntries(
    fs
      .readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}
const env = loadEnv();
const kc = env ? kubeConfig(env.KUBECONFIG ?? '') : undefined;
const core = kc?.makeApiClient(CoreV1Api) as CoreV1Api;
const apps = kc?.makeApiClient(AppsV1Api) as AppsV1Api;
const rbac = kc?.makeApiClient(RbacAuthorizationV1Api) as RbacAuthorizationV1Api;
const discovery = kc?.makeApiClient(DiscoveryV1Api) as DiscoveryV1Api;
const admission = kc?.makeApiClient(AdmissionregistrationV1Api) as AdmissionregistrationV1Api;
const STATUS = 'openpolicyagent.org/kube-mgmt-status';
const RETRIES = 'openpolicyagent.org/kube-mgmt-retries';
const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
const namespaces: string[] = [];

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(300);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}
// every namespace is exempt from the tool's webhook (opa-validating-webhook), which may be registered meanwhile
async function createNamespace(name: string, labels: Record<string, string> = {}) {
  namespaces.push(name);
  await core.createNamespace({
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'openpolicyagent.org/webhook': 'ignore', ...labels } } },
  });
}
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
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
const adminBinding = (ns: string) =>
  rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kube-mgmt' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
    },
  });
async function startOpa(port: number) {
  const opa = spawn(env!.OPA ?? 'opa', ['run', '--server', `--addr=127.0.0.1:${port}`, '--log-level=error'], { stdio: 'ignore' });
  children.push(opa);
  await waitFor('OPA /health', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 15_000);
}
function startStandin(args: string[]) {
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'test/testbed/kube-mgmt-standin.ts'), `--kubeconfig=${env!.KUBECONFIG}`, ...args],
    { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(p);
  const out = { stderr: '' };
  p.stderr!.on('data', (d) => (out.stderr += d));
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function opaDeployment(
  ns: string,
  extraContainers: any[] = [],
  opaArgs = ['run', '--server', '--addr=0.0.0.0:8181', '--log-level=error'],
  extra: any = {},
) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'opa', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'opa' } },
      template: {
        metadata: { labels: { app: 'opa' } },
        spec: {
          containers: [{ name: 'opa', image: 'openpolicyagent/opa:1.22.3', args: opaArgs, ...extra.opa }, ...extraContainers],
          ...extra.pod,
        },
      },
    },
  };
}

test.before(() => {
  if (!env) throw new Error(`run scripts/testbed/up first (${envFile} not found)`);
});

test.after.always(async () => {
  for (const c of children) c.kill('SIGTERM');
  if (!env) return;
  await admission.deleteValidatingWebhookConfiguration({ name: `testbed-${id}` }).catch(() => {});
  for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => {});
  // namespace deletion goes through the real namespace controller and the mini-kubelet (pods' final delete)
  for (const ns of namespaces) {
    await waitFor(
      `namespace ${ns} gone`,
      async () => {
        try {
          await core.readNamespace({ name: ns });
          return false;
        } catch (e) {
          return httpStatus(e) === 404;
        }
      },
      90_000,
    ).catch(() => {});
  }
});

test.serial('kube-apiserver /version reports v1.37.2', async (t) => {
  const v = await kc!.makeApiClient(VersionApi).getCode();
  t.is(v.gitVersion, 'v1.37.2');
  const node = await core.readNode({ name: 'testbed-node' });
  t.is(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
});

test.serial(
  'a Deployment of mappable images becomes Available, is published in its EndpointSlice, runs kube-mgmt in-cluster, and stops on delete',
  async (t) => {
    const ns = `tb-deploy-${id}`;
    await createNamespace(ns);
    // kube-mgmt (in-cluster, default service account) needs to read and annotate ConfigMaps in its namespace
    await adminBinding(ns);
    await core.createNamespacedService({
      namespace: ns,
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'opa' },
        spec: { selector: { app: 'opa' }, ports: [{ port: 80, targetPort: 8181 }] },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: opaDeployment(
        ns,
        [
          {
            name: 'kube-mgmt',
            image: 'openpolicyagent/kube-mgmt:11.0.7',
            args: [`--namespaces=${ns}`, '--opa-url=http://127.0.0.1:8181/v1', '--unknown-flag-is-ignored'],
          },
        ],
        undefined,
        { opa: { readinessProbe: { httpGet: { path: '/health', port: 8181, scheme: 'HTTP' }, periodSeconds: 2 } } },
      ),
    });

    const dep = await waitFor('Deployment Available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'opa', namespace: ns });
      return d.status?.conditions?.find((c) => c.type === 'Available' && c.status === 'True') && d.status?.readyReplicas === 1 && d;
    });
    t.truthy(dep);
    const pod: any = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=opa' })).items[0];
    t.is(pod.spec.nodeName, 'testbed-node');
    t.regex(pod.status.podIP, /^10\.244\.0\.\d+$/);
    const slice = await waitFor('EndpointSlice with the pod IP', async () => {
      const s = (await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=opa' })).items[0];
      return s?.endpoints?.some((e) => e.addresses.includes(pod.status.podIP) && e.conditions?.ready) && s;
    });
    t.is(slice.ports?.[0]?.port, 8181);

    // the policy ConfigMap after the rollout, as `bootstrap up` does (before it, kube-mgmt may race OPA: see the next test)
    await createConfigMap(ns, policyConfigMap(ns, 'hello', 'hello.rego', 'package hello\n\nallow if input.x == 1\n'));
    // the real OPA process answers on the pod IP, and the in-pod kube-mgmt stand-in loaded the policy
    const res = await waitFor('policy loaded by in-pod kube-mgmt', async () => {
      const r = await fetch(`http://${pod.status.podIP}:8181/v1/policies/${ns}/hello/hello.rego`);
      return r.ok && r.json();
    });
    t.is((res as any).result.id, `${ns}/hello/hello.rego`);
    t.is(await waitFor('status annotation', async () => (await annotations(ns, 'hello'))[STATUS], 15_000), '{"status":"ok"}');

    const pidFile = path.join(env!.TESTBED_DIR ?? '', 'pods', pod.metadata.uid, 'pids');
    const pids = fs.readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number);
    t.is(pids.length, 2);
    t.true(pids.every(alive));

    await apps.deleteNamespacedDeployment({ name: 'opa', namespace: ns, propagationPolicy: 'Foreground' });
    await waitFor('pod gone', async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0);
    await waitFor('processes stopped', async () => pids.every((p) => !alive(p)), 10_000);
    t.false(fs.existsSync(path.dirname(pidFile)));
    t.false(
      execFileSync('ip', ['netns', 'list'])
        .toString()
        .includes(`tb-${pod.metadata.uid.slice(0, 8)}`),
    );
  },
);

test.serial(
  'kube-mgmt stand-in: loads labelled ConfigMaps, annotates ok / OPA errors, removes on unlabel and delete, replicates',
  async (t) => {
    const ns = `tb-kubemgmt-${id}`;
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
    const badAnn = await waitFor(
      'error annotation settled',
      async () => {
        const a = await annotations(ns, 'bad');
        return a[RETRIES] === '0' && a;
      },
      30_000,
    );
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
  },
);

test.serial(
  'kube-mgmt stand-in before OPA: the connection error is recorded, 2 retries, then only a retries-annotation or data/label change loads it',
  async (t) => {
    const ns = `tb-early-${id}`;
    await createNamespace(ns);
    const port = await freePort(); // nothing listens there yet
    const standin = startStandin([`--namespaces=${ns}`, `--opa-url=http://127.0.0.1:${port}/v1`]);
    const policyId = `${ns}/early/early.rego`;
    const attempts = () => standin.stderr.split('\n').filter((l) => l.includes(`Added policy ${policyId}, err=`)).length;
    const loaded = async () => (await fetch(`http://127.0.0.1:${port}/v1/policies/${policyId}`).catch(() => undefined))?.ok ?? false;
    await createConfigMap(ns, policyConfigMap(ns, 'early', 'early.rego', 'package early\n\nallow := true\n'));

    const failed = await waitFor(
      'error annotation settled',
      async () => {
        const a = await annotations(ns, 'early');
        return a[RETRIES] === '0' && a;
      },
      30_000,
    );
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
    const ok = await waitFor(
      'ok annotation',
      async () => {
        const a = await annotations(ns, 'early');
        return a[STATUS] === '{"status":"ok"}' && a;
      },
      15_000,
    );
    t.is(ok[RETRIES], '0');
    t.is(attempts(), 4);
  },
);

test.serial('admission path: kube-apiserver → webhook Service → OPA over TLS (opa.<ns>.svc) → policy from a ConfigMap', async (t) => {
  const ns = `tb-webhook-${id}`;
  const target = `tb-target-${id}`;
  await createNamespace(ns);
  await createNamespace(target, { 'testbed-webhook': id });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-webhook-'));
  const ossl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=tb-ca');
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=opa.${ns}.svc`);
  fs.writeFileSync(path.join(dir, 'ext'), `subjectAltName=DNS:opa.${ns}.svc\nextendedKeyUsage=serverAuth\n`);
  ossl(
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'tls.crt',
    '-days',
    '1',
    '-extfile',
    'ext',
  );
  const b64 = (f: string) => fs.readFileSync(path.join(dir, f)).toString('base64');
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'opa-server' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64('tls.crt'), 'tls.key': b64('tls.key') },
    },
  });
  await adminBinding(ns);
  await core.createNamespacedService({
    namespace: ns,
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'opa' },
      spec: { selector: { app: 'opa' }, ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
    },
  });
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: opaDeployment(
      ns,
      [
        {
          name: 'kube-mgmt',
          image: 'openpolicyagent/kube-mgmt:11.0.7',
          args: [`--namespaces=${ns}`, '--opa-url=http://127.0.0.1:8181/v1'],
        },
      ],
      [
        'run',
        '--server',
        '--tls-cert-file=/certs/tls.crt',
        '--tls-private-key-file=/certs/tls.key',
        '--addr=0.0.0.0:8443',
        '--addr=http://127.0.0.1:8181',
        '--log-level=error',
      ],
      {
        opa: {
          volumeMounts: [{ name: 'certs', mountPath: '/certs', readOnly: true }],
          readinessProbe: { httpGet: { path: '/health?plugins', port: 8443, scheme: 'HTTPS' }, periodSeconds: 2 },
        },
        pod: { volumes: [{ name: 'certs', secret: { secretName: 'opa-server' } }] },
      },
    ),
  });
  await waitFor(
    'OPA Deployment Available',
    async () => (await apps.readNamespacedDeployment({ name: 'opa', namespace: ns })).status?.availableReplicas === 1,
  );
  // the policy after the rollout, as `bootstrap up` does
  await createConfigMap(
    ns,
    policyConfigMap(
      ns,
      'main',
      'main.rego',
      [
        'package system',
        '',
        'main := {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}',
        '',
        'default response := {"allowed": true}',
        '',
        'response := {"uid": input.request.uid, "allowed": false, "status": {"message": "testbed says no"}} if startswith(input.request.object.metadata.name, "deny-")',
        'else := {"uid": input.request.uid, "allowed": true}',
        '',
      ].join('\n'),
    ),
  );
  await waitFor('policy ConfigMap ok', async () => (await annotations(ns, 'main'))[STATUS] === '{"status":"ok"}', 30_000);

  await admission.createValidatingWebhookConfiguration({
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: `testbed-${id}` },
      webhooks: [
        {
          name: 'validating-webhook.testbed.local',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          namespaceSelector: { matchLabels: { 'testbed-webhook': id } },
          timeoutSeconds: 5,
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
          clientConfig: { caBundle: b64('ca.crt'), service: { namespace: ns, name: 'opa', port: 443 } },
        },
      ],
    },
  });

  const err = await waitFor(
    'webhook denial',
    async () => {
      try {
        await createConfigMap(target, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deny-me' } });
        return false;
      } catch (e) {
        return /testbed says no/.test(statusBody(e)?.message) && e;
      }
    },
    30_000,
  );
  t.true([400, 403].includes(httpStatus(err) ?? 0), `status ${httpStatus(err)}`);
  t.regex(statusBody(err).message, /admission webhook "validating-webhook.testbed.local" denied the request: testbed says no/);
  const ok = await createConfigMap(target, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'allowed' } });
  t.is(ok.metadata?.name, 'allowed');
  await admission.deleteValidatingWebhookConfiguration({ name: `testbed-${id}` });
  fs.rmSync(dir, { recursive: true, force: true });
});
