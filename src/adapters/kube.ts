// Kubernetes, through @kubernetes/client-node only: server-side apply with our field manager, reads,
// deletes, and the pod requests that exercise the admission webhook.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { errorText } from '../errors.js';
import { messages, type KubeFailure, type KubeRequest } from '../messages.js';

export const FIELD_MANAGER = 'bootstrap';

export type KubeObject = KubernetesObject & Record<string, unknown>;

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What the API server answered to a pod request: admitted, or denied with its message. */
export interface AdmissionOutcome {
  allowed: boolean;
  code: number;
  message: string;
}

/**
 * The cluster, through one kubeconfig context.
 *
 * Failures: every method throws a BootstrapError (messages.kubeRequestFailed) that names the operation and the object
 * (`Cannot apply ConfigMap opa/image-policy: 403 Forbidden: …`) with a fix, and keeps the client's error as `cause`
 * (`apiError(error)?.code` still reads the HTTP status through it) — except the answers each method's contract turns
 * into a value: a 404 for `get` and `delete`, and any answer of the API server to the admission requests.
 */
export interface KubeClient {
  readonly contextName: string;
  readonly server: string;
  /** The API server's version (gitVersion). Throws messages.clusterUnreachable when it does not answer. */
  serverVersion(): Promise<string>;
  /** Server-side apply with our field manager, taking back fields others changed (force); returns the live object. */
  apply<T extends KubeObject>(object: T, options?: { dryRun?: boolean }): Promise<T>;
  /** The live object; undefined on 404 (the object, its namespace or its API is not there). */
  get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  /**
   * Deletes in the background; resolves true when asked, false on 404 (already gone). `gracePeriodSeconds: 0` removes
   * a Pod at once even when a kubelet runs it or it is already terminating (what `kubectl delete --grace-period=0
   * --force` asks); without it a scheduled Pod stays, being deleted, for its termination grace period (30 s by
   * default). Other kinds have no grace period.
   */
  delete(ref: ObjectRef, options?: { gracePeriodSeconds?: number }): Promise<boolean>;
  /** Every object of a kind (in one namespace, or all), optionally by label selector; an empty list when none. */
  list(apiVersion: string, kind: string, options?: { namespace?: string; labelSelector?: string }): Promise<KubeObject[]>;
  /** A JSON merge patch (used only to drop an annotation another controller owns). Throws on 404 like on any failure. */
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
  /**
   * The admission requests (pod create, update, ephemeral containers; any object's create and replace): resolve to
   * what the API server answered, admitted or denied with its code and message, whatever the code (403 denied by the
   * webhook, 409 conflict, 422 invalid…). Throw only when there is no answer (no connection, a timeout).
   */
  createPod(namespace: string, pod: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  replacePod(namespace: string, pod: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  replaceEphemeralContainers(namespace: string, pod: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  /** Create or replace any object (a workload), answered as admitted or denied like the pod requests. */
  createObject(object: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  replaceObject(object: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  /**
   * POSTs JSON to a Service through the API server's service proxy
   * (`/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/<path>`), with this context's credentials; the
   * parsed JSON answer. How `audit` asks the running OPA, wherever the cluster is. Any status from 300 up, an answer
   * that is not JSON, no answer within 15s: thrown.
   */
  postToService<T>(
    target: { namespace: string; service: string; scheme: 'http' | 'https'; port: number; path: string },
    body: unknown,
  ): Promise<T>;
}

export const refOf = (object: KubernetesObject): ObjectRef => ({
  apiVersion: object.apiVersion!,
  kind: object.kind!,
  name: object.metadata!.name!,
  namespace: object.metadata?.namespace,
});

export const describeRef = (ref: ObjectRef) => `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;

/**
 * The HTTP status and Status.message of a failed API call, whatever shape the client gave it in; through the `cause`
 * of the adapter's own errors too. Undefined when the API server gave no answer (no connection, a timeout).
 */
export function apiError(error: unknown): { code: number; message: string } | undefined {
  const e = error as { code?: unknown; body?: unknown; message?: string; cause?: unknown };
  if (typeof e?.code !== 'number') return e instanceof Error && e.cause !== undefined && e.cause !== e ? apiError(e.cause) : undefined;
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* plain text body */
    }
  }
  const message = (body as { message?: string } | undefined)?.message ?? (typeof body === 'string' ? body : (e.message ?? ''));
  return { code: e.code, message };
}

/** What the API server's Status says, or its text body; empty when it sent neither. */
function statusMessage(body: unknown): string {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 500);
    }
  }
  const message = (status as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : '';
}

const UNREACHABLE = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up)\b/;
const TLS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/;

/**
 * Why a request failed, from what the client threw: client-node's ApiException (`code`, and the response `body`, the
 * API server's Status as JSON text), node-fetch's FetchError or Node's socket errors (a string `code`), or anything.
 */
export function kubeFailure(error: unknown): KubeFailure {
  const e = error as { code?: unknown; body?: unknown; errors?: unknown[] } | undefined;
  if (typeof e?.code === 'number')
    return { kind: 'status', code: e.code, reason: http.STATUS_CODES[e.code] ?? '', message: statusMessage(e.body) };
  const codes = [e?.code, ...(Array.isArray(e?.errors) ? e.errors.map((x) => (x as { code?: unknown })?.code) : [])].filter(
    (c): c is string => typeof c === 'string',
  );
  const message = errorText(error);
  if (codes.some((c) => TLS.test(c))) return { kind: 'tls', message };
  if (codes.some((c) => UNREACHABLE.test(c)) || UNREACHABLE.test(message)) return { kind: 'unreachable', message };
  return { kind: 'other', message };
}

/** The RBAC resource of a kind, as `kubectl auth can-i` takes it: lower case, plural. */
export const resourceOf = (kind: string) => {
  const lower = kind.toLowerCase();
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
};

/** A request about one object, named as failures name it (an object the API server names by generateName: `pod-ok-…`). */
export function objectRequest(
  operation: string,
  verb: string,
  ref: { kind: string; name?: string; namespace?: string; generateName?: string },
): Omit<KubeRequest, 'context' | 'server'> {
  const name = ref.name ?? `${ref.generateName ?? ''}…`;
  return {
    operation,
    target: describeRef({ apiVersion: '', kind: ref.kind, namespace: ref.namespace, name }),
    verb,
    resource: resourceOf(ref.kind),
    name: ref.name,
    namespace: ref.namespace,
  };
}

/** A request about a set of objects: `Pods in namespace opa labelled app=opa`. */
export function listRequest(
  kind: string,
  options: { namespace?: string; labelSelector?: string },
): Omit<KubeRequest, 'context' | 'server'> {
  const plural = resourceOf(kind).slice(kind.length);
  return {
    operation: 'list',
    target: `${kind}${plural}${options.namespace ? ` in namespace ${options.namespace}` : ''}${options.labelSelector ? ` labelled ${options.labelSelector}` : ''}`,
    verb: 'list',
    resource: resourceOf(kind),
    namespace: options.namespace,
  };
}

/** The adapter's error for a failed request: a BootstrapError naming the operation and the object, the client's error as cause. */
export function kubeRequestError(request: KubeRequest, error: unknown) {
  return messages.kubeRequestFailed(request, kubeFailure(error), error);
}

const LOCAL_CONTEXT = /^(minikube|kind-|k3d-|docker-desktop|docker-for-desktop|rancher-desktop|colima|orbstack|microk8s)/;

/**
 * Whether a kubeconfig context points at a cluster on this machine: a loopback address, or a context a local tool
 * named. A private address is not enough: company clusters live there too, and the webhook is cluster-wide.
 */
export function looksLocal(contextName: string, server: string): boolean {
  if (LOCAL_CONTEXT.test(contextName)) return true;
  let host: string;
  try {
    host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  const localNames = ['localhost', '::1', '0.0.0.0', 'host.docker.internal', 'kubernetes.docker.internal'];
  return localNames.includes(host) || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * With no kubeconfig at all, client-node's loadFromDefault makes up a context 'loaded-context' for
 * http://localhost:8080: that is no context, and must be said as such rather than as that address refusing TLS.
 */
function isMadeUp(config: KubeConfig): boolean {
  const contexts = config.getContexts();
  return contexts.length === 1 && contexts[0]!.name === 'loaded-context' && config.getCurrentCluster()?.server === 'http://localhost:8080';
}

export async function loadKubeConfig(contextName?: string): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  try {
    config.loadFromDefault();
  } catch (error) {
    // A KUBECONFIG naming a file that is not there (ENOENT), or one that is not YAML.
    throw messages.kubeconfigUnreadable(error);
  }
  const madeUp = isMadeUp(config);
  if (madeUp && !contextName) throw messages.noKubeContext();
  if (contextName) {
    const known = madeUp ? [] : config.getContexts().map((c) => c.name);
    if (!known.includes(contextName)) throw messages.unknownKubeContext(contextName, known);
    config.setCurrentContext(contextName);
  } else if (!config.getCurrentContext()) {
    throw messages.noKubeContext();
  }
  return config;
}

/**
 * The kubeconfig's current context (KUBECONFIG, else ~/.kube/config), or undefined when there is none or the
 * kubeconfig cannot be read: connecting reports that later, with its fix.
 */
export async function currentContextName(): Promise<string | undefined> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  try {
    const config = new KubeConfig();
    config.loadFromDefault();
    return isMadeUp(config) ? undefined : config.getCurrentContext() || undefined;
  } catch {
    return undefined;
  }
}

export async function createKubeClient(config: KubeConfig): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const versionApi = config.makeApiClient(k8s.VersionApi);
  const server = config.getCurrentCluster()?.server ?? '';
  // The context's credentials once, on one kept-alive agent: audit asks once per object, and client-node's
  // applyToHTTPSOptions makes a new agent (a new TLS handshake) on every call.
  let connecting: Promise<{ headers: http.OutgoingHttpHeaders; auth?: string; agent: https.Agent }> | undefined;
  const connection = () =>
    (connecting ??= (async () => {
      const base: https.RequestOptions = {};
      await config.applyToHTTPSOptions(base);
      const agentOptions = (base.agent as (https.Agent & { options?: https.AgentOptions }) | undefined)?.options ?? {};
      return {
        headers: (base.headers ?? {}) as http.OutgoingHttpHeaders,
        auth: base.auth ?? undefined,
        agent: new https.Agent({ ...agentOptions, keepAlive: true, maxSockets: 16 }),
      };
    })());
  const header = <T extends KubernetesObject>(ref: ObjectRef) =>
    ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }) as T;
  const contextName = config.getCurrentContext();
  /** Runs one request; any failure becomes the error that names it, unless `expected` turns it into a value. */
  const attempt = async <T>(
    request: Omit<KubeRequest, 'context' | 'server'>,
    call: () => Promise<T>,
    expected: (error: unknown) => { value: T } | undefined = () => undefined,
  ): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      const answer = expected(error);
      if (answer) return answer.value;
      throw kubeRequestError({ ...request, context: contextName, server }, error);
    }
  };
  /** An admission request: every answer of the API server is an outcome; only no answer at all is thrown. */
  const admission = (request: Omit<KubeRequest, 'context' | 'server'>, call: () => Promise<unknown>): Promise<AdmissionOutcome> =>
    attempt<AdmissionOutcome>(
      request,
      async () => {
        await call();
        return { allowed: true, code: 201, message: '' };
      },
      (error) => {
        const failure = apiError(error);
        return failure && { value: { allowed: false, ...failure } };
      },
    );
  const onPod = (operation: string, verb: string, namespace: string, pod: KubeObject) =>
    objectRequest(operation, verb, {
      kind: pod.kind ?? 'Pod',
      namespace,
      name: pod.metadata?.name,
      generateName: pod.metadata?.generateName,
    });
  const onObject = (operation: string, verb: string, object: KubeObject) =>
    objectRequest(operation, verb, {
      kind: object.kind ?? 'object',
      namespace: object.metadata?.namespace,
      name: object.metadata?.name,
      generateName: object.metadata?.generateName,
    });

  return {
    contextName,
    server,
    async serverVersion() {
      try {
        return (await versionApi.getCode()).gitVersion;
      } catch (error) {
        throw messages.clusterUnreachable(server, error);
      }
    },
    async apply(object, options = {}) {
      // Server-side apply: fields we set are ours; `force` takes them back if someone changed them.
      return attempt(
        onObject('apply', 'patch', object),
        async () =>
          (await objects.patch(
            object,
            undefined,
            options.dryRun ? 'All' : undefined,
            FIELD_MANAGER,
            true,
            k8s.PatchStrategy.ServerSideApply,
          )) as typeof object,
      );
    },
    async get(ref) {
      return attempt(
        objectRequest('get', 'get', ref),
        async () => (await objects.read(header(ref))) as never,
        (error) => (apiError(error)?.code === 404 ? { value: undefined } : undefined),
      );
    },
    async delete(ref, options = {}) {
      return attempt(
        objectRequest('delete', 'delete', ref),
        async () => {
          await objects.delete(header(ref), undefined, undefined, options.gracePeriodSeconds, undefined, 'Background');
          return true;
        },
        (error) => (apiError(error)?.code === 404 ? { value: false } : undefined),
      );
    },
    async list(apiVersion, kind, options = {}) {
      return attempt(listRequest(kind, options), async () => {
        const result = await objects.list(
          apiVersion,
          kind,
          options.namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          options.labelSelector,
        );
        return result.items as KubeObject[];
      });
    },
    async mergePatch(ref, patch) {
      // The patch's metadata is merged into the header's, which names the object.
      const head = header(ref);
      const body = { ...head, ...patch, metadata: { ...head.metadata, ...(patch.metadata as object | undefined) } } as KubernetesObject;
      return attempt(
        objectRequest('patch', 'patch', ref),
        async () => (await objects.patch(body, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch)) as KubeObject,
      );
    },
    createPod(namespace, pod, { dryRun }) {
      return admission(onPod('create', 'create', namespace, pod), () =>
        core.createNamespacedPod({ namespace, body: pod as never, dryRun: dryRun ? 'All' : undefined }),
      );
    },
    replacePod(namespace, pod, { dryRun }) {
      const name = pod.metadata!.name!;
      return admission(onPod('replace', 'update', namespace, pod), () =>
        core.replaceNamespacedPod({ name, namespace, body: pod as never, dryRun: dryRun ? 'All' : undefined }),
      );
    },
    replaceEphemeralContainers(namespace, pod, { dryRun }) {
      const name = pod.metadata!.name!;
      return admission(
        { ...onPod('replace the ephemeral containers of', 'update', namespace, pod), resource: 'pods/ephemeralcontainers' },
        () => core.replaceNamespacedPodEphemeralcontainers({ name, namespace, body: pod as never, dryRun: dryRun ? 'All' : undefined }),
      );
    },
    createObject(object, { dryRun }) {
      return admission(onObject('create', 'create', object), () =>
        objects.create(object, undefined, dryRun ? 'All' : undefined, FIELD_MANAGER),
      );
    },
    replaceObject(object, { dryRun }) {
      return admission(onObject('replace', 'update', object), () =>
        objects.replace(object, undefined, dryRun ? 'All' : undefined, FIELD_MANAGER),
      );
    },
    async postToService<T>(target: { namespace: string; service: string; scheme: string; port: number; path: string }, body: unknown) {
      return attempt(
        {
          operation: 'post to',
          target: `Service ${target.namespace}/${target.service} (${target.scheme} port ${target.port}, /${target.path.replace(/^\//, '')})`,
          verb: 'create',
          resource: 'services/proxy',
          name: target.service,
          namespace: target.namespace,
        },
        () => post<T>(target, body),
      );
    },
  };

  /** The service-proxy request itself: rejects with the status `code` and text `body` from 300 up. */
  async function post<T>(target: { namespace: string; service: string; scheme: string; port: number; path: string }, body: unknown) {
    const url = new URL(
      `${server.replace(/\/+$/, '')}/api/v1/namespaces/${target.namespace}/services/${target.scheme}:${target.service}:${target.port}/proxy/${target.path.replace(/^\//, '')}`,
    );
    const payload = JSON.stringify(body);
    const auth = await connection();
    const options: https.RequestOptions = {
      method: 'POST',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || 443,
      path: `${url.pathname}${url.search}`,
      headers: { ...auth.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      ...(auth.auth ? { auth: auth.auth } : {}),
      agent: auth.agent,
    };
    return new Promise<T>((resolve, reject) => {
      const request = (url.protocol === 'http:' ? http : https).request(options, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          if ((response.statusCode ?? 0) >= 300)
            return reject(
              Object.assign(new Error(`${response.statusCode} from ${url.pathname}: ${text.slice(0, 300)}`), {
                code: response.statusCode,
                body: text,
              }),
            );
          try {
            resolve(JSON.parse(text) as T);
          } catch (error) {
            reject(error);
          }
        });
      });
      request.on('error', reject);
      request.setTimeout(15_000, () => request.destroy(new Error(`no answer from ${url.pathname} within 15s`)));
      request.end(payload);
    });
  }
}
