// The admission policy (templates/policy) against the REAL opa binary:
//   (a) `opa check --strict` and (b) `opa test` (JSON report, counted) on a rendered copy of
//       templates/policy (settings.rego.tmpl -> settings.rego with registry 10.0.0.7:5000,
//       authz.rego.tmpl -> authz.rego with a random token), i.e. exactly what kube-mgmt loads;
//   (c) every case of templates/verify/extended.yaml as the AdmissionReview v1 the apiserver
//       would send, POSTed to `/` of one `opa run --server` on a loopback port;
//   (d) the OPA API authorization (authz.rego.tmpl) on that same server;
//   (e) every case again with require_digest: true (`verify --suite extended --require-digest`), as verify expects it.
// OPA comes from $OPA, else ~/.cache/bootstrap-testbed/bin/opa (scripts/testbed/build-tools.sh opa).
// By hand, without rendering: `opa check --strict templates/policy` and
// `opa test -v templates/policy/authz.rego.tmpl templates/policy` (template first, see
// templates/policy/image_policy_test.rego).
import test from 'ava';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../helpers/ports.js';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { extendedExpectation, type PodCase as Case } from '../../src/admission-checks.js';
import { renderText } from '../../src/templates.js';
import { WORKLOAD_KINDS, workloadKind, workloadObject } from '../../src/workloads.js';

const OPA = process.env.OPA ?? join(homedir(), '.cache/bootstrap-testbed/bin/opa');
const POLICY_DIR = fileURLToPath(new URL('../../templates/policy', import.meta.url));
const MATRIX_FILE = fileURLToPath(new URL('../../templates/verify/extended.yaml', import.meta.url));
const REGISTRY = '10.0.0.7:5000';
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const BASE_IMAGE = `${REGISTRY}/nginx:1.21.1`;

interface OpaTestResult {
  package: string;
  name: string;
  fail?: boolean;
  error?: unknown;
  skip?: boolean;
}

// Read synchronously: ava needs every test declared synchronously, one per matrix case.
const matrix = parse(readFileSync(MATRIX_FILE, 'utf8')) as Case[];

let dir = '';
let server: ChildProcess | undefined;
let serverLog = '';
let baseUrl = '';

test.before(async () => {
  if (!existsSync(OPA)) {
    throw new Error(`OPA binary not found at ${OPA}: run scripts/testbed/build-tools.sh opa (or set OPA=/path/to/opa)`);
  }
  dir = await mkdtemp(join(tmpdir(), 'bootstrap-policy-'));
  for (const f of await readdir(POLICY_DIR)) {
    if (f.endsWith('.rego')) await copyFile(join(POLICY_DIR, f), join(dir, f));
  }
  const settings = await readFile(join(POLICY_DIR, 'settings.rego.tmpl'), 'utf8');
  await writeFile(join(dir, 'settings.rego'), renderText(settings, { trustedRegistries: [REGISTRY], requireDigest: false }));
  const authz = await readFile(join(POLICY_DIR, 'authz.rego.tmpl'), 'utf8');
  await writeFile(join(dir, 'authz.rego'), renderText(authz, { kubeMgmtToken: TOKEN }));

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = spawn(OPA, ['run', '--server', `--addr=127.0.0.1:${port}`, '--authentication=token', '--authorization=basic', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`opa run exited ${server.exitCode}:\n${serverLog}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`opa run did not become healthy:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

test.after.always(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------- (a), (b)

test('opa check --strict passes on the rendered policy directory', async (t) => {
  const r = await execa(OPA, ['check', '--strict', dir], { reject: false });
  t.is(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
});

test('opa check --strict passes on templates/policy as committed (templates skipped)', async (t) => {
  const r = await execa(OPA, ['check', '--strict', POLICY_DIR], { reject: false });
  t.is(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
});

test('opa test: all Rego unit tests pass', async (t) => {
  const r = await execa(OPA, ['test', '--format=json', dir], { reject: false });
  const results = JSON.parse(r.stdout) as OpaTestResult[];
  const failed = results.filter((x) => x.fail || x.error);
  const skipped = results.filter((x) => x.skip);
  const byPackage = new Map<string, number>();
  for (const x of results) byPackage.set(x.package, (byPackage.get(x.package) ?? 0) + 1);
  t.log(`${results.length} Rego tests: ${[...byPackage].map(([p, n]) => `${p} ${n}`).join(', ')}`);
  t.deepEqual(
    failed.map((x) => `${x.package}.${x.name}`),
    [],
  );
  t.is(r.exitCode, 0, r.stderr);
  t.is(skipped.length, 0);
  t.true(results.length >= 50, `only ${results.length} Rego tests`);
  t.true((byPackage.get('data.kubernetes.validating.images_test') ?? 0) >= 30);
  t.true((byPackage.get('data.system_test') ?? 0) >= 5);
  t.true((byPackage.get('data.system.authz_test') ?? 0) >= 5);
});

test('opa test on the committed layout (template named first) passes too', async (t) => {
  const r = await execa(OPA, ['test', '--format=json', join(POLICY_DIR, 'authz.rego.tmpl'), POLICY_DIR], {
    reject: false,
  });
  const results = JSON.parse(r.stdout) as OpaTestResult[];
  t.is(r.exitCode, 0, r.stdout);
  t.true(results.length >= 50);
  t.false(results.some((x) => x.fail || x.error));
});

test('opa test fails when the policy is naive (the unit tests can fail)', async (t) => {
  // Mutant: trust by string prefix, as the 2021 article did.
  const mutantDir = await mkdtemp(join(tmpdir(), 'bootstrap-policy-mutant-'));
  try {
    for (const f of await readdir(dir)) await copyFile(join(dir, f), join(mutantDir, f));
    const src = await readFile(join(dir, 'image-policy.rego'), 'utf8');
    const mutant = src.replace(
      /trusted\(image\) if \{[^}]*\}/,
      'trusted(image) if {\n\tsome t in trusted_registries\n\tstartswith(image, t)\n}',
    );
    t.not(mutant, src);
    await writeFile(join(mutantDir, 'image-policy.rego'), mutant);
    const r = await execa(OPA, ['test', '--format=json', mutantDir], { reject: false });
    const failed = (JSON.parse(r.stdout) as OpaTestResult[]).filter((x) => x.fail).map((x) => x.name);
    t.not(r.exitCode, 0);
    t.true(failed.includes('test_port_prefix_bypass'), failed.join(','));
  } finally {
    await rm(mutantDir, { recursive: true, force: true });
  }
});

test('the policy reads the pod template of exactly the workload kinds src/workloads.ts lists, at the same paths', async (t) => {
  const r = await execa(OPA, ['eval', '--format=json', '-d', dir, 'data.kubernetes.validating.images.pod_spec_paths'], { reject: false });
  t.is(r.exitCode, 0, r.stderr);
  const paths = (JSON.parse(r.stdout) as { result: { expressions: { value: Record<string, string[]> }[] }[] }).result[0]!.expressions[0]!
    .value;
  t.deepEqual(paths, {
    '/Pod': ['spec'],
    ...Object.fromEntries(WORKLOAD_KINDS.map((k) => [`${k.group}/${k.kind}`, k.podSpecPath])),
  });
});

test('watch compiles a save with the real OPA: errors name the user’s file, line and column; a good save compiles', async (t) => {
  const { compilePolicy } = await import('../../src/steps/watch.js');
  const { makeCtx } = await import('../helpers/fakes.js');
  const { execaRunner } = await import('../../src/adapters/cmd.js');
  const ctx = makeCtx(t);
  ctx.services.cmd = execaRunner;
  ctx.services.opaBinary = async () => OPA;
  const file = join(POLICY_DIR, 'image-policy.rego'); // only named: the content checked is the one passed
  const shipped = await readFile(file, 'utf8');
  t.is(await compilePolicy(ctx, file, shipped), undefined);
  const broken = shipped.replace('lower(ref.tag) == "latest"', 'lower(ref.tag) == undefined_var');
  const line = broken.split('\n').findIndex((l) => l.includes('undefined_var')) + 1;
  const column = broken.split('\n')[line - 1]!.search(/\S/) + 1; // OPA points at the expression
  t.is(await compilePolicy(ctx, file, broken), `${file}:${line}:${column}: rego_unsafe_var_error: var undefined_var is unsafe`);
});

// ---------------------------------------------------------------------------- (c)

function containers(prefix: string, images: string[] | undefined): Array<{ name: string; image: string }> {
  return (images ?? []).map((image, i) => ({ name: `${prefix}${i}`, image }));
}

function pod(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'verify', labels: { run: name } },
    spec: { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', ...spec },
  };
}

/** The AdmissionReview v1 request kube-apiserver sends for a case (images already rendered), its base object running `baseImage`. */
function admissionReview(c: Case, uid: string, baseImage = BASE_IMAGE): Record<string, unknown> {
  const sub = (xs?: string[]) => xs?.map((x) => x.replaceAll('{{ registry }}', REGISTRY));
  const images = {
    containers: sub(c.containers),
    initContainers: sub(c.initContainers),
    ephemeralContainers: sub(c.ephemeralContainers),
  };
  const base = pod(c.name, { containers: containers('c', [baseImage]) });
  let operation = 'CREATE';
  let object: Record<string, unknown>;
  let oldObject: Record<string, unknown> | null = null;
  let subResource: string | undefined;
  switch (c.via) {
    case 'create':
      object = pod(c.name, {
        containers: containers('c', images.containers),
        ...(images.initContainers ? { initContainers: containers('i', images.initContainers) } : {}),
      });
      break;
    case 'update': {
      operation = 'UPDATE';
      const baseInit = images.initContainers?.map(() => baseImage);
      oldObject = pod(c.name, {
        containers: containers('c', images.containers?.map(() => baseImage) ?? [baseImage]),
        ...(baseInit ? { initContainers: containers('i', baseInit) } : {}),
      });
      object = pod(c.name, {
        containers: containers('c', images.containers ?? [baseImage]),
        ...(images.initContainers ? { initContainers: containers('i', images.initContainers) } : {}),
      });
      break;
    }
    case 'ephemeral':
      operation = 'UPDATE';
      subResource = 'ephemeralcontainers';
      oldObject = base;
      object = pod(c.name, {
        containers: containers('c', [baseImage]),
        ephemeralContainers: containers('e', images.ephemeralContainers),
      });
      break;
  }
  let gvk = { group: '', version: 'v1', kind: 'Pod' };
  let gvr = { group: '', version: 'v1', resource: 'pods' };
  if (c.kind) {
    // A workload of that kind around the same pod spec, as the API server would send it.
    const kind = workloadKind(c.kind)!;
    const wrap = (p: Record<string, unknown>) =>
      workloadObject(kind, c.name, 'verify', p.spec as Record<string, unknown>) as unknown as Record<string, unknown>;
    object = wrap(object);
    if (oldObject) oldObject = wrap(oldObject);
    gvk = { group: kind.group, version: 'v1', kind: kind.kind };
    gvr = { group: kind.group, version: 'v1', resource: kind.resource };
  }
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      ...(subResource ? { subResource } : {}),
      requestKind: gvk,
      requestResource: gvr,
      ...(subResource ? { requestSubResource: subResource } : {}),
      name: c.name,
      namespace: 'verify',
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject,
      dryRun: c.via === 'create',
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions',
        ...(c.via === 'create' ? { dryRun: ['All'] } : {}),
      },
    },
  };
}

interface ReviewResponse {
  uid?: string;
  allowed?: boolean;
  status?: { code?: number; reason?: string; message?: string };
}

async function postReview(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

test('extended matrix is well-formed and covers the required bypasses', async (t) => {
  const raw = await readFile(MATRIX_FILE, 'utf8');
  t.true(raw.includes('{{ registry }}'), 'the matrix must keep {{ registry }} literal');
  t.true(Array.isArray(matrix) && matrix.length >= 25, `only ${matrix.length} cases`);
  const names = new Set<string>();
  for (const c of matrix) {
    t.false(names.has(c.name), `duplicate case ${c.name}`);
    names.add(c.name);
    t.true(['create', 'update', 'ephemeral'].includes(c.via), `${c.name}: via ${c.via}`);
    t.true(['allow', 'deny'].includes(c.expect), `${c.name}: expect ${c.expect}`);
    if (c.expect === 'deny') t.true((c.messages?.length ?? 0) > 0, `${c.name}: deny needs messages`);
    else t.is(c.messages, undefined, `${c.name}: allow takes no messages`);
    if (c.via === 'create') t.true((c.containers?.length ?? 0) > 0, `${c.name}: create needs containers`);
    if (c.via === 'ephemeral') t.true((c.ephemeralContainers?.length ?? 0) > 0, `${c.name}: no ephemeralContainers`);
    if (c.kind) {
      t.truthy(workloadKind(c.kind), `${c.name}: unknown kind ${c.kind}`);
      t.not(c.via, 'ephemeral', `${c.name}: workloads have no ephemeral containers`);
    }
  }
  // Every workload kind is in the matrix, denied on create; and a workload update both ways.
  for (const k of WORKLOAD_KINDS) {
    t.true(
      matrix.some((c) => c.kind === k.kind && c.via === 'create' && c.expect === 'deny'),
      `no denied create for ${k.kind}`,
    );
  }
  t.true(matrix.some((c) => c.kind && c.via === 'update' && c.expect === 'deny'));
  t.true(matrix.some((c) => c.kind && c.via === 'update' && c.expect === 'allow'));
  for (const required of [
    'article-bad-repo',
    'article-bad-tag',
    'article-ok',
    'port-prefix-bypass',
    'host-suffix-bypass',
    'no-tag-is-latest',
    'latest-with-digest',
    'digest-only-allowed',
    'init-container-untrusted',
    'init-container-latest',
    'ephemeral-untrusted',
    'ephemeral-latest',
    'update-to-untrusted',
    'docker-io-implicit',
    'localhost-not-trusted',
    'mixed-allowed-and-denied',
    'invalid-reference-extra-colon',
    'invalid-reference-empty-path-component',
    'invalid-reference-truncated-digest',
  ]) {
    t.true(names.has(required), `missing case ${required}`);
  }
  t.true(matrix.some((c) => c.via === 'create' && c.expect === 'allow'));
  t.true(matrix.some((c) => c.via === 'update' && c.expect === 'allow'));
  t.true(matrix.some((c) => c.via === 'ephemeral' && c.expect === 'allow'));
});

for (const [i, c] of matrix.entries()) {
  test(`matrix ${c.via} ${c.name} -> ${c.expect}`, async (t) => {
    const uid = `uid-${i}-${randomBytes(4).toString('hex')}`;
    const res = await postReview(admissionReview(c, uid));
    t.is(res.status, 200);
    const review = (await res.json()) as {
      apiVersion?: string;
      kind?: string;
      response?: { uid?: string; allowed?: boolean; status?: { code?: number; reason?: string; message?: string } };
    };
    t.is(review.apiVersion, 'admission.k8s.io/v1');
    t.is(review.kind, 'AdmissionReview');
    const response = review.response;
    if (!response) return t.fail(`no response: ${JSON.stringify(review)}`);
    t.is(response.uid, uid);
    t.is(response.allowed, c.expect === 'allow', JSON.stringify(response));
    if (c.expect === 'allow') {
      t.is(response.status, undefined);
      return;
    }
    const expected = (c.messages ?? []).map((m) => m.replaceAll('{{ registry }}', REGISTRY)).sort();
    t.is(response.status?.code, 403);
    t.is(response.status?.reason, response.status?.message);
    const message = response.status?.message ?? '';
    t.deepEqual(message.split(', '), expected, message); // sorted by the policy, so compare in order
  });
}

// ---------------------------------------------------------------------------- (d)

const anonymousAdmission = () =>
  admissionReview({ name: 'authz', via: 'create', containers: ['nginx:1.21.1'], expect: 'deny' }, 'authz-uid');

test('authz: anonymous clients cannot read policies or data (401)', async (t) => {
  for (const path of ['/v1/policies', '/v1/data', '/v1/data/kubernetes/validating/images/settings', '/v1/config', '/metrics']) {
    const res = await fetch(`${baseUrl}${path}`);
    t.is(res.status, 401, path);
    const body = (await res.json()) as { code?: string };
    t.is(body.code, 'unauthorized', path);
  }
  // Only "/" is open, not the same decision through the Data API.
  const viaData = await fetch(`${baseUrl}/v1/data/system/main`, {
    method: 'POST',
    body: JSON.stringify({ input: anonymousAdmission() }),
  });
  t.is(viaData.status, 401);
});

test('authz: anonymous and wrong-token clients cannot replace or delete policies', async (t) => {
  const id = `anon-${randomBytes(4).toString('hex')}`;
  const variants: Array<Record<string, string>> = [
    {},
    { Authorization: 'Bearer wrong' },
    { Authorization: `Bearer ${TOKEN}x` },
    { Authorization: 'Bearer ' },
  ];
  for (const headers of variants) {
    const put = await fetch(`${baseUrl}/v1/policies/${id}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain', ...headers },
      body: 'package system\nmain := {"response": {"allowed": true}}\n',
    });
    t.is(put.status, 401);
  }
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const list = (await (await fetch(`${baseUrl}/v1/policies`, { headers: auth })).json()) as { result: Array<{ id: string }> };
  const policyId = list.result.map((p) => p.id).find((x) => x.endsWith('image-policy.rego'));
  if (!policyId) return t.fail('image-policy.rego not loaded');
  const policyUrl = `${baseUrl}/v1/policies/${policyId.replace(/^\//, '')}`;
  t.is((await fetch(policyUrl, { headers: auth })).status, 200, policyUrl);
  t.is((await fetch(policyUrl, { method: 'DELETE' })).status, 401);
  t.is((await fetch(policyUrl, { headers: auth })).status, 200, 'the policy survived the anonymous DELETE');
  const putData = await fetch(`${baseUrl}/v1/data/kubernetes/validating/images/settings`, {
    method: 'PUT',
    body: JSON.stringify({ trusted_registries: ['docker.io'] }),
  });
  t.is(putData.status, 401);
  // Nothing was stored: the token holder does not see the policy.
  const check = await fetch(`${baseUrl}/v1/policies/${id}`, { headers: auth });
  t.is(check.status, 404);
});

test('authz: anonymous POST / (the webhook) is allowed and answered', async (t) => {
  const res = await postReview(anonymousAdmission());
  t.is(res.status, 200);
  const review = (await res.json()) as { response?: { uid?: string; allowed?: boolean; status?: { message?: string } } };
  t.is(review.response?.uid, 'authz-uid');
  t.is(review.response?.allowed, false);
  t.is(review.response?.status?.message, "Image 'nginx:1.21.1' comes from untrusted registry");
});

test('authz: GET /health is open, with any query', async (t) => {
  for (const path of ['/health', '/health?plugins&bundle', '/health?plugins']) {
    const res = await fetch(`${baseUrl}${path}`);
    t.is(res.status, 200, path);
  }
  const post = await fetch(`${baseUrl}/health`, { method: 'POST' });
  t.not(post.status, 200);
});

test('authz: the kube-mgmt token may list, put and delete policies', async (t) => {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const list = await fetch(`${baseUrl}/v1/policies`, { headers: auth });
  t.is(list.status, 200);
  const ids = ((await list.json()) as { result: Array<{ id: string }> }).result.map((p) => p.id);
  t.true(
    ids.some((id) => id.endsWith('image-policy.rego')),
    ids.join(','),
  );

  const id = `opa/probe-${randomBytes(4).toString('hex')}/main`;
  const pkg = `bootstrap_probe_${randomBytes(4).toString('hex')}`;
  const put = await fetch(`${baseUrl}/v1/policies/${id}`, {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': 'text/plain' },
    body: `package ${pkg}\nanswer := 42\n`,
  });
  t.is(put.status, 200, await put.text());
  const value = await fetch(`${baseUrl}/v1/data/${pkg}/answer`, { headers: auth });
  t.deepEqual(await value.json(), { result: 42 });
  const del = await fetch(`${baseUrl}/v1/policies/${id}`, { method: 'DELETE', headers: auth });
  t.is(del.status, 200);
});

// ---------------------------------------------------------------------------- (e)

test('require_digest: every matrix case is answered as verify --suite extended --require-digest expects (base objects pinned)', async (t) => {
  const strictDir = await mkdtemp(join(tmpdir(), 'bootstrap-policy-digest-'));
  t.teardown(() => rm(strictDir, { recursive: true, force: true }));
  for (const f of await readdir(dir)) await copyFile(join(dir, f), join(strictDir, f));
  const settings = await readFile(join(POLICY_DIR, 'settings.rego.tmpl'), 'utf8');
  await writeFile(join(strictDir, 'settings.rego'), renderText(settings, { trustedRegistries: [REGISTRY], requireDigest: true }));
  // As runExtendedSuite does under --require-digest: the base object runs the trusted image pinned.
  const pinnedBase = `${BASE_IMAGE}@sha256:${'0123456789abcdef'.repeat(4)}`;
  const rendered = matrix.map((c) => JSON.parse(JSON.stringify(c).replaceAll('{{ registry }}', REGISTRY)) as Case);
  // The webhook's entry point answers many reviews at once (what `bootstrap audit` sends): one opa eval for all.
  const input = join(strictDir, 'input.json');
  const reviews = rendered.map((c, i) => admissionReview(c, `uid-${i}`, pinnedBase));
  await writeFile(input, JSON.stringify({ apiVersion: 'bootstrap.opa-trusted-registry/v1', kind: 'AuditRequest', reviews }));
  const r = await execa(OPA, ['eval', '--format=json', '-d', strictDir, '-i', input, 'data.system.main'], { reject: false });
  t.is(r.exitCode, 0, r.stderr);
  const { responses } = (JSON.parse(r.stdout) as { result: { expressions: { value: { responses: ReviewResponse[] } }[] }[] }).result[0]!
    .expressions[0]!.value;
  t.is(responses.length, rendered.length);
  let digestDenials = 0;
  for (const [i, c] of rendered.entries()) {
    const { expect, messages } = extendedExpectation(c, true);
    const response = responses[i]!;
    t.is(response.uid, `uid-${i}`);
    const actual = response.allowed ? 'admitted' : `denied: ${response.status?.message}`;
    t.is(actual, expect === 'allow' ? 'admitted' : `denied: ${[...messages].sort().join(', ')}`, `${c.via} ${c.name}`);
    if (messages.some((m) => m.endsWith('is not pinned by digest'))) digestDenials++;
  }
  // The stricter policy changes most answers: not a matrix whose images all carry digests.
  t.true(digestDenials > rendered.length / 2, `${digestDenials} of ${rendered.length}`);
});
