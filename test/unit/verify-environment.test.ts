// verify's first step: an environment that is not up is reported in one line with the fix, before any check runs.
import test from 'ava';
import type { KubeObject } from '../../src/adapters/kube.js';
import { verify } from '../../src/commands/verify.js';
import { isBootstrapError } from '../../src/errors.js';
import { messages } from '../../src/messages.js';
import { POLICY_STATUS_ANNOTATION } from '../../src/manifests.js';
import { environmentProblem, readEnvironment, type EnvironmentFacts } from '../../src/environment-check.js';
import { upEnvironment, FakeKube, makeCtx } from '../helpers/fakes.js';
import { recordingIo } from '../helpers/run.js';

const up: EnvironmentFacts = {
  webhookRegistered: true,
  rollout: { done: true, detail: '1/1 ready' },
  policies: [
    { name: 'opa-default-system-main', status: { ok: true }, stale: false },
    { name: 'image-policy', status: { ok: true }, stale: false },
  ],
};
const withPolicy = (status: EnvironmentFacts['policies'][number]['status'], stale = false): EnvironmentFacts => ({
  ...up,
  policies: [up.policies[0]!, { name: 'image-policy', status, stale }],
});

const table: [string, EnvironmentFacts, string | undefined][] = [
  ['everything up', up, undefined],
  ['no webhook', { ...up, webhookRegistered: false }, 'the admission webhook opa-validating-webhook is not registered'],
  [
    'no webhook and no OPA: the webhook is named first',
    { webhookRegistered: false, rollout: { done: false, detail: 'no Deployment opa/opa' }, policies: [] },
    'the admission webhook opa-validating-webhook is not registered',
  ],
  ['OPA rolling out', { ...up, rollout: { done: false, detail: '0/1 pods available' } }, 'OPA is not ready (0/1 pods available)'],
  ['policy never loaded', withPolicy(undefined), 'OPA does not hold the policy: kube-mgmt has not loaded ConfigMap opa/image-policy'],
  [
    'policy refused',
    withPolicy({ ok: false, error: '1 error occurred: x.rego:3: rego_parse_error', transport: false }),
    'OPA does not hold the policy: kube-mgmt could not load ConfigMap opa/image-policy (1 error occurred: x.rego:3: rego_parse_error)',
  ],
  // Readiness, not kube-mgmt's status time, says whether OPA holds the policy (see environmentProblem).
  ['status older than the OPA, but OPA ready', withPolicy({ ok: true }, true), undefined],
];

for (const [name, facts, expected] of table) {
  test(`environmentProblem: ${name}`, (t) => {
    t.is(environmentProblem(facts), expected);
  });
}

const configMap = (name: string, status?: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'opa', annotations: status ? { [POLICY_STATUS_ANNOTATION]: status } : {} },
  }) as KubeObject;

const healthyKube = () => new FakeKube().seed(...upEnvironment());

test('readEnvironment: reads the webhook, the OPA Deployment and both policy ConfigMaps', async (t) => {
  const facts = await readEnvironment(healthyKube());
  t.true(facts.webhookRegistered);
  t.true(facts.rollout.done);
  t.deepEqual(
    facts.policies.map((p) => [p.name, p.status?.ok, p.stale]),
    [
      ['opa-default-system-main', true, false],
      ['image-policy', true, false],
    ],
  );
  t.is(environmentProblem(facts), undefined);
});

test('verify after down: one error with the fix, exit code 1, no pod request and no table', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost: '127.0.0.1:5000' }, { suite: 'extended', json: true });
  const kube = ctx.services.fakes.kube; // empty: nothing registered, nothing deployed
  const io = recordingIo();
  const error = await t.throwsAsync(verify(ctx, io));
  t.true(isBootstrapError(error));
  if (!isBootstrapError(error)) return;
  t.is(error.exitCode, 1);
  t.is(error.problem, 'Nothing to verify: the admission webhook opa-validating-webhook is not registered.');
  t.false(error.problem.includes('\n'));
  t.regex(error.fix, /`bootstrap up`/);
  t.deepEqual(io.printed, []);
  t.deepEqual(ctx.checks, []);
  t.false(
    kube.calls.some((c) => c.op !== 'get' && c.op !== 'list'),
    kube.log().join('\n'),
  );
});

test('verify on an environment that is up runs the checks', async (t) => {
  const ctx = makeCtx(t, { cluster: 'existing', registryHost: '127.0.0.1:5000' }, { json: true });
  const kube = healthyKube();
  ctx.kube = kube;
  const io = recordingIo();
  // Everything admitted by the fake: the two bad pods fail, so verify throws, but after running the checks.
  await t.throwsAsync(verify(ctx, io), { message: /2 of 3 checks/ });
  t.is(ctx.checks.length, 3);
  t.is(kube.log((c) => c.op === 'createPod').length, 3);
  t.is(io.printed.length, 1);
});

test('verify before any up (minikube: no context named after the profile): nothing to verify, run bootstrap up', async (t) => {
  const ctx = makeCtx(t, { registryHost: 'host.minikube.internal:5000' });
  ctx.services.kube = async (name) => {
    throw messages.unknownKubeContext(name ?? '', []);
  };
  const error = await t.throwsAsync(verify(ctx, recordingIo()));
  t.true(isBootstrapError(error));
  if (!isBootstrapError(error)) return;
  t.is(error.exitCode, 1);
  t.is(error.problem, "Nothing to verify: there is no kubeconfig context for minikube profile 'trusted-registry'.");
  t.regex(error.fix, /`bootstrap up`/);
});
