// audit: the AdmissionReview sent for each existing object, OPA's answer turned into rows, exempt namespaces apart,
// the report and the exit code. OPA itself is a stand-in here (FakeKube.serviceAnswer); the real one is asked in
// test/e2e/none-faults.test.ts.
import test from 'ava';
import type { KubeObject } from '../../src/adapters/kube.js';
import { audit } from '../../src/commands/audit.js';
import { isBootstrapError } from '../../src/errors.js';
import { admissionReviewFor, AUDITED_KINDS, formatAudit, rowsFor, runAudit, splitMessages } from '../../src/steps/audit.js';
import { FakeKube, makeCtx } from '../helpers/fakes.js';
import { recordingIo } from '../helpers/run.js';

const pod = (namespace: string, name: string, images: string[], init: string[] = []): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace },
  spec: {
    containers: images.map((image, i) => ({ name: `c${i}`, image })),
    ...(init.length ? { initContainers: init.map((image, i) => ({ name: `i${i}`, image })) } : {}),
  },
});
const deny = (...messages: string[]) => ({ response: { allowed: false, status: { code: 403, message: messages.sort().join(', ') } } });
const allow = { response: { allowed: true } };

test('admissionReviewFor: a CREATE of the object as it is, with its kind and resource', (t) => {
  const cron: KubeObject = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'n' }, spec: {} };
  const review = admissionReviewFor(cron, 'u1') as { request: Record<string, any> };
  t.is(review.request.uid, 'u1');
  t.is(review.request.operation, 'CREATE');
  t.deepEqual(review.request.kind, { group: 'batch', version: 'v1', kind: 'CronJob' });
  t.deepEqual(review.request.resource, { group: 'batch', version: 'v1', resource: 'cronjobs' });
  t.is(review.request.namespace, 'n');
  t.is(review.request.object, cron);
  t.deepEqual(
    AUDITED_KINDS.map((k) => k.kind),
    ['Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController', 'CronJob'],
  );
});

test('splitMessages: the policy’s ", "-joined messages, each starting with Image', (t) => {
  t.deepEqual(splitMessages("Image 'a:1' comes from untrusted registry, Image 'b' used latest image"), [
    "Image 'a:1' comes from untrusted registry",
    "Image 'b' used latest image",
  ]);
});

test('rowsFor: one row per container and message; the same image in two containers is two rows; admitted is none', (t) => {
  const p = pod('web', 'p', ['nginx:1.21.1', 'reg:5000/ok:1', 'nginx:1.21.1'], ['busybox']);
  const rows = rowsFor(
    p,
    deny(
      "Image 'nginx:1.21.1' comes from untrusted registry",
      "Image 'busybox' comes from untrusted registry",
      "Image 'busybox' used latest image",
    ),
  );
  t.deepEqual(
    rows.map((r) => [r.container, r.image, r.reason]),
    [
      ['i0', 'busybox', 'comes from untrusted registry'],
      ['i0', 'busybox', 'used latest image'],
      ['c0', 'nginx:1.21.1', 'comes from untrusted registry'],
      ['c2', 'nginx:1.21.1', 'comes from untrusted registry'],
    ],
  );
  t.true(rows.every((r) => r.namespace === 'web' && r.kind === 'Pod' && r.name === 'p'));
  t.deepEqual(rowsFor(p, allow), []);
});

test('rowsFor: a workload’s pod template; a denial naming no image is one row with the whole message', (t) => {
  const d: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'n' },
    spec: { template: { spec: { containers: [{ name: 'web', image: 'x:1' }] } } },
  };
  t.deepEqual(
    rowsFor(d, deny("Image 'x:1' comes from untrusted registry")).map((r) => `${r.kind}/${r.name} ${r.container} ${r.reason}`),
    ['Deployment/d web comes from untrusted registry'],
  );
  const notLoaded = 'Image policy is not loaded (data.kubernetes.validating.images.deny is undefined)';
  t.deepEqual(
    rowsFor(d, deny(notLoaded)).map((r) => [r.container, r.reason]),
    [['', notLoaded]],
  );
});

/** A cluster with pods and a workload, an exempt namespace, and OPA answering by a table of images. */
function cluster(): FakeKube {
  const kube = new FakeKube().seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', labels: { 'openpolicyagent.org/webhook': 'ignore' } } },
    pod('default', 'old', ['nginx:1.21.1']),
    pod('default', 'good', ['reg:5000/nginx:1.21.1']),
    pod('kube-system', 'coredns', ['registry.k8s.io/coredns:v1']),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'reg:5000/web' }] } } },
    },
  );
  const verdicts: Record<string, string> = {
    'nginx:1.21.1': "Image 'nginx:1.21.1' comes from untrusted registry",
    'registry.k8s.io/coredns:v1': "Image 'registry.k8s.io/coredns:v1' comes from untrusted registry",
    'reg:5000/web': "Image 'reg:5000/web' used latest image",
  };
  // OPA's batch answer, in order (templates/policy/system-main.rego, tested with opa test).
  kube.serviceAnswer = (_path, body) => {
    const request = body as { kind: string; reviews: { request: { object: KubeObject } }[] };
    if (request.kind !== 'AuditRequest') throw new Error(`not an audit request: ${request.kind}`);
    return { kind: 'AuditResponse', responses: request.reviews.map((r) => decide(r.request.object).response) };
  };
  const decide = (object: KubeObject) => {
    const spec = object.kind === 'Pod' ? object.spec : ((object.spec as any)?.template?.spec ?? { containers: [] });
    const found = (spec as { containers: { image: string }[] }).containers.map((c) => verdicts[c.image]).filter((m): m is string => !!m);
    return found.length ? deny(...found) : allow;
  };
  return kube;
}

test('runAudit: every pod and workload is asked about through the service proxy; exempt namespaces apart', async (t) => {
  const kube = cluster();
  const result = await runAudit(kube);
  t.is(result.checked, 4);
  t.is(kube.calls.filter((c) => c.op === 'postToService').length, 1, 'one request for up to 100 objects');
  t.true(kube.calls.filter((c) => c.op === 'postToService').every((c) => c.key === 'opa/https:opa:443/'));
  t.deepEqual(
    result.violations.map((r) => `${r.namespace} ${r.kind}/${r.name} ${r.container} ${r.image} ${r.reason}`),
    ['default Deployment/web web reg:5000/web used latest image', 'default Pod/old c0 nginx:1.21.1 comes from untrusted registry'],
  );
  t.deepEqual(result.exemptNamespaces, ['kube-system']);
  t.deepEqual(
    result.exempt.map((r) => `${r.namespace} ${r.kind}/${r.name}`),
    ['kube-system Pod/coredns'],
  );
});

test('formatAudit: the table, the exempt table, one summary line', async (t) => {
  const text = formatAudit(await runAudit(cluster()));
  t.is(
    text,
    [
      'NAMESPACE  KIND/NAME       CONTAINER  IMAGE         REASON',
      'default    Deployment/web  web        reg:5000/web  used latest image',
      'default    Pod/old         c0         nginx:1.21.1  comes from untrusted registry',
      '',
      'Exempt (namespaces labelled openpolicyagent.org/webhook=ignore; the webhook does not judge them):',
      'NAMESPACE    KIND/NAME    CONTAINER  IMAGE                       REASON',
      'kube-system  Pod/coredns  c0         registry.k8s.io/coredns:v1  comes from untrusted registry',
      '',
      '2 violations in 2 of 4 objects; 1 more in exempt namespaces (kube-system)',
    ].join('\n'),
  );
  t.is(formatAudit({ checked: 3, violations: [], exempt: [], exemptNamespaces: [] }), '0 violations in 0 of 3 objects');
});

function upCluster(kube: FakeKube): FakeKube {
  return kube.seed(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'opa', namespace: 'opa', generation: 1 },
      spec: { replicas: 1 },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    },
    ...['opa-default-system-main', 'image-policy'].map((name) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'opa', annotations: { 'openpolicyagent.org/kube-mgmt-status': '{"status":"ok"}' } },
    })),
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'opa-validating-webhook' } },
  );
}

test('audit command: --json prints every finding and exits 1 when anything violates', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing' }, { json: true });
  ctx.kube = upCluster(cluster());
  const io = recordingIo();
  const error = await t.throwsAsync(audit(ctx, io));
  t.true(isBootstrapError(error) && error.exitCode === 1, String(error));
  t.regex(String(error?.message), /2 container images in existing pods and workloads would be denied/);
  const report = JSON.parse(io.printed[0]!) as { checked: number; violations: unknown[]; exempt: unknown[] };
  t.is(report.checked, 5, 'OPA’s own Deployment is audited too (namespace opa)');
  t.is(report.violations.length, 2);
  t.is(report.exempt.length, 1);
});

test('audit command: nothing violating exits 0; an environment that is not up is refused first', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing' }, { json: true });
  const kube = upCluster(new FakeKube());
  kube.serviceAnswer = (_p, body) => ({
    kind: 'AuditResponse',
    responses: (body as { reviews: unknown[] }).reviews.map(() => allow.response),
  });
  ctx.kube = kube;
  await t.notThrowsAsync(audit(ctx, recordingIo()));

  const down = makeCtx(t, { cluster: 'existing' }, { json: true });
  const io = recordingIo();
  await t.throwsAsync(audit(down, io), {
    message: /^Nothing to audit: the admission webhook opa-validating-webhook is not registered\./,
  });
  t.deepEqual(io.printed, []);
  t.false(down.services.fakes.kube.calls.some((c) => c.op === 'postToService'));
});

test('runAudit: many objects go in batches of 100, and each answer is matched to its object by position', async (t) => {
  const kube = new FakeKube();
  for (let i = 0; i < 250; i++) kube.seed(pod('n', `p${String(i).padStart(3, '0')}`, [i % 3 ? 'reg:5000/ok:1' : `bad:${i}`]));
  kube.serviceAnswer = (_p, body) => ({
    kind: 'AuditResponse',
    responses: (body as { reviews: { request: { object: KubeObject } }[] }).reviews.map((r) => {
      const image = (r.request.object.spec as { containers: { image: string }[] }).containers[0]!.image;
      return image.startsWith('bad:') ? deny(`Image '${image}' comes from untrusted registry`).response : allow.response;
    }),
  });
  const result = await runAudit(kube);
  t.is(result.checked, 250);
  t.deepEqual(
    kube.calls.filter((c) => c.op === 'postToService').map((c) => (c.body as { reviews: unknown[] }).reviews.length),
    [100, 100, 50],
  );
  t.is(result.violations.length, 84);
  t.true(result.violations.every((v) => v.image === `bad:${Number(v.name.slice(1))}`));
});

test('runAudit: an OPA whose policy predates audit (it answers an AdmissionReview) is reported with the fix', async (t) => {
  const kube = cluster();
  kube.serviceAnswer = () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '', allowed: true } });
  await t.throwsAsync(runAudit(kube), { message: /does not answer audit requests[\s\S]*bootstrap up/ });
});
