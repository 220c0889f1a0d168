// Workloads in the verify matrix: one object per kind around a pod spec, making no pod, with the spec where the
// policy reads it; and the runner's create/update requests for them.
import test from 'ava';
import type { AdmissionOutcome, KubeObject } from '../../src/adapters/kube.js';
import { caseObject, loadExtendedCases, runExtendedSuite, type PodCase } from '../../src/admission-checks.js';
import { podSpecOf, WORKLOAD_KINDS, workloadKind, workloadObject } from '../../src/workloads.js';
import { FakeKube, makeCtx } from '../helpers/fakes.js';

const spec = { containers: [{ name: 'c0', image: 'reg:5000/nginx:1.21.1' }] };

for (const kind of WORKLOAD_KINDS) {
  test(`workloadObject ${kind.kind}: pod spec at ${kind.podSpecPath.join('.')}, and it makes no pod`, (t) => {
    const o = workloadObject(kind, 'w', 'ns', spec, { a: 'b' }) as KubeObject & { spec: Record<string, any> };
    t.is(o.apiVersion, kind.apiVersion);
    t.is(o.kind, kind.kind);
    t.deepEqual(o.metadata, { name: 'w', namespace: 'ns', labels: { a: 'b', 'bootstrap-verify': 'w' } });
    let node: any = o;
    for (const key of kind.podSpecPath) node = node[key];
    t.deepEqual(node.containers, spec.containers);
    t.deepEqual(podSpecOf(o)?.containers, spec.containers);
    const makesNoPod = o.spec.replicas === 0 || o.spec.suspend === true || node.nodeSelector?.['bootstrap-verify/no-such-node'] === 'true';
    t.true(makesNoPod);
    if (kind.kind === 'Job' || kind.kind === 'CronJob') t.is(node.restartPolicy, 'Never');
  });
}

test('podSpecOf: a Pod’s own spec; unknown kinds have none', (t) => {
  t.deepEqual(podSpecOf({ kind: 'Pod', spec }), spec);
  t.is(podSpecOf({ kind: 'ConfigMap', data: {} }), undefined);
  t.is(workloadKind('Pod'), undefined);
});

test('caseObject: a case with kind becomes that workload, its name fit for a CronJob (≤ 52)', (t) => {
  const c: PodCase = {
    name: 'a-very-long-case-name-that-goes-on-and-on-and-on-and-on',
    kind: 'CronJob',
    via: 'create',
    containers: ['x:1'],
    expect: 'allow',
  };
  const o = caseObject(c, 'ns', 'base:1');
  t.is(o.kind, 'CronJob');
  t.true(o.metadata!.name!.length <= 52);
  t.false(o.metadata!.name!.endsWith('-'));
  t.is(o.metadata!.labels!['app.kubernetes.io/managed-by'], 'bootstrap');
  t.deepEqual(
    (podSpecOf(o)!.containers as { image: string }[]).map((x) => x.image),
    ['x:1'],
  );
  t.is(caseObject({ ...c, kind: undefined }, 'ns', 'base:1').kind, 'Pod');
});

test('runExtendedSuite: a workload create is a dry-run create of the workload; an update creates the base, replaces it (dry run), deletes it and sees it gone', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = 'reg:5000';
  const kube = new FakeKube();
  // A stand-in for the policy: deny anything that is not from reg:5000.
  kube.admission = (_op, object): AdmissionOutcome => {
    const images = ((podSpecOf(object)?.containers ?? []) as { image: string }[]).map((c) => c.image);
    const bad = images.find((i) => !i.startsWith('reg:5000/'));
    return bad
      ? {
          allowed: false,
          code: 400,
          message: `admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image '${bad}' comes from untrusted registry`,
        }
      : { allowed: true, code: 201, message: '' };
  };
  const all = await runExtendedSuite(ctx, kube);
  const deploymentCreate = all.find((r) => r.name === 'create: Deployment deployment-untrusted')!;
  t.true(deploymentCreate.passed, JSON.stringify(deploymentCreate));
  const update = all.find((r) => r.name === 'update: Deployment deployment-update-to-untrusted')!;
  t.true(update.passed, JSON.stringify(update));
  const calls = kube.log((c) => c.key.includes('deployment-update-to-untrusted'));
  t.deepEqual(calls, [
    'createObject apps/v1/Deployment/v/bootstrap-verify-deployment-update-to-untrusted',
    'get apps/v1/Deployment/v/bootstrap-verify-deployment-update-to-untrusted',
    'replaceObject apps/v1/Deployment/v/bootstrap-verify-deployment-update-to-untrusted',
    'delete apps/v1/Deployment/v/bootstrap-verify-deployment-update-to-untrusted',
    'get apps/v1/Deployment/v/bootstrap-verify-deployment-update-to-untrusted',
  ]);
  const replaced = kube.calls.find((c) => c.op === 'replaceObject' && c.key.includes('deployment-update-to-untrusted'))!;
  t.true(replaced.dryRun);
  t.deepEqual(
    (podSpecOf(replaced.body as KubeObject)!.containers as { image: string }[]).map((x) => x.image),
    ['nginx:1.21.1'],
  );
  t.is(
    kube.calls.filter((c) => c.op === 'createObject' && c.dryRun === false).length,
    kube.calls.filter((c) => c.op === 'replaceObject').length,
  );
  t.is([...kube.objects.keys()].filter((k) => !k.startsWith('v1/Pod/')).length, 0, 'no workload left behind');
});

test('runExtendedSuite: an update that meets a conflict (a controller wrote in between) reads again and retries', async (t) => {
  const ctx = makeCtx(t, { verifyNamespace: 'v' });
  ctx.registryHost = 'reg:5000';
  const kube = new FakeKube();
  let conflicts = 2;
  kube.admission = (op, object, dryRun): AdmissionOutcome => {
    if (op === 'update' && dryRun && object.kind === 'Deployment' && conflicts-- > 0)
      return { allowed: false, code: 409, message: 'Operation cannot be fulfilled: the object has been modified' };
    return { allowed: true, code: 201, message: '' };
  };
  const all = await runExtendedSuite(ctx, kube);
  const allowed = all.find((r) => r.name === 'update: Deployment deployment-update-allowed')!;
  const untrusted = all.find((r) => r.name === 'update: Deployment deployment-update-to-untrusted')!;
  t.true(allowed.passed && untrusted.actual === 'admitted', JSON.stringify([allowed, untrusted]));
  const replaces = kube.calls.filter((c) => c.op === 'replaceObject' && c.key.includes('/Deployment/')).length;
  t.is(replaces, 4, 'two conflicts, each followed by a fresh read and a retry');
});

test('the matrix updates every kind whose pod template may change, to a denied image; a Job’s may not (refused before any webhook)', async (t) => {
  const cases = await loadExtendedCases('reg:5000');
  for (const { kind } of WORKLOAD_KINDS.filter((k) => k.kind !== 'Job'))
    t.true(
      cases.some((c) => c.kind === kind && c.via === 'update' && c.expect === 'deny'),
      `no denied update of a ${kind}`,
    );
  t.false(
    cases.some((c) => c.kind === 'Job' && c.via === 'update'),
    'a Job update case would meet "field is immutable" (422), not the policy',
  );
  // The base objects have fixed names: two cases of one kind under one name would take it from each other.
  const names = cases.map((c) => {
    const o = caseObject(c, 'ns', 'base:1');
    return `${o.kind}/${o.metadata!.name}`;
  });
  t.is(new Set(names).size, names.length);
});
