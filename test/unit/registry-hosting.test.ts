// KEP-1755: the addresses advertised in kube-public/local-registry-hosting, the object, and how up treats one that is not ours.
import test from 'ava';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/adapters/kube.js';
import type { Ctx } from '../../src/context.js';
import {
  readRegistryHosting,
  registryHosting,
  registryHostingConfigMap,
  REGISTRY_HOSTING_HELP,
  type LocalRegistryHostingV1,
  type RegistryHostingInputs,
} from '../../src/registry-hosting.js';
import { upTasks } from '../../src/commands/up.js';
import { planRegistryHosting, registryHostingTask } from '../../src/steps/hosting.js';
import { FakeKube, makeCtx } from '../helpers/fakes.js';
import { runSilently, silentListr } from '../helpers/run.js';

const KEY = 'v1/ConfigMap/kube-public/local-registry-hosting';
const REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-public', name: 'local-registry-hosting' };

test('registryHosting table: push from the machine, pull by the node, the cluster network only where there is one', (t) => {
  const table: [string, RegistryHostingInputs, LocalRegistryHostingV1][] = [
    [
      'minikube defaults',
      { config: { registryPort: 5000 }, registryHost: 'host.minikube.internal:5000' },
      { host: 'localhost:5000', hostFromContainerRuntime: 'host.minikube.internal:5000', help: REGISTRY_HOSTING_HELP },
    ],
    [
      'another port (AirPlay holds 5000)',
      { config: { registryPort: 5001 }, registryHost: 'host.minikube.internal:5001' },
      { host: 'localhost:5001', hostFromContainerRuntime: 'host.minikube.internal:5001', help: REGISTRY_HOSTING_HELP },
    ],
    [
      'existing cluster with --registry-host',
      { config: { registryPort: 5000 }, registryHost: '192.168.49.1:5000' },
      { host: 'localhost:5000', hostFromContainerRuntime: '192.168.49.1:5000', help: REGISTRY_HOSTING_HELP },
    ],
    [
      'a name on the cluster network',
      { config: { registryPort: 5001 }, registryHost: 'localhost:5001', clusterNetworkHost: 'registry:5000' },
      {
        host: 'localhost:5001',
        hostFromContainerRuntime: 'localhost:5001',
        hostFromClusterNetwork: 'registry:5000',
        help: REGISTRY_HOSTING_HELP,
      },
    ],
  ];
  for (const [name, inputs, expected] of table) t.deepEqual(registryHosting(inputs), expected, name);
  t.false('hostFromClusterNetwork' in registryHosting(table[0]![1]), 'absent, not empty, when there is none');
});

test('the ConfigMap: kube-public/local-registry-hosting, our labels, localRegistryHosting.v1 as YAML that reads back', (t) => {
  const hosting = registryHosting({ config: { registryPort: 5000 }, registryHost: 'host.minikube.internal:5000' });
  const cm = registryHostingConfigMap(hosting);
  t.is(cm.apiVersion, 'v1');
  t.is(cm.kind, 'ConfigMap');
  t.deepEqual(cm.metadata, {
    name: 'local-registry-hosting',
    namespace: 'kube-public',
    labels: { 'app.kubernetes.io/managed-by': 'bootstrap', 'app.kubernetes.io/part-of': 'trusted-registry' },
  });
  const data = cm.data as Record<string, string>;
  t.deepEqual(Object.keys(data), ['localRegistryHosting.v1']);
  t.deepEqual(parse(data['localRegistryHosting.v1']!), hosting);
  t.deepEqual(readRegistryHosting(cm), hosting);
  t.true(REGISTRY_HOSTING_HELP.startsWith('https://'));
});

test('readRegistryHosting: kind’s own ConfigMap reads; anything else is undefined', (t) => {
  const kinds: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'local-registry-hosting', namespace: 'kube-public' },
    data: { 'localRegistryHosting.v1': 'host: "localhost:5001"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n' },
  };
  t.deepEqual(readRegistryHosting(kinds), { host: 'localhost:5001', help: 'https://kind.sigs.k8s.io/docs/user/local-registry/' });
  t.is(readRegistryHosting(undefined), undefined);
  t.is(readRegistryHosting({ ...kinds, data: {} }), undefined);
  t.is(readRegistryHosting({ ...kinds, data: { 'localRegistryHosting.v1': 'host: [' } }), undefined);
  t.is(readRegistryHosting({ ...kinds, data: { 'localRegistryHosting.v1': 'help: x\n' } }), undefined);
});

const ours = () =>
  registryHostingConfigMap(registryHosting({ config: { registryPort: 5000 }, registryHost: 'host.minikube.internal:5000' }));
const kinds = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'local-registry-hosting', namespace: 'kube-public' },
  data: { 'localRegistryHosting.v1': 'host: "localhost:5001"\n' },
});

test('planRegistryHosting: absent → create (one get); ours as it is → unchanged, as the dry-run apply says; changed → update', async (t) => {
  const kube = new FakeKube();
  t.deepEqual(await planRegistryHosting(kube, ours()), { change: 'create' });
  t.deepEqual(kube.log(), [`get ${KEY}`]);
  kube.seed(ours());
  t.deepEqual(await planRegistryHosting(kube, ours()), { change: 'unchanged' });
  // Present: the API server's dry-run apply is what says whether it would change; nothing is written.
  t.deepEqual(
    kube.calls.slice(1).map((c) => `${c.op}${c.dryRun ? ' (dry run)' : ''} ${c.key}`),
    [`get ${KEY}`, `apply (dry run) ${KEY}`],
  );
  kube.seed({ ...ours(), data: { 'localRegistryHosting.v1': 'host: "localhost:9999"\n' } });
  t.deepEqual(await planRegistryHosting(kube, ours()), { change: 'update' });
  t.deepEqual(await planRegistryHosting(undefined, ours()), { change: 'create' }, 'a dry run without a cluster plans it new');
});

test('planRegistryHosting: one without our label is theirs (never compared, never changed), and what it names is reported', async (t) => {
  const kube = new FakeKube().seed(kinds());
  t.deepEqual(await planRegistryHosting(kube, ours()), { theirs: { host: 'localhost:5001' } });
  t.deepEqual(kube.log(), [`get ${KEY}`]);
  // Someone else's label is not ours either.
  const helm = new FakeKube().seed({ ...kinds(), metadata: { ...kinds().metadata, labels: { 'app.kubernetes.io/managed-by': 'Helm' } } });
  t.true('theirs' in (await planRegistryHosting(helm, ours())));
  t.deepEqual(
    helm.log((c) => c.op === 'apply'),
    [],
  );
});

const run = (ctx: Ctx) => runSilently([registryHostingTask()], ctx);

test('registryHostingTask: applies ours with the node’s pull address; a foreign one leaves a note with the fix', async (t) => {
  const ctx = makeCtx(t, { registryPort: 5001 });
  const { kube } = ctx.services.fakes;
  await run(ctx);
  t.deepEqual(readRegistryHosting(kube.stored(REF)), {
    host: 'localhost:5001',
    hostFromContainerRuntime: 'host.minikube.internal:5001',
    help: REGISTRY_HOSTING_HELP,
  });
  t.deepEqual(ctx.notes, []);

  const other = makeCtx(t, { cluster: 'existing', registryHost: '10.0.0.1:5000' });
  other.services.fakes.kube.seed(kinds());
  await run(other);
  t.deepEqual(other.services.fakes.kube.stored(REF), kinds());
  t.is(other.notes.length, 1);
  t.regex(other.notes[0]!, /^ConfigMap kube-public\/local-registry-hosting exists, but bootstrap did not create it/);
  t.regex(other.notes[0]!, /use the registry it names \(localhost:5001\), not ours \(localhost:5000\)/);
  t.regex(other.notes[0]!, /kubectl -n kube-public delete configmap local-registry-hosting/);
});

test('registryHostingTask --dry-run: reads only (a get, and a dry-run apply when it exists), no write; it shows the object it would apply, or that there is nothing to do', async (t) => {
  const ctx = makeCtx(t, {}, { dryRun: true });
  const { kube } = ctx.services.fakes;
  const listr = silentListr([registryHostingTask()], ctx);
  await listr.run();
  t.deepEqual(kube.log(), [`get ${KEY}`], 'the plan reads the ConfigMap; nothing is written');
  t.deepEqual(ctx.services.fakes.kubeRequests, ['trusted-registry']);
  t.is(kube.stored(REF), undefined);
  const skip = listr.tasks[0]!.message.skip!;
  t.true(
    skip.startsWith('dry run: server-side apply (field manager bootstrap) — create ConfigMap kube-public/local-registry-hosting:\n'),
    skip,
  );
  t.true(skip.includes('hostFromContainerRuntime: host.minikube.internal:5000'), skip);

  // Ours, as up leaves it: nothing to do.
  const converged = makeCtx(t, {}, { dryRun: true });
  converged.services.fakes.kube.seed(ours());
  const again = silentListr([registryHostingTask()], converged);
  await again.run();
  t.deepEqual(
    converged.services.fakes.kube.calls.map((c) => `${c.op}${c.dryRun ? ' (dry run)' : ''} ${c.key}`),
    [`get ${KEY}`, `apply (dry run) ${KEY}`],
    'a read, and the dry-run apply that compares: nothing persisted',
  );
  t.is(
    again.tasks[0]!.title,
    'Registry hosting for tools (kube-public/local-registry-hosting): nothing to do (it says push to localhost:5000, manifests use host.minikube.internal:5000)',
  );
});

test('up writes it after the check that refuses objects not ours, before OPA', (t) => {
  const titles = upTasks().map((task) => String(task.title));
  const at = (prefix: string) => titles.findIndex((title) => title.startsWith(prefix));
  t.true(at('Namespace opa and secrets') >= 0);
  t.is(at('Registry hosting'), at('Namespace opa and secrets') + 1);
  t.is(at('OPA and kube-mgmt'), at('Registry hosting') + 1);
});
