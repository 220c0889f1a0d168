// Plans: what server-side apply would change on a live object, and the dry-run plans of the node step and of down,
// each read from the same sources the action uses.
import test from 'ava';
import { refOf, type KubeObject } from '../../src/adapters/kube.js';
import { objectChange, sameObject } from '../../src/object-plan.js';
import { convergeRegistry } from '../../src/registry-container.js';
import { existingNodesReachRegistryTask, nodeReachesRegistryTask } from '../../src/steps/cluster.js';
import { downTasks } from '../../src/steps/down.js';
import { containerNode, FakeKube, fakeTask, makeCtx, runWithTestRenderer, type FakeCtx } from '../helpers/fakes.js';

const service = (ports: Record<string, unknown>[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'opa', namespace: 'opa', labels: { app: 'opa' }, ...extra },
  spec: { selector: { app: 'opa' }, ports },
});

test('sameObject: the same content whatever the bookkeeping (managedFields, resourceVersion, generation, status, key order, Dates)', (t) => {
  const live = {
    ...service([{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }], {
      resourceVersion: '7',
      generation: 2,
      managedFields: [{ manager: 'bootstrap', time: new Date('2026-01-01T00:00:00Z') }],
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
    }),
    status: { loadBalancer: {} },
  } as KubeObject;
  const wouldBe = structuredClone(live) as KubeObject & { metadata: Record<string, unknown> } & Record<string, any>;
  wouldBe.metadata.resourceVersion = '8';
  wouldBe.metadata.managedFields = [{ manager: 'bootstrap', time: new Date('2026-02-01T00:00:00Z') }];
  (wouldBe.metadata as Record<string, unknown>).creationTimestamp = '2026-01-01T00:00:00.000Z';
  t.true(sameObject(live, { ...wouldBe, status: {} } as KubeObject));
  const table: [string, (o: KubeObject & Record<string, any>) => void][] = [
    ['a port changed by hand', (o) => (o.spec.ports[0].targetPort = 9443)],
    ['a key added to an atomic selector', (o) => (o.spec.selector.extra = 'x')],
    ['a list item more', (o) => o.spec.ports.push({ name: 'x', port: 1 })],
    ['our label gone', (o) => delete o.metadata!.labels!.app],
  ];
  for (const [what, change] of table) {
    const changed = structuredClone(live) as KubeObject & Record<string, any>;
    change(changed);
    t.false(sameObject(changed, live), what);
  }
});

test('objectChange: create when absent (no request); else the API server’s dry-run apply decides: unchanged only when it would leave the object as it is', async (t) => {
  const desired = service([{ name: 'https', port: 443, targetPort: 8443 }]);
  const kube = new FakeKube();
  t.is(await objectChange(kube, undefined, desired), 'create');
  t.is(await objectChange(undefined, desired, desired), 'create', 'no cluster read (a dry run that cannot connect): planned new');
  t.deepEqual(kube.log(), []);
  kube.seed(desired);
  t.is(await objectChange(kube, (await kube.get(refOf(desired)))!, desired), 'unchanged');
  // Tampered: the dry-run apply puts our selector back whole (atomic), so the answer differs from the live object.
  const tampered = service([{ name: 'https', port: 443, targetPort: 8443 }]);
  (tampered.spec as { selector: Record<string, string> }).selector = { app: 'opa', nobody: 'x' };
  kube.seed(tampered);
  t.is(await objectChange(kube, (await kube.get(refOf(desired)))!, desired), 'update');
  t.deepEqual(kube.stored(refOf(desired))!.spec, tampered.spec, 'the dry run changed nothing');
  t.true(
    kube.calls.filter((c) => c.op === 'apply').every((c) => c.dryRun === true),
    'only dry-run applies',
  );
});

/** The tasks' screen (listr2's test renderer), unindented; throws what the run threw. */
async function run(ctx: FakeCtx, tasks: Parameters<typeof runWithTestRenderer>[0]): Promise<string[]> {
  const { screen, error } = await runWithTestRenderer(tasks, ctx);
  if (error) throw error;
  return screen.map((line) => line.trim());
}

test('down --dry-run: the names down uses (compose file, state record), no call to anything', async (t) => {
  const ctx = makeCtx(t, { registryPort: 5001, verifyNamespace: 'checks' }, { dryRun: true, purge: true });
  await ctx.services.state.updateRecord({ createdProfile: true });
  const screen = await run(ctx, downTasks());
  const dir = ctx.services.state.dir;
  t.deepEqual(screen, [
    '↓ Admission webhook [dry run: delete ValidatingWebhookConfiguration opa-validating-webhook (only if labelled app.kubernetes.io/managed-by=bootstrap)]',
    '↓ Verification pods and workloads [dry run: delete every Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController, CronJob in namespace checks labelled app.kubernetes.io/managed-by=bootstrap]',
    '↓ Namespace opa [dry run: delete ClusterRoleBinding opa-viewer and Namespace opa (only if labelled app.kubernetes.io/managed-by=bootstrap)]',
    "↓ kube-system label [dry run: server-side apply Namespace kube-system without label openpolicyagent.org/webhook (drops only what bootstrap's field manager set)]",
    '↓ Registry hosting [dry run: delete ConfigMap kube-public/local-registry-hosting (only if labelled app.kubernetes.io/managed-by=bootstrap)]',
    '↓ Cluster [dry run: minikube delete --profile=trusted-registry]',
    '↓ Registry container [dry run: docker rm -f registry (only if labelled app.kubernetes.io/managed-by=bootstrap), and the packet-filter rules commented bootstrap-registry-guard:registry]',
    `↓ Purge [dry run: docker volume rm bootstrap-registry-data && rm ca.key ca.crt tls.key tls.crt kube-mgmt.token state.json in ${dir} (and the directory, if that leaves it empty)]`,
  ]);
  const { kube, docker, cmd } = ctx.services.fakes;
  t.deepEqual([kube.calls, docker.calls, cmd.calls], [[], [], []]);

  // A profile bootstrap has no record of creating is kept, as down keeps it; --keep-registry keeps the volume too.
  const kept = makeCtx(t, {}, { dryRun: true, purge: true, keepRegistry: true });
  const keptScreen = await run(kept, downTasks());
  t.true(keptScreen.includes('↓ Cluster [dry run: keep minikube profile trusted-registry: bootstrap has no record of creating it]'));
  t.true(keptScreen.some((line) => line.startsWith(`↓ Purge [dry run: rm ca.key`)));
});

test('node step --dry-run: the node is this machine (none driver): nothing to change', async (t) => {
  const ctx = makeCtx(t, { minikubeDriver: 'none', profile: 'minikube' }, { dryRun: true });
  const screen = await run(ctx, [nodeReachesRegistryTask()]);
  t.deepEqual(screen, [
    '✔ Registry reachable from the node: nothing to do (the node is this machine; up checks that http://host.minikube.internal:5000/v2/ answers here)',
  ]);
});

test('node step --dry-run, VM driver: publishing on the node’s host address (as the node resolves it) is the change; once published, nothing', async (t) => {
  const ctx = makeCtx(t, { minikubeDriver: 'qemu2' }, { dryRun: true });
  const { cmd } = ctx.services.fakes;
  cmd.on(['minikube', 'ssh', '--profile=trusted-registry', '--', 'getent ahostsv4 host.minikube.internal'], {
    stdout: '192.168.105.1   STREAM host.minikube.internal\n',
  });
  const probe =
    "minikube ssh --profile=trusted-registry -- 'curl -sS -o /dev/null -w '\\''%{http_code}'\\'' --max-time 5 http://host.minikube.internal:5000/v2/'";
  t.deepEqual(await run(ctx, [nodeReachesRegistryTask()]), [
    `↓ Registry reachable from the node [dry run: publish the registry on 192.168.105.1 too (remove the registry container and create it again: the images stay in its volume) && ${probe}]`,
  ]);
  t.false(
    cmd.calls.some((c) => c.join(' ').includes('curl')),
    'the probe is planned, not run',
  );
  const published = makeCtx(t, { minikubeDriver: 'qemu2' }, { dryRun: true }, ctx.services);
  await ctx.services.state.updateRecord({ registryNodeAddress: '192.168.105.1' });
  t.deepEqual(await run(published, [nodeReachesRegistryTask()]), [
    `✔ Registry reachable from the node: nothing to do (the registry is published on 192.168.105.1; up checks from the node: ${probe})`,
  ]);
});

test('--cluster existing --dry-run: a kind node in a container here gets the join and the mirror, named; no call changes anything', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost: 'localhost:5001' }, { dryRun: true });
  const { docker } = ctx.services.fakes;
  containerNode(ctx.services.fakes, 'kind-control-plane', '172.18.0.2', 'kind');
  docker.images.add('registry:2.7.1');
  await convergeRegistry(makeCtx(t, { cluster: 'existing', registryHost: 'localhost:5001' }, {}, ctx.services), fakeTask().task);
  docker.calls.length = 0;
  const [line] = await run(ctx, [existingNodesReachRegistryTask()]);
  t.regex(
    line!,
    /^↓ Registry reachable from the nodes \[dry run: docker network connect kind registry && docker exec kind-control-plane sh -c '/,
  );
  t.true(line!.includes('/etc/containerd/certs.d/localhost:5001/hosts.toml'));
  t.deepEqual(
    docker.calls.map((c) => c[0]),
    ['containerWithAddress', 'inspectContainer'],
  );
});
