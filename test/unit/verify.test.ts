// verify: what the API server answered, judged exactly against what the article (and the bypass matrix) expects.
import test from 'ava';
import type { AdmissionOutcome, KubeObject } from '../../src/adapters/kube.js';
import {
  ARTICLE_CASES,
  articlePod,
  BASE_GONE_SECONDS,
  casePod,
  createOkPod,
  denial,
  extendedExpectation,
  judge,
  loadExtendedCases,
  runArticleSuite,
  runExtendedSuite,
} from '../../src/admission-checks.js';
import { formatChecks } from '../../src/steps/verify.js';
import { pushTrustedImage } from '../../src/registry-container.js';
import { podSpecOf } from '../../src/workloads.js';
import { FakeKube, fakeTask, makeCtx } from '../helpers/fakes.js';
import { messages } from '../../src/messages.js';

const ARTICLE_DENIAL = `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image 'nginx:1.21.1' comes from untrusted registry`;
const REGISTRY = 'host.minikube.internal:5000';
const denied = (message: string, code = 400): AdmissionOutcome => ({ allowed: false, code, message });
const admitted: AdmissionOutcome = { allowed: true, code: 201, message: '' };

test('denial() words it as the API server does (the article’s kubectl output)', (t) => {
  t.is(denial("Image 'nginx:1.21.1' comes from untrusted registry"), ARTICLE_DENIAL);
});

test('judge: the article’s exact denial passes', (t) => {
  t.deepEqual(judge('bad repo', 'deny', ["Image 'nginx:1.21.1' comes from untrusted registry"], denied(ARTICLE_DENIAL)), {
    name: 'bad repo',
    expected: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
    actual: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
    passed: true,
  });
});

test('judge: a different denial text, or a prefix of it, fails', (t) => {
  const expected = ["Image 'nginx:1.21.1' comes from untrusted registry"];
  t.false(judge('x', 'deny', expected, denied(`${ARTICLE_DENIAL}.`)).passed);
  t.false(judge('x', 'deny', expected, denied(denial("Image 'nginx:1.21.1' comes from untrusted"))).passed);
  t.false(judge('x', 'deny', expected, denied(denial("Image 'nginx:1.21.2' comes from untrusted registry"))).passed);
});

test('judge: a denial by something else than our webhook shows code and full message, and fails', (t) => {
  const result = judge('x', 'deny', ['m'], denied('pods "web-server" is forbidden: exceeded quota', 403));
  t.is(result.actual, 'denied: (403) pods "web-server" is forbidden: exceeded quota');
  t.false(result.passed);
  const other = judge('x', 'deny', ['m'], denied('admission webhook "other.example.com" denied the request: m'));
  t.false(other.passed);
});

test('judge: allow vs deny both ways', (t) => {
  t.deepEqual(judge('ok', 'allow', [], admitted), { name: 'ok', expected: 'admitted', actual: 'admitted', passed: true });
  t.deepEqual(judge('ok', 'allow', [], denied(denial('m'))), { name: 'ok', expected: 'admitted', actual: 'denied: m', passed: false });
  t.deepEqual(judge('bad', 'deny', ['m'], admitted), { name: 'bad', expected: 'denied: m', actual: 'admitted', passed: false });
});

test('judge: several messages are compared sorted, joined with ", "', (t) => {
  const result = judge('two', 'deny', ['b message', 'a message'], denied(denial('a message, b message')));
  t.is(result.expected, 'denied: a message, b message');
  t.true(result.passed);
  t.false(judge('two', 'deny', ['b message', 'a message'], denied(denial('b message, a message'))).passed);
});

/** The policy as the article states it, keyed on the first container image. */
const articlePolicy =
  (registry: string) =>
  (_op: string, pod: KubeObject): AdmissionOutcome => {
    const image = (pod as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image;
    if (!image.startsWith(`${registry}/`)) return denied(denial(`Image '${image}' comes from untrusted registry`));
    if (image.endsWith(':latest')) return denied(denial(`Image '${image}' used latest image`));
    return admitted;
  };

test('runArticleSuite: still 3/3 while the ok pod really runs (left by verify --create)', async (t) => {
  const ctx = makeCtx(t);
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  kube.admission = articlePolicy(REGISTRY);
  kube.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-server', namespace: 'default' } });
  t.deepEqual(
    (await runArticleSuite(ctx, kube)).map((r) => r.passed),
    [true, true, true],
  );
});

test('runArticleSuite: three server-side dry-run creates, judged', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'sandbox' });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  kube.admission = articlePolicy(REGISTRY);
  const results = await runArticleSuite(ctx, kube);
  t.deepEqual(results, [
    {
      name: 'untrusted registry (pod-bad-repo.yaml)',
      expected: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
      actual: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
      passed: true,
    },
    {
      name: 'latest tag (pod-bad-tag.yaml)',
      expected: `denied: Image '${REGISTRY}/nginx:latest' used latest image`,
      actual: `denied: Image '${REGISTRY}/nginx:latest' used latest image`,
      passed: true,
    },
    { name: 'trusted and pinned (pod-ok.yaml)', expected: 'admitted', actual: 'admitted', passed: true },
  ]);
  t.is(kube.calls.length, 3);
  for (const call of kube.calls) {
    t.is(call.op, 'createPod');
    t.regex(call.key, /^v1\/Pod\/sandbox\/web-server-\d+$/);
    t.true(call.dryRun);
    const pod = call.body as KubeObject;
    t.is(pod.metadata!.generateName, 'web-server-', 'named by the API server: a real web-server pod cannot collide');
    t.is(pod.metadata!.name, undefined);
    t.is(pod.metadata!.namespace, 'sandbox');
    t.is((pod.metadata!.labels as Record<string, string>)['app.kubernetes.io/managed-by'], 'bootstrap');
    t.is((pod.metadata!.labels as Record<string, string>).run, 'web-server');
  }
  // The three requests go out concurrently: their order is not fixed, the set is.
  t.deepEqual(kube.calls.map((c) => (c.body as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image).sort(), [
    `${REGISTRY}/nginx:1.21.1`,
    `${REGISTRY}/nginx:latest`,
    'nginx:1.21.1',
  ]);
  t.is(kube.objects.size, 0, 'dry runs store nothing');
});

test('runArticleSuite: a cluster without the webhook fails the two denials', async (t) => {
  const ctx = makeCtx(t);
  ctx.registryHost = REGISTRY;
  const results = await runArticleSuite(ctx, new FakeKube());
  t.deepEqual(
    results.map((r) => r.passed),
    [false, false, true],
  );
  t.deepEqual(
    results.map((r) => r.actual),
    ['admitted', 'admitted', 'admitted'],
  );
  t.is(ARTICLE_CASES.length, 3);
});

test('loadExtendedCases renders {{ registry }} in images and messages', async (t) => {
  const cases = await loadExtendedCases('reg.test:5555');
  t.true(cases.length >= 10);
  const names = new Set(cases.map((c) => c.name));
  t.is(names.size, cases.length, 'names are unique');
  const text = JSON.stringify(cases);
  t.false(text.includes('{{'));
  t.true(text.includes('reg.test:5555/'));
  const badTag = cases.find((c) => c.name === 'article-bad-tag')!;
  t.deepEqual(badTag, {
    name: 'article-bad-tag',
    via: 'create',
    containers: ['reg.test:5555/nginx:latest'],
    expect: 'deny',
    messages: ["Image 'reg.test:5555/nginx:latest' used latest image"],
  });
  for (const c of cases) {
    t.true(['create', 'update', 'ephemeral'].includes(c.via), c.name);
    t.true(c.expect === 'allow' || (c.messages?.length ?? 0) > 0, c.name);
  }
});

test('casePod: create carries the case’s containers and init containers', (t) => {
  const pod = casePod(
    { name: 'init-bad', via: 'create', containers: ['r/a:1'], initContainers: ['evil/b:2', 'r/c:3'], expect: 'deny' },
    'ns',
    'r/nginx:1.21.1',
  );
  t.deepEqual(pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bootstrap-verify-init-bad', namespace: 'ns', labels: { 'app.kubernetes.io/managed-by': 'bootstrap' } },
    spec: {
      containers: [{ name: 'c0', image: 'r/a:1' }],
      initContainers: [
        { name: 'i0', image: 'evil/b:2' },
        { name: 'i1', image: 'r/c:3' },
      ],
    },
  });
});

test('casePod: update starts from base images in the same shape; ephemeral from one base container; neither is ever scheduled', (t) => {
  const update = casePod(
    { name: 'upd', via: 'update', containers: ['evil/a:1', 'evil/b:1'], initContainers: ['evil/i:1'], expect: 'deny' },
    'ns',
    'base:1',
  );
  t.deepEqual(update.spec, {
    containers: [
      { name: 'c0', image: 'base:1' },
      { name: 'c1', image: 'base:1' },
    ],
    initContainers: [{ name: 'i0', image: 'base:1' }],
    nodeSelector: { 'bootstrap-verify/no-such-node': 'true' },
  });
  const ephemeral = casePod({ name: 'eph', via: 'ephemeral', ephemeralContainers: ['evil/e:1'], expect: 'deny' }, 'ns', 'base:1');
  t.deepEqual(ephemeral.spec, { containers: [{ name: 'c0', image: 'base:1' }], nodeSelector: { 'bootstrap-verify/no-such-node': 'true' } });
});

test('casePod: names are cut to 63 characters without a trailing dash', (t) => {
  const pod = casePod({ name: `${'a'.repeat(45)}-${'b'.repeat(20)}`, via: 'create', containers: ['x:1'], expect: 'allow' }, 'ns', 'b:1');
  const name = pod.metadata!.name!;
  t.true(name.length <= 63);
  t.is(name, `bootstrap-verify-${'a'.repeat(45)}`);
});

test('formatChecks: a row per check and the summary line', (t) => {
  const text = formatChecks([
    { name: 'one', expected: 'admitted', actual: 'admitted', passed: true },
    { name: 'second check', expected: 'denied: m', actual: 'admitted', passed: false },
  ]);
  t.is(
    text,
    [
      '      check         outcome',
      'PASS  one           admitted',
      'FAIL  second check  admitted',
      '                    expected denied: m',
      '1/2 checks as expected',
    ].join('\n'),
  );
});

test('the ok pod refers to the repository pushTrustedImage pushed to (trustedImage with docker.io/library/)', async (t) => {
  const ctx = makeCtx(t, { trustedImage: 'docker.io/library/nginx:1.21.1' });
  ctx.registryHost = REGISTRY;
  ctx.services.fakes.docker.images.add('docker.io/library/nginx:1.21.1');
  await pushTrustedImage(ctx, fakeTask().task);
  const [pushed] = ctx.services.fakes.docker.pushed; // localhost:5000/<path>:<tag>
  const pod = await articlePod(ctx, 'pods/pod-ok.yaml');
  const image = (pod as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image;
  t.is(image.slice(REGISTRY.length), pushed!.slice('localhost:5000'.length));
});

test('--create: the ok pod is created for real (labelled ours) and waited for until Running', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 30 });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  const ref = { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web-server' };
  // The kubelet's part: Running from the third look on.
  kube.onGet = (_ref, count) => {
    const live = kube.stored(ref);
    if (live && count >= 3) kube.seed({ ...live, status: { phase: 'Running' } } as KubeObject);
  };
  const result = await createOkPod(ctx, kube);
  t.deepEqual(result, { name: 'pod-ok.yaml created and running', expected: 'Running', actual: 'Running', passed: true });
  const created = kube.calls.find((c) => c.op === 'createPod')!;
  t.false(created.dryRun);
  t.is((created.body as { metadata: { labels: Record<string, string> } }).metadata.labels['app.kubernetes.io/managed-by'], 'bootstrap');
  t.is((created.body as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image, `${REGISTRY}/nginx:1.21.1`);
});

test('--create: a pod that never runs is reported with its phase after the wait', async (t) => {
  const ctx = makeCtx(t, { waitSeconds: 5 });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  const result = await createOkPod(ctx, kube);
  t.false(result.passed);
  t.is(result.actual, 'Pending');
  t.true(ctx.services.fakes.clock.time - new Date('2025-06-01T12:00:00Z').getTime() >= 5000);
});

test('--require-digest: tag-only images are denied for it too, and the ok pod pinned by the registry digest is admitted', async (t) => {
  const ctx = makeCtx(t, { requireDigest: true });
  ctx.registryHost = REGISTRY;
  ctx.services.fakes.registryApi.manifests.add('nginx:1.21.1');
  const digest = await ctx.services.fakes.registryApi.manifestDigest('', 'nginx', '1.21.1');
  const kube = new FakeKube();
  const sent: string[] = [];
  kube.admission = (_op, pod) => {
    const image = (pod as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image;
    sent.push(image);
    return image.includes('@sha256:')
      ? { allowed: true, code: 201, message: '' }
      : { allowed: false, code: 403, message: denial(`Image '${image}' is not pinned by digest`) };
  };
  const results = await runArticleSuite(ctx, kube);
  t.is(results.length, 4);
  t.true(sent.includes(`${REGISTRY}/nginx:1.21.1@${digest}`));
  const ok = results.find((r) => r.name === 'trusted and pinned (pod-ok.yaml)')!;
  t.is(ok.expected, `denied: Image '${REGISTRY}/nginx:1.21.1' is not pinned by digest`);
  t.true(ok.passed);
  const pinned = results.find((r) => r.name.startsWith('trusted and pinned by digest'))!;
  t.true(pinned.passed, pinned.actual);
  const badRepo = results.find((r) => r.name.startsWith('untrusted registry'))!;
  t.is(badRepo.expected, "denied: Image 'nginx:1.21.1' comes from untrusted registry, Image 'nginx:1.21.1' is not pinned by digest");
});

test('runExtendedSuite: a 409 because the scheduler wrote the base pod’s status meanwhile is read again and retried, not a miss', async (t) => {
  const ctx = makeCtx(t);
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  const conflicts = new Map<string, number>();
  // Everything is admitted, but the first change of each real base object conflicts, as when the scheduler has just
  // written an unschedulable pod's status.
  kube.admission = (op, pod, dryRun) => {
    if (op !== 'create' && dryRun) {
      const name = pod.metadata!.name!;
      conflicts.set(name, (conflicts.get(name) ?? 0) + 1);
      if (conflicts.get(name) === 1) {
        return { allowed: false, code: 409, message: `Operation cannot be fulfilled on pods "${name}": the object has been modified` };
      }
    }
    return { allowed: true, code: 201, message: '' };
  };
  const results = await runExtendedSuite(ctx, kube);
  const changed = results.filter((r) => /^(update|ephemeral): /.test(r.name));
  t.true(changed.length > 0);
  t.false(
    changed.some((r) => r.actual.includes('(409)') || r.actual.includes('the object has been modified')),
    JSON.stringify(changed.filter((r) => !r.passed)),
  );
  t.true(
    [...conflicts.values()].every((n) => n >= 2),
    'each conflicting change was tried again',
  );
});

test('extendedExpectation: the matrix as written by default; with --require-digest each valid image without a digest is denied for that too', (t) => {
  const mixed = {
    name: 'mixed',
    via: 'create' as const,
    containers: ['r:5000/ok:1', 'r:5000/pinned:1@sha256:' + 'a'.repeat(64), 'r:5000//bad'],
    initContainers: ['evil.example/x:1'],
    expect: 'deny' as const,
    messages: ["Image 'r:5000//bad' is not a valid image reference", "Image 'evil.example/x:1' comes from untrusted registry"],
  };
  t.deepEqual(extendedExpectation(mixed, false), { expect: 'deny', messages: mixed.messages });
  t.deepEqual(extendedExpectation(mixed, true), {
    expect: 'deny',
    messages: [...mixed.messages, "Image 'r:5000/ok:1' is not pinned by digest", "Image 'evil.example/x:1' is not pinned by digest"],
  });
  const allowed = { name: 'ok', via: 'ephemeral' as const, ephemeralContainers: ['r:5000/ok:1'], expect: 'allow' as const };
  t.deepEqual(extendedExpectation(allowed, false), { expect: 'allow', messages: [] });
  t.deepEqual(extendedExpectation(allowed, true), { expect: 'deny', messages: ["Image 'r:5000/ok:1' is not pinned by digest"] });
  const pinned = { name: 'pinned', via: 'create' as const, containers: [`r:5000/ok@sha256:${'b'.repeat(64)}`], expect: 'allow' as const };
  t.deepEqual(extendedExpectation(pinned, true), { expect: 'allow', messages: [] });
});

test('runExtendedSuite --require-digest: base objects pinned by the registry’s digest, each case judged against the stricter policy', async (t) => {
  const ctx = makeCtx(t, { requireDigest: true });
  ctx.registryHost = REGISTRY;
  ctx.services.fakes.registryApi.manifests.add('nginx:1.21.1');
  const digest = (await ctx.services.fakes.registryApi.manifestDigest('', 'nginx', '1.21.1'))!;
  const kube = new FakeKube();
  // A stand-in for the stricter policy: every image the request brings must carry a digest (the real policy's answers
  // to the whole matrix are in test/integration/policy.test.ts).
  kube.admission = (_op, object) => {
    const spec = podSpecOf(object) as Record<'containers' | 'initContainers' | 'ephemeralContainers', { image: string }[] | undefined>;
    const images = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])].map((c) => c.image);
    const unpinned = [...new Set(images.filter((i) => !i.includes('@')))].map((i) => `Image '${i}' is not pinned by digest`);
    return unpinned.length ? denied(denial(unpinned.sort().join(', ')), 403) : admitted;
  };
  const results = await runExtendedSuite(ctx, kube);
  const bases = kube.calls.filter((c) => c.dryRun === false && /^create/.test(c.op));
  t.true(bases.length > 0);
  for (const base of bases)
    t.true(
      (podSpecOf(base.body as KubeObject)!.containers as { image: string }[]).every(
        (c) => c.image === `${REGISTRY}/nginx:1.21.1@${digest}`,
      ),
      base.key,
    );
  const ok = results.find((r) => r.name === 'create: article-ok')!;
  t.is(ok.expected, `denied: Image '${REGISTRY}/nginx:1.21.1' is not pinned by digest`);
  t.true(ok.passed, ok.actual);
  const ephemeral = results.find((r) => r.name.startsWith('ephemeral: ') && r.expected.includes(`'${REGISTRY}/busybox:1.36'`))!;
  t.true(ephemeral.passed, JSON.stringify(ephemeral));
  t.false(
    results.some((r) => r.expected === 'base object admitted'),
    'no base object refused',
  );
});

/** A base pod an earlier run left in namespace v under the name of case update-allowed. */
const leftover = (metadata: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'bootstrap-verify-update-allowed', namespace: 'v', ...metadata },
  spec: { containers: [{ name: 'c0', image: `${REGISTRY}/nginx:1.21.1` }], ...spec },
});
const LEFTOVER_KEY = 'v1/Pod/v/bootstrap-verify-update-allowed';
const OURS = { labels: { 'app.kubernetes.io/managed-by': 'bootstrap' } };

test('runExtendedSuite: a base pod an earlier run left terminating (30 s grace, on a node) is removed at once and the case runs', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  kube.seed(leftover({ ...OURS, deletionTimestamp: '2025-06-01T11:59:50Z', deletionGracePeriodSeconds: 30 }, { nodeName: 'node-1' }));
  const results = await runExtendedSuite(ctx, kube);
  const result = results.find((r) => r.name === 'update: update-allowed')!;
  t.deepEqual(result, { name: 'update: update-allowed', expected: 'admitted', actual: 'admitted', passed: true });
  t.deepEqual(
    kube.calls
      .filter((c) => c.key === LEFTOVER_KEY)
      .map((c) => `${c.op}${c.body && c.op === 'delete' ? ` ${JSON.stringify(c.body)}` : ''}`),
    [
      'createPod', // 409: object is being deleted
      'get',
      'delete {"gracePeriodSeconds":0}',
      'get',
      'createPod',
      'get',
      'replacePod',
      'delete {"gracePeriodSeconds":0}',
      'get',
    ],
  );
  t.false(kube.objects.has(LEFTOVER_KEY));
});

test('runExtendedSuite: a base object that stays after its deletion (a finalizer) fails its case, saying so, after the wait', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  kube.seed(leftover({ ...OURS, finalizers: ['example.com/hold'] }));
  const started = ctx.services.fakes.clock.time;
  const result = (await runExtendedSuite(ctx, kube)).find((r) => r.name === 'update: update-allowed')!;
  t.false(result.passed);
  t.is(result.actual, messages.verifyBaseStillDeleting('Pod v/bootstrap-verify-update-allowed', BASE_GONE_SECONDS, ['example.com/hold']));
  t.regex(result.actual, /still being deleted 30 s after .* \(finalizers: example\.com\/hold\)/);
  t.true(ctx.services.fakes.clock.time - started >= BASE_GONE_SECONDS * 1000);
  t.false(
    kube.calls.some((c) => c.key === LEFTOVER_KEY && c.op === 'replacePod'),
    'the case is not run on the leftover',
  );
});

test('runExtendedSuite: an object of the base object’s name that is not ours stays, and the case says why it did not run', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  kube.seed(leftover({}));
  const result = (await runExtendedSuite(ctx, kube)).find((r) => r.name === 'update: update-allowed')!;
  t.deepEqual(result, {
    name: 'update: update-allowed',
    expected: 'base object admitted',
    actual: messages.verifyBaseNameTaken('Pod v/bootstrap-verify-update-allowed'),
    passed: false,
  });
  t.true(kube.objects.has(LEFTOVER_KEY));
  t.false(
    kube.calls.some((c) => c.key === LEFTOVER_KEY && c.op === 'delete'),
    'not ours: never deleted',
  );
});

test('runExtendedSuite: a base object removed before its case changes it (another run at the same time) fails that case, saying so, and nothing is thrown', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  // The other run takes the name for a leftover of its own and deletes it, right after this run created it.
  kube.onGet = (ref) => {
    if (ref.name === 'bootstrap-verify-update-allowed') kube.objects.delete(LEFTOVER_KEY);
  };
  const results = await runExtendedSuite(ctx, kube);
  const result = results.find((r) => r.name === 'update: update-allowed')!;
  t.false(result.passed);
  t.is(result.actual, messages.verifyBaseGone('Pod v/bootstrap-verify-update-allowed'));
  t.deepEqual(
    results.filter((r) => r.expected === 'base object admitted').map((r) => r.name),
    ['update: update-allowed'],
    'the other cases ran',
  );
});

test('runExtendedSuite --require-digest without a digest in the registry: each update and ephemeral case says why, none is sent', async (t) => {
  const ctx = makeCtx(t, { requireDigest: true });
  ctx.registryHost = REGISTRY;
  const kube = new FakeKube();
  const results = await runExtendedSuite(ctx, kube);
  const unpinnable = results.filter((r) => r.actual === messages.noRegistryDigest('nginx:1.21.1'));
  t.true(unpinnable.length > 0);
  t.true(unpinnable.every((r) => !r.passed && /^(update|ephemeral): /.test(r.name)));
  t.false(
    kube.calls.some((c) => c.dryRun === false),
    'no base object made',
  );
});
