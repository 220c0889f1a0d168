// The kube adapter's failures: client-node's ApiException (and no answer at all) become a BootstrapError that names
// the operation and the object, with a fix and the client's error as cause; the 404s and admission answers the
// contracts turn into values stay values. Against client-node itself: its ApiException, and a loopback API server.
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  apiError,
  createKubeClient,
  kubeFailure,
  kubeRequestError,
  listRequest,
  objectRequest,
  type KubeClient,
} from '../../src/adapters/kube.js';
import { BootstrapError } from '../../src/errors.js';

const CLUSTER = { context: 'kind-dev', server: 'https://127.0.0.1:6443' };
const IMAGE_POLICY = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'opa', name: 'image-policy' };

/** The API server's Status, as client-node hands it over: the response body as JSON text. */
const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

const FORBIDDEN =
  'configmaps "image-policy" is forbidden: User "dev" cannot patch resource "configmaps" in API group "" in the namespace "opa"';

test('an ApiException 403 on apply: Cannot apply ConfigMap opa/image-policy: 403 Forbidden: <Status message>; RBAC fix; cause kept', (t) => {
  const cause = new ApiException(403, 'Unsuccessful HTTP Request', status(403, 'Forbidden', FORBIDDEN), {});
  const error = kubeRequestError({ ...objectRequest('apply', 'patch', IMAGE_POLICY), ...CLUSTER }, cause);
  t.true(error instanceof BootstrapError);
  t.is(error.problem, `Cannot apply ConfigMap opa/image-policy: 403 Forbidden: ${FORBIDDEN}`);
  t.is(error.exitCode, 1);
  t.regex(error.fix, /user of context 'kind-dev' lacks the RBAC permission to patch configmaps in namespace opa/);
  t.true(error.fix.includes('`kubectl --context kind-dev auth can-i patch configmaps -n opa`'), error.fix);
  t.regex(error.fix, /cluster-admin/);
  t.is(error.cause, cause);
  t.deepEqual(apiError(error), { code: 403, message: FORBIDDEN }, 'the status still reads through the cause');
});

test('kubeFailure and the fix per answer: 409 names field managers, 401 credentials, 404 what is missing, 422 the values, 5xx a retry', (t) => {
  const request = { ...objectRequest('patch', 'patch', IMAGE_POLICY), ...CLUSTER };
  const fail = (code: number, reason: string, message: string) =>
    kubeRequestError(request, new ApiException(code, 'Unsuccessful HTTP Request', status(code, reason, message), {}));

  const conflict = fail(409, 'Conflict', 'Apply failed with 1 conflict: conflict with "kubectl-edit"');
  t.is(
    conflict.problem,
    'Cannot patch ConfigMap opa/image-policy: 409 Conflict: Apply failed with 1 conflict: conflict with "kubectl-edit"',
  );
  t.regex(conflict.fix, /field manager/);
  t.true(
    conflict.fix.includes('kubectl --context kind-dev get configmaps image-policy -n opa -o yaml --show-managed-fields'),
    conflict.fix,
  );

  t.regex(
    fail(404, 'NotFound', 'configmaps "image-policy" not found').problem,
    /^Cannot patch ConfigMap opa\/image-policy: 404 Not Found: /,
  );
  t.regex(fail(404, 'NotFound', '').fix, /bootstrap status/);
  t.regex(fail(422, 'Invalid', 'x').problem, /: 422 Unprocessable Entity: x$/);
  t.regex(fail(422, 'Invalid', 'x').fix, /flag or config file/);
  t.regex(fail(503, 'ServiceUnavailable', 'x').fix, /run the command again/);

  // client-node's generated APIs throw a 401 without a body: the status and its phrase alone.
  const unauthorized = kubeRequestError(request, new ApiException(401, 'Unauthorized', undefined, {}));
  t.is(unauthorized.problem, 'Cannot patch ConfigMap opa/image-policy: 401 Unauthorized');
  t.regex(unauthorized.fix, /credentials of context 'kind-dev'/);

  // A body that is not a Status (a proxy's page): its text.
  t.deepEqual(kubeFailure(new ApiException(502, 'Unsuccessful HTTP Request', '<html>Bad gateway</html>\n', {})), {
    kind: 'status',
    code: 502,
    reason: 'Bad Gateway',
    message: '<html>Bad gateway</html>',
  });
});

test('no answer at all: the client’s message, and the fix says to start the cluster', (t) => {
  const refused = Object.assign(new Error('request to https://127.0.0.1:6443/api/v1 failed, reason: connect ECONNREFUSED 127.0.0.1:6443'), {
    type: 'system',
    errno: 'ECONNREFUSED',
    code: 'ECONNREFUSED',
  });
  const error = kubeRequestError({ ...listRequest('Pod', { namespace: 'opa', labelSelector: 'app=opa' }), ...CLUSTER }, refused);
  t.is(
    error.problem,
    'Cannot list Pods in namespace opa labelled app=opa: request to https://127.0.0.1:6443/api/v1 failed, reason: connect ECONNREFUSED 127.0.0.1:6443',
  );
  t.regex(error.fix, /does not answer: is the cluster running\? `bootstrap status`.*`minikube start -p <profile>`/);
  t.is(error.cause, refused);
  t.is(apiError(error), undefined);

  const tls = kubeFailure(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }));
  t.is(tls.kind, 'tls');
  t.is(kubeFailure(new Error('Unrecognized API version and kind: v1 Widget')).kind, 'other');
});

test('objectRequest and listRequest: the names failures use', (t) => {
  t.like(objectRequest('create', 'create', { kind: 'Pod', namespace: 'default', generateName: 'pod-ok-' }), {
    target: 'Pod default/pod-ok-…',
    resource: 'pods',
  });
  t.like(objectRequest('apply', 'patch', { kind: 'ValidatingWebhookConfiguration', name: 'opa-validating-webhook' }), {
    target: 'ValidatingWebhookConfiguration opa-validating-webhook',
    resource: 'validatingwebhookconfigurations',
    namespace: undefined,
  });
  t.is(listRequest('Namespace', {}).target, 'Namespaces');
  t.is(listRequest('NetworkPolicy', {}).resource, 'networkpolicies');
  t.is(listRequest('Ingress', { namespace: 'x' }).target, 'Ingresses in namespace x');
});

// --- the adapter itself, against a loopback API server -----------------------------------------------------

type Route = (request: http.IncomingMessage) => { code: number; body: unknown } | undefined;

const RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'v1',
  resources: [
    { name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'list', 'patch', 'delete'] },
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'create', 'delete'] },
  ],
};

/** An API server on loopback that answers discovery, then each request by the first route that takes it. */
async function apiServer(t: { teardown(fn: () => void): void }, route: Route): Promise<{ kube: KubeClient; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume();
    const answer = request.url?.split('?')[0] === '/api/v1' ? { code: 200, body: RESOURCES } : route(request);
    response.statusCode = answer?.code ?? 500;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(answer?.body ?? { kind: 'Status', status: 'Failure', message: 'no route', code: 500 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return { kube: await clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), requests };
}

function clientFor(server: string): Promise<KubeClient> {
  const config = new KubeConfig();
  config.loadFromOptions({
    // Plain HTTP is for this loopback server only: client-node allows it with skipTLSVerify.
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'dev', token: 'token' }],
    contexts: [{ name: 'kind-dev', cluster: 'c', user: 'dev' }],
    currentContext: 'kind-dev',
  });
  return createKubeClient(config);
}

const statusBody = (code: number, reason: string, message: string) => JSON.parse(status(code, reason, message)) as unknown;

test('adapter: a 403 on apply from the API server is thrown as Cannot apply ConfigMap opa/image-policy, client-node’s ApiException as cause', async (t) => {
  const { kube, requests } = await apiServer(t, (r) =>
    r.method === 'PATCH' ? { code: 403, body: statusBody(403, 'Forbidden', FORBIDDEN) } : undefined,
  );
  const error = await t.throwsAsync(
    kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'image-policy', namespace: 'opa' } }),
    {
      instanceOf: BootstrapError,
    },
  );
  t.is(error!.message.split('\n')[0], `Cannot apply ConfigMap opa/image-policy: 403 Forbidden: ${FORBIDDEN}`);
  t.true((error as BootstrapError).fix.includes('auth can-i patch configmaps -n opa'));
  t.true(error!.cause instanceof ApiException, String(error!.cause));
  t.is((error!.cause as ApiException<unknown>).code, 403);
  t.true(requests.includes('PATCH /api/v1/namespaces/opa/configmaps/image-policy?fieldManager=bootstrap&force=true'), requests.join('\n'));
});

test('adapter: 404 is undefined for get and false for delete; other failures of get, delete, list and mergePatch name theirs', async (t) => {
  let code = 404;
  const { kube } = await apiServer(t, () => ({ code, body: statusBody(code, code === 404 ? 'NotFound' : 'Forbidden', `answer ${code}`) }));
  t.is(await kube.get(IMAGE_POLICY), undefined);
  t.false(await kube.delete(IMAGE_POLICY));
  // mergePatch's contract has no 404 case: it throws, and the code reads through.
  const patch = await t.throwsAsync(kube.mergePatch(IMAGE_POLICY, { metadata: { annotations: { a: null } } }));
  t.is(patch!.message.split('\n')[0], 'Cannot patch ConfigMap opa/image-policy: 404 Not Found: answer 404');
  t.is(apiError(patch)?.code, 404);

  code = 403;
  const get = await t.throwsAsync(kube.get(IMAGE_POLICY), { instanceOf: BootstrapError });
  t.is(get!.message.split('\n')[0], 'Cannot get ConfigMap opa/image-policy: 403 Forbidden: answer 403');
  const del = await t.throwsAsync(kube.delete(IMAGE_POLICY), { instanceOf: BootstrapError });
  t.is(del!.message.split('\n')[0], 'Cannot delete ConfigMap opa/image-policy: 403 Forbidden: answer 403');
  const list = await t.throwsAsync(kube.list('v1', 'Pod', { namespace: 'opa', labelSelector: 'app=opa' }), { instanceOf: BootstrapError });
  t.is(list!.message.split('\n')[0], 'Cannot list Pods in namespace opa labelled app=opa: 403 Forbidden: answer 403');
});

test('adapter: delete asks for background propagation, and for the grace period only when given one', async (t) => {
  const { kube, requests } = await apiServer(t, (r) =>
    r.method === 'DELETE' ? { code: 200, body: { kind: 'Status', status: 'Success' } } : undefined,
  );
  const pod = { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'p' };
  t.true(await kube.delete(pod));
  t.true(await kube.delete(pod, { gracePeriodSeconds: 0 }));
  t.deepEqual(
    requests.filter((r) => r.startsWith('DELETE')),
    [
      'DELETE /api/v1/namespaces/default/pods/p?propagationPolicy=Background',
      'DELETE /api/v1/namespaces/default/pods/p?gracePeriodSeconds=0&propagationPolicy=Background',
    ],
  );
});

test('adapter: admission requests still resolve to every answer (a webhook’s 403 is a denial, not an error)', async (t) => {
  const denial =
    'admission webhook "validating-webhook.openpolicyagent.org" denied the request: Image \'nginx:1.21.1\' comes from untrusted registry';
  const { kube } = await apiServer(t, (r) => (r.method === 'POST' ? { code: 403, body: statusBody(403, 'Forbidden', denial) } : undefined));
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'pod-bad-repo-' },
    spec: { containers: [{ name: 'c', image: 'nginx:1.21.1' }] },
  };
  t.deepEqual(await kube.createPod('default', pod, { dryRun: true }), { allowed: false, code: 403, message: denial });
});

test('adapter: no API server at all: Cannot create Pod default/pod-ok-…, Cannot post to Service …, with the start-the-cluster fix', async (t) => {
  const kube = await clientFor('https://127.0.0.1:1'); // port 1 on loopback refuses at once
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'pod-ok-' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } };
  const create = await t.throwsAsync(kube.createPod('default', pod, { dryRun: true }), { instanceOf: BootstrapError });
  t.regex(create!.message.split('\n')[0]!, /^Cannot create Pod default\/pod-ok-…: .*ECONNREFUSED/);
  t.regex((create as BootstrapError).fix, /is the cluster running\?.*`bootstrap up`/);
  t.is((create!.cause as { code?: string }).code, 'ECONNREFUSED');

  const post = await t.throwsAsync(
    kube.postToService({ namespace: 'opa', service: 'opa', scheme: 'https', port: 443, path: '/v1/data' }, {}),
    { instanceOf: BootstrapError },
  );
  t.regex(post!.message.split('\n')[0]!, /^Cannot post to Service opa\/opa \(https port 443, \/v1\/data\): .*ECONNREFUSED/);
});
