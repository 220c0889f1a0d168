// watch: OPA's errors with file, line and column; the decisions that changed; one save end to end against fakes
// (nothing applied when it does not compile, kube-mgmt's refusal shown, only changes printed); init-policy; and
// following a file across in-place writes and rename-over saves.
import test from 'ava';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { watchFile } from '../../src/adapters/files.js';
import { initPolicy, watch } from '../../src/commands/watch.js';
import type { CheckResult } from '../../src/context.js';
import { messages } from '../../src/messages.js';
import type { AdmissionOutcome, KubeObject } from '../../src/adapters/kube.js';
import { denial } from '../../src/admission-checks.js';
import {
  diffDecisions,
  formatChanges,
  formatOpaErrors,
  handleSave,
  runAllChecks,
  watchLoop,
  withPolicySource,
  type WatchDeps,
} from '../../src/steps/watch.js';
import { BootstrapError } from '../../src/errors.js';
import { FakeKube, makeCtx, scheduler } from '../helpers/fakes.js';
import { podSpecOf } from '../../src/workloads.js';
import { recordingIo } from '../helpers/run.js';

const check = (name: string, actual: string): CheckResult => ({ name, expected: '', actual, passed: true });

test('formatOpaErrors: file:line:column: code: message per error; other output unchanged', (t) => {
  const json = JSON.stringify({
    errors: [
      { message: 'var y is unsafe', code: 'rego_unsafe_var_error', location: { file: '/p/image-policy.rego', row: 3, col: 12 } },
      { message: 'unexpected eof token', code: 'rego_parse_error', location: { file: '/p/image-policy.rego', row: 9, col: 1 } },
    ],
  });
  t.is(
    formatOpaErrors(json),
    '/p/image-policy.rego:3:12: rego_unsafe_var_error: var y is unsafe\n/p/image-policy.rego:9:1: rego_parse_error: unexpected eof token',
  );
  t.is(formatOpaErrors('docker: no such image\n'), 'docker: no such image');
});

test('diffDecisions: only changed outcomes, in the later order; new and gone cases too', (t) => {
  const before = [check('a', 'admitted'), check('b', 'denied: x'), check('gone', 'admitted')];
  const after = [check('b', 'admitted'), check('a', 'admitted'), check('new', 'denied: y')];
  t.deepEqual(diffDecisions(before, after), [
    { name: 'b', before: 'denied: x', after: 'admitted' },
    { name: 'new', before: '(new case)', after: 'denied: y' },
    { name: 'gone', before: 'admitted', after: '(case gone)' },
  ]);
  t.deepEqual(diffDecisions(after, after), []);
});

test('formatChanges: case, before, after in columns', (t) => {
  t.is(
    formatChanges([
      { name: 'create: article-bad-tag', before: "denied: Image 'r/nginx:latest' used latest image", after: 'admitted' },
      { name: 'create: x', before: 'admitted', after: 'denied: m' },
    ]),
    [
      '  case                     before                                            after',
      "  create: article-bad-tag  denied: Image 'r/nginx:latest' used latest image  admitted",
      '  create: x                admitted                                          denied: m',
    ].join('\n'),
  );
});

test('withPolicySource: the live settings kept, the image policy replaced, our labels', (t) => {
  const cm = withPolicySource(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'image-policy' }, data: { 'image-policy.rego': 'old', 'settings.rego': 'S' } },
    'new',
  );
  t.deepEqual((cm as { data: unknown }).data, { 'image-policy.rego': 'new', 'settings.rego': 'S' });
  t.is(cm.metadata!.labels!['openpolicyagent.org/policy'], 'rego');
  t.is(cm.metadata!.labels!['app.kubernetes.io/managed-by'], 'bootstrap');
});

/** Deps whose cluster answers from a table keyed by the source text. */
function fakeDeps(saves: string[], answers: Record<string, CheckResult[]>, opts: { broken?: string; refused?: string } = {}) {
  const printed: string[] = [];
  const applied: string[] = [];
  let current = '';
  const queue = [...saves];
  const deps: WatchDeps = {
    file: 'policy/image-policy.rego',
    next: async () => (current = queue.shift() ?? '') || undefined,
    compile: async (source) =>
      source === opts.broken ? 'policy/image-policy.rego:3:12: rego_unsafe_var_error: var y is unsafe' : undefined,
    apply: async (source) => {
      if (source === opts.refused) throw messages.policyRejected('image-policy', 'rego_type_error: conflicting rules');
      applied.push(source);
    },
    check: async () => answers[applied.at(-1) ?? '']!,
    print: (text) => printed.push(text),
    now: (() => {
      let t = 0;
      return () => (t += 100);
    })(),
  };
  return { deps, printed, applied };
}

test('watchLoop: each save compiled, applied and judged; only the changed decisions printed', async (t) => {
  const strict = [check('create: article-bad-tag', 'denied: latest'), check('create: article-ok', 'admitted')];
  const loose = [check('create: article-bad-tag', 'admitted'), check('create: article-ok', 'admitted')];
  const { deps, printed, applied } = fakeDeps(
    ['loose', 'broken', 'refused', 'loose2', 'strict'],
    { loose, loose2: loose, strict },
    {
      broken: 'broken',
      refused: 'refused',
    },
  );
  const saves = await watchLoop(deps, strict);
  t.is(saves, 5);
  t.deepEqual(applied, ['loose', 'loose2', 'strict'], 'nothing applied for the save that does not compile');
  t.is(printed.length, 5);
  t.is(
    printed[0],
    'save 1: 1 decision changed in 100 ms\n  case                     before          after\n  create: article-bad-tag  denied: latest  admitted',
  );
  t.is(
    printed[1],
    '✖ save 2: policy/image-policy.rego does not compile; nothing was applied:\npolicy/image-policy.rego:3:12: rego_unsafe_var_error: var y is unsafe',
  );
  t.is(printed[2], '✖ save 3: kube-mgmt could not load ConfigMap opa/image-policy: rego_type_error: conflicting rules');
  t.is(printed[3], 'save 4: no decision changed (2 decisions: 2 admitted, 0 denied) in 100 ms');
  t.regex(printed[4]!, /^save 5: 1 decision changed in \d+ ms\n.*\n  create: article-bad-tag  admitted +denied: latest$/);
});

test('handleSave: an unexpected failure is thrown to the loop, which reports it and goes on', async (t) => {
  const { deps, printed } = fakeDeps(['a', 'b'], { b: [check('x', 'admitted')] });
  let first = true;
  const apply = deps.apply;
  deps.apply = async (s) => {
    if (first) {
      first = false;
      throw new Error('socket hang up');
    }
    return apply(s);
  };
  await t.throwsAsync(handleSave({ ...deps, apply: async () => Promise.reject(new Error('boom')) }, 'a', [], 'save 1'), {
    message: 'boom',
  });
  t.is(await watchLoop(deps, []), 2);
  t.is(printed[0], '✖ save 1: socket hang up');
  t.regex(printed[1]!, /^save 2: 1 decision changed/);
});

test('the checks run twice back to back (watch’s saves) give the same decisions: each base object is gone, at once, before its run ends', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = 'reg:5000';
  const kube = new FakeKube();
  // A cluster with a node and a scheduler: a base pod it could place would be bound, and then deleting it would only
  // mark it for its 30 s grace period, its name still taken.
  kube.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } } });
  scheduler(kube);
  kube.admission = (_op, object): AdmissionOutcome => {
    const spec = object.kind === 'Pod' ? (object.spec as Record<string, unknown>) : podSpecOf(object);
    const images = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((list) =>
      ((spec?.[list] ?? []) as { image: string }[]).map((c) => c.image),
    );
    const bad = images.find((i) => !i.startsWith('reg:5000/'));
    return bad
      ? { allowed: false, code: 403, message: denial(`Image '${bad}' comes from untrusted registry`) }
      : { allowed: true, code: 201, message: '' };
  };
  const first = await runAllChecks(ctx, kube);
  const inVerifyNamespace = () => [...kube.objects.values()].filter((o) => o.metadata?.namespace === 'v');
  t.deepEqual(inVerifyNamespace(), [], 'no base object left, not even one being deleted');
  const second = await runAllChecks(ctx, kube);
  t.deepEqual(diffDecisions(first, second), []);
  t.deepEqual(
    second.filter((c) => /already exists|being deleted/.test(c.actual)),
    [],
  );
  const basesCreated = kube.calls.filter((c) => c.op === 'createPod' && c.dryRun === false);
  t.true(basesCreated.length > 0);
  t.true(
    basesCreated.every((c) => (c.body as KubeObject & { spec: { nodeSelector?: object } }).spec.nodeSelector !== undefined),
    'each base pod is made never to be scheduled',
  );
  const deletes = kube.calls.filter((c) => c.op === 'delete');
  t.is(deletes.length, kube.calls.filter((c) => c.dryRun === false).length, 'every base object made is deleted');
  t.true(
    deletes.every((c) => (c.body as { gracePeriodSeconds?: number } | undefined)?.gracePeriodSeconds === 0),
    'with no grace period',
  );
});

test('watch --dry-run is refused before anything is read or written (each save would be applied to the cluster)', async (t) => {
  const ctx = makeCtx(t, { policyFile: '/p/image-policy.rego' }, { dryRun: true });
  const error = await t.throwsAsync(watch(ctx, recordingIo()), { instanceOf: BootstrapError });
  t.is(error!.problem, 'bootstrap watch has no dry run: each save is applied to the cluster and judged there.');
  t.is(error!.exitCode, 2);
  t.deepEqual(ctx.services.fakes.kube.calls, []);
  t.deepEqual(ctx.services.fakes.docker.calls, []);
});

test('init-policy: copies the shipped policy and its tests; refuses to overwrite', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-init-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const io = recordingIo();
  await initPolicy(path.join(dir, 'policy'), io);
  const shipped = await readFile(new URL('../../templates/policy/image-policy.rego', import.meta.url), 'utf8');
  t.is(await readFile(path.join(dir, 'policy/image-policy.rego'), 'utf8'), shipped);
  t.regex(await readFile(path.join(dir, 'policy/image_policy_test.rego'), 'utf8'), /package kubernetes\.validating\.images_test/);
  t.regex(io.printed[0]!, /bootstrap watch --policy-file .*policy\/image-policy\.rego/);
  await writeFile(path.join(dir, 'policy/image-policy.rego'), 'mine');
  await t.throwsAsync(initPolicy(path.join(dir, 'policy'), recordingIo()), { message: /already exists; nothing was copied/ });
  t.is(await readFile(path.join(dir, 'policy/image-policy.rego'), 'utf8'), 'mine');
});

test('watchFile: in-place writes and rename-over saves are seen once each; unchanged saves are not; close ends it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'p.rego');
  await writeFile(file, 'v0');
  const watcher = watchFile(file, 'v0', 30);
  const seen = watcher.next();
  await writeFile(file, 'v1');
  t.is(await seen, 'v1');
  await writeFile(file, 'v1'); // same bytes: no save to report
  await writeFile(path.join(dir, '.p.rego.swp'), 'v2');
  await rename(path.join(dir, '.p.rego.swp'), file); // how vim and many editors save
  t.is(await watcher.next(), 'v2');
  // A slow writer: truncated first, the content written a while later. The empty moment is never reported.
  const slow = watcher.next();
  await writeFile(file, '');
  await delay(45);
  await writeFile(file, 'v3');
  t.is(await slow, 'v3');
  await delay(100);
  const last = watcher.next();
  watcher.close();
  t.is(await last, undefined);
  t.is(await watcher.next(), undefined);
});
