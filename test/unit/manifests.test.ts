// templates/ rendered: placeholders inside parsed YAML only, and the full object list `up` applies.
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/adapters/kube.js';
import { generateCa, generateServerCertificate, type CertificateBundle } from '../../src/certs.js';
import { redact, trustedRegistries } from '../../src/manifests.js';
import { toYaml } from '../../src/manifests.js';
import { desiredObjects } from '../../src/steps/opa.js';
import { renderText, renderYaml } from '../../src/templates.js';
import { makeCtx, type FakeCtx, type Owner } from '../helpers/fakes.js';
import { WORKLOAD_KINDS } from '../../src/workloads.js';

// --- renderYaml -----------------------------------------------------------------------------------------------

test('renderYaml: a whole placeholder keeps its type; embedded ones become text', (t) => {
  const [doc] = renderYaml('n: "{{ n }}"\nb: "{{ b }}"\nlist: "{{ l }}"\ns: "{{ s }}"\nmixed: "port-{{ n }}"\n', {
    n: 10,
    b: false,
    l: ['a', 'b'],
    s: '007',
  });
  t.deepEqual(doc, { n: 10, b: false, list: ['a', 'b'], s: '007', mixed: 'port-10' });
});

test('renderYaml: renders inside nested maps, lists, and every document; keys are left alone', (t) => {
  const docs = renderYaml('a:\n  - x: "{{ v }}"\n"{{ v }}": 1\n---\nb: "{{ v }}!"\n---\n', { v: 'V' });
  t.deepEqual(docs, [{ a: [{ x: 'V' }], '{{ v }}': 1 }, { b: 'V!' }]);
});

test('renderYaml: an unknown placeholder is refused, naming it and the file', (t) => {
  t.throws(() => renderYaml('a: "{{ nope }}"\n', { v: 1 }, 'x.yaml'), { message: 'Template x.yaml uses {{ nope }}, which has no value.' });
  t.throws(() => renderYaml('a: "pre {{ nope }} post"\n', {}, 'y.yaml'), { message: /y\.yaml uses \{\{ nope \}\}/ });
});

test('renderYaml: a value cannot inject YAML structure', (t) => {
  const evil = 'x\nkind: Secret\nmetadata: {name: stolen}';
  const docs = renderYaml<Record<string, unknown>>('kind: Pod\nmetadata:\n  name: "{{ v }}"\n  labels:\n    a: "pre-{{ v }}"\n', {
    v: evil,
  });
  t.is(docs.length, 1);
  t.is(docs[0]!.kind, 'Pod');
  t.deepEqual(docs[0]!.metadata, { name: evil, labels: { a: `pre-${evil}` } });
  t.is(renderYaml('a: "{{ v }}"\n', { v: '---\nb: 1' }).length, 1);
});

test('renderYaml: a value holding a placeholder is not expanded again', (t) => {
  t.deepEqual(renderYaml('a: "{{ x }} {{ y }}"\n', { x: '{{ y }}', y: 'Y' }), [{ a: '{{ y }} Y' }]);
});

test('renderYaml: broken YAML names the file', (t) => {
  t.throws(() => renderYaml('a: [1\n', {}, 'broken.yaml'), { message: /^Template broken\.yaml: / });
});

test('renderText: arrays as JSON, everything else as text', (t) => {
  t.is(renderText('r := {{ r }}\nd := {{ d }}\n', { r: ['a:5000', 'b'], d: true }), 'r := ["a:5000","b"]\nd := true\n');
});

// --- desired objects ------------------------------------------------------------------------------------------

const TOKEN = 'test-token-4f1c2b9a7e6d5c3b2a19081726354453';
let certificates: CertificateBundle;
test.before(async () => {
  const ca = await generateCa();
  certificates = { ...ca, ...(await generateServerCertificate(ca)) };
});

function ctxWithCerts(t: Owner, config: Parameters<typeof makeCtx>[1] = {}): FakeCtx {
  const ctx = makeCtx(t, config);
  ctx.certificates = certificates;
  ctx.kubeMgmtToken = TOKEN;
  return ctx;
}

const names = (objects: KubeObject[]) =>
  objects.map((o) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`);
const all = async (ctx: FakeCtx) => {
  const o = await desiredObjects(ctx);
  return [...o.namespace, ...o.workload, ...o.policy, ...o.webhook];
};

test('desiredObjects: kinds and names, in apply order', async (t) => {
  const ctx = ctxWithCerts(t);
  const objects = await desiredObjects(ctx);
  t.deepEqual(names(objects.namespace), ['Namespace opa', 'Namespace kube-system', 'Secret opa/opa-server', 'Secret opa/opa-authz']);
  t.deepEqual(names(objects.workload), [
    'ClusterRoleBinding opa-viewer',
    'Role opa/configmap-modifier',
    'RoleBinding opa/opa-configmap-modifier',
    'ServiceAccount opa/opa',
    'Service opa/opa',
    'Deployment opa/opa',
  ]);
  t.deepEqual(names(objects.policy), ['ConfigMap opa/opa-default-system-main', 'ConfigMap opa/image-policy']);
  t.deepEqual(names(objects.webhook), ['ValidatingWebhookConfiguration opa-validating-webhook']);
});

test('desiredObjects: every object labelled managed-by=bootstrap, except the kube-system label object', async (t) => {
  const ctx = ctxWithCerts(t);
  for (const object of await all(ctx)) {
    const labels = (object.metadata?.labels ?? {}) as Record<string, string>;
    if (object.kind === 'Namespace' && object.metadata?.name === 'kube-system') {
      t.deepEqual(labels, { 'openpolicyagent.org/webhook': 'ignore' });
    } else {
      t.is(labels['app.kubernetes.io/managed-by'], 'bootstrap', names([object])[0]);
      t.is(labels['app.kubernetes.io/part-of'], 'trusted-registry', names([object])[0]);
    }
  }
  const [opa] = (await desiredObjects(ctx)).namespace;
  t.is((opa!.metadata!.labels as Record<string, string>)['openpolicyagent.org/webhook'], 'ignore');
});

test('webhook: admissionregistration.k8s.io/v1 with the v1 fields, caBundle = base64 of the CA', async (t) => {
  const ctx = ctxWithCerts(t, { webhookFailurePolicy: 'Ignore', webhookTimeoutSeconds: 7 });
  const [webhook] = (await desiredObjects(ctx)).webhook as (KubeObject & { webhooks: Record<string, any>[] })[];
  t.is(webhook!.apiVersion, 'admissionregistration.k8s.io/v1');
  t.is(webhook!.webhooks.length, 1);
  const w = webhook!.webhooks[0]!;
  t.is(w.name, 'validating-webhook.openpolicyagent.org');
  t.is(w.sideEffects, 'None');
  t.deepEqual(w.admissionReviewVersions, ['v1']);
  t.is(w.failurePolicy, 'Ignore');
  t.is(w.timeoutSeconds, 7);
  t.is(typeof w.timeoutSeconds, 'number');
  t.deepEqual(w.namespaceSelector, { matchExpressions: [{ key: 'openpolicyagent.org/webhook', operator: 'NotIn', values: ['ignore'] }] });
  t.deepEqual(w.rules, [
    { operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/ephemeralcontainers'] },
    {
      operations: ['CREATE', 'UPDATE'],
      apiGroups: ['apps'],
      apiVersions: ['v1'],
      resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'],
    },
    { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'] },
    { operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['replicationcontrollers'] },
  ]);
  // Every workload kind the policy reads is sent to it, on both operations, by the one webhook (one namespace selector).
  const covered = new Set(
    (w.rules as { apiGroups: string[]; resources: string[]; operations: string[] }[]).flatMap((r) =>
      r.operations.length === 2 ? r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)) : [],
    ),
  );
  for (const k of WORKLOAD_KINDS) t.true(covered.has(`${k.group}/${k.resource}`), `${k.kind} not sent to OPA`);
  t.is(w.clientConfig.caBundle, Buffer.from(certificates.caCert).toString('base64'));
  t.is(Buffer.from(w.clientConfig.caBundle, 'base64').toString(), certificates.caCert);
  t.deepEqual(w.clientConfig.service, { namespace: 'opa', name: 'opa', port: 443 });
  const defaults = ctxWithCerts(t);
  const [d] = (await desiredObjects(defaults)).webhook as (KubeObject & { webhooks: Record<string, any>[] })[];
  t.is(d!.webhooks[0]!.failurePolicy, 'Fail');
  t.is(d!.webhooks[0]!.timeoutSeconds, 10);
});

test('Deployment: images from config, kube-mgmt and OPA args', async (t) => {
  const ctx = ctxWithCerts(t, { opaImage: 'openpolicyagent/opa:9.9.9', kubeMgmtImage: 'openpolicyagent/kube-mgmt:8.8.8' });
  const deployment = (await desiredObjects(ctx)).workload.find((o) => o.kind === 'Deployment') as KubeObject & { spec: any };
  const [opa, kubeMgmt] = deployment.spec.template.spec.containers as { name: string; image: string; args: string[] }[];
  t.is(opa!.image, 'openpolicyagent/opa:9.9.9');
  t.is(kubeMgmt!.image, 'openpolicyagent/kube-mgmt:8.8.8');
  t.true(kubeMgmt!.args.includes('--namespaces=opa'));
  t.true(kubeMgmt!.args.includes('--replicate=v1/pods'));
  t.true(kubeMgmt!.args.includes('--opa-auth-token-file=/authz/token'));
  t.true(opa!.args.includes('--addr=http://127.0.0.1:8181'));
  t.true(opa!.args.includes('--authentication=token'));
  t.true(opa!.args.includes('--authorization=basic'));
  t.regex(deployment.spec.template.metadata.annotations['bootstrap.openpolicyagent.org/secrets-hash'], /^[0-9a-f]{16}$/);
});

type Probe = {
  httpGet: { path: string; scheme: string; port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
};
type Container = { name: string; args: string[]; readinessProbe?: Probe; livenessProbe?: Probe; startupProbe?: Probe };

test('Deployment: kube-mgmt lives only while OPA is ready (kube-mgmt issue 189), with time for the first load', async (t) => {
  const ctx = ctxWithCerts(t);
  const deployment = (await desiredObjects(ctx)).workload.find((o) => o.kind === 'Deployment') as KubeObject & { spec: any };
  const [opa, kubeMgmt] = deployment.spec.template.spec.containers as Container[];
  const probe = kubeMgmt!.livenessProbe!;
  // It asks OPA's own readiness (ready only with the policy loaded), on the port OPA serves on the pod's IP.
  t.deepEqual(probe.httpGet, opa!.readinessProbe!.httpGet);
  t.is(probe.httpGet.path, '/health/ready');
  t.true(opa!.args.includes(`--addr=0.0.0.0:${probe.httpGet.port}`), 'the port OPA listens on for the pod IP, not loopback');
  t.is(probe.httpGet.scheme, 'HTTPS');
  const period = probe.periodSeconds ?? 10;
  const threshold = probe.failureThreshold ?? 3;
  const timeout = probe.timeoutSeconds ?? 1;
  // First start: no restart before kube-mgmt had at least 20 s to load the policy.
  t.true((probe.initialDelaySeconds ?? 0) + period * (threshold - 1) >= 20, 'time for the first load');
  // After that: restarted, and stopped, early enough that the policy is back within 30 s of OPA restarting
  // (about 6 s more for kube-mgmt's start, its load, OPA's readiness probe and the endpoints).
  t.true(period * threshold + (probe.terminationGracePeriodSeconds ?? 30) <= 30 - 6, 'heals within 30 s');
  t.true(threshold >= 2, 'one failed probe alone never restarts it');
  t.true(timeout < period);
  t.is(kubeMgmt!.readinessProbe, undefined, 'kube-mgmt itself never takes the pod out of the Service');
  t.is(kubeMgmt!.startupProbe, undefined, 'a startup probe would hold the liveness probe back; the initial delay does');
});

test('Deployment: the secrets hash changes with the token (so OPA restarts)', async (t) => {
  const hash = async (token: string) => {
    const ctx = ctxWithCerts(t);
    ctx.kubeMgmtToken = token;
    const d = (await desiredObjects(ctx)).workload.find((o) => o.kind === 'Deployment') as KubeObject & { spec: any };
    return d.spec.template.metadata.annotations['bootstrap.openpolicyagent.org/secrets-hash'] as string;
  };
  t.not(await hash('token-a'), await hash('token-b'));
  t.is(await hash('token-a'), await hash('token-a'));
});

test('policy ConfigMaps: labelled for kube-mgmt; settings hold the registry host and extra registries', async (t) => {
  const ctx = ctxWithCerts(t, { registryPort: 5001, extraTrustedRegistries: ['quay.io'], requireDigest: true });
  const policy = (await desiredObjects(ctx)).policy as (KubeObject & { data: Record<string, string> })[];
  for (const cm of policy) t.is((cm.metadata!.labels as Record<string, string>)['openpolicyagent.org/policy'], 'rego');
  t.deepEqual(Object.keys(policy[0]!.data), ['main']);
  t.deepEqual(Object.keys(policy[1]!.data), ['image-policy.rego', 'settings.rego']);
  const settings = policy[1]!.data['settings.rego']!;
  t.true(settings.includes('trusted_registries := ["host.minikube.internal:5001","quay.io"]'), settings);
  t.true(settings.includes('require_digest := true'));
  t.false(settings.includes('{{'));
  t.deepEqual(trustedRegistries(ctx.config, 'quay.io'), ['quay.io']);
});

test('Secrets: TLS pair and authz (with the token), base64', async (t) => {
  const ctx = ctxWithCerts(t);
  const [, , tls, authz] = (await desiredObjects(ctx)).namespace as (KubeObject & { data: Record<string, string>; type: string })[];
  t.is(tls!.type, 'kubernetes.io/tls');
  t.is(Buffer.from(tls!.data['tls.crt']!, 'base64').toString(), certificates.serverCert);
  t.is(Buffer.from(tls!.data['tls.key']!, 'base64').toString(), certificates.serverKey);
  t.is(Buffer.from(authz!.data.token!, 'base64').toString(), TOKEN);
  t.true(Buffer.from(authz!.data['authz.rego']!, 'base64').toString().includes(`kube_mgmt_token := "${TOKEN}"`));
});

test('redact hides Secret data and leaves other objects alone', (t) => {
  const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'c2VjcmV0', b: 'eA==' } };
  t.deepEqual(redact(secret), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: '<redacted>', b: '<redacted>' } });
  t.deepEqual(secret.data, { a: 'c2VjcmV0', b: 'eA==' }, 'the original is not changed');
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x' } };
  t.is(redact(cm), cm);
});

test('toYaml of the whole plan never contains a private key or the token', async (t) => {
  const ctx = ctxWithCerts(t);
  const objects = await all(ctx);
  const text = toYaml(objects);
  t.false(text.includes('PRIVATE KEY'));
  t.false(text.includes(TOKEN));
  t.false(text.includes(Buffer.from(TOKEN).toString('base64')));
  t.false(text.includes(Buffer.from(certificates.serverKey).toString('base64').slice(0, 40)));
  t.false(text.includes(Buffer.from(certificates.caKey).toString('base64').slice(0, 40)));
  t.true(text.includes('<redacted>'));
  // It is still the same objects, one YAML document each.
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
  t.deepEqual(
    docs.map((d) => d.kind),
    objects.map((o) => o.kind),
  );
  // And the unredacted objects do carry the secrets (so the assertions above can fail).
  t.true(JSON.stringify(objects).includes(Buffer.from(TOKEN).toString('base64')));
});
