// Kubernetes, through @kubernetes/client-node only: server-side apply with our field manager, reads,
// deletes, and the pod requests that exercise the admission webhook.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { messages } from '../messages.js';

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

export interface KubeClient {
  readonly contextName: string;
  readonly server: string;
  serverVersion(): Promise<string>;
  /** Server-side apply; returns the live object. */
  apply<T extends KubeObject>(object: T, options?: { dryRun?: boolean }): Promise<T>;
  get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  /** Resolves false when the object was already gone. */
  delete(ref: ObjectRef): Promise<boolean>;
  list(apiVersion: string, kind: string, options?: { namespace?: string; labelSelector?: string }): Promise<KubeObject[]>;
  /** A JSON merge patch (used only to drop an annotation another controller owns). */
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
  createPod(namespace: string, pod: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  replacePod(namespace: string, pod: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  replaceEphemeralContainers(namespace: string, pod: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  /** Create or replace any object (a workload), answered as admitted or denied like the pod requests. */
  createObject(object: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  replaceObject(object: KubeObject, options: { dryRun: boolean }): Promise<AdmissionOutcome>;
  /**
   * POSTs JSON to a Service through the API server's service proxy
   * (`/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/<path>`), with this context's credentials; the
   * parsed JSON answer. How `audit` asks the running OPA, wherever the cluster is.
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

/** The HTTP status and Status.message of a failed API call, whatever shape the client gave it in. */
export function apiError(error: unknown): { code: number; message: string } | undefined {
  const e = error as { code?: unknown; body?: unknown; message?: string };
  if (typeof e?.code !== 'number') return undefined;
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

const LOCAL_CONTEXT = /^(minikube|kind-|k3d-|docker-desktop|docker-for-desktop|rancher-desktop|colima|orbstack|microk8s|testbed)/;

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
  config.loadFromDefault();
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

  const admission = async (request: () => Promise<unknown>): Promise<AdmissionOutcome> => {
    try {
      await request();
      return { allowed: true, code: 201, message: '' };
    } catch (error) {
      const failure = apiError(error);
      if (!failure) throw error;
      return { allowed: false, ...failure };
    }
  };

  return {
    contextName: config.getCurrentContext(),
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
      return (await objects.patch(
        object,
        undefined,
        options.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        true,
        k8s.PatchStrategy.ServerSideApply,
      )) as typeof object;
    },
    async get(ref) {
      try {
        return (await objects.read(header(ref))) as never;
      } catch (error) {
        if (apiError(error)?.code === 404) return undefined;
        throw error;
      }
    },
    async delete(ref) {
      try {
        await objects.delete(header(ref), undefined, undefined, undefined, undefined, 'Background');
        return true;
      } catch (error) {
        if (apiError(error)?.code === 404) return false;
        throw error;
      }
    },
    async list(apiVersion, kind, options = {}) {
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
    },
    async mergePatch(ref, patch) {
      // The patch's metadata is merged into the header's, which names the object.
      const head = header(ref);
      const body = { ...head, ...patch, metadata: { ...head.metadata, ...(patch.metadata as object | undefined) } } as KubernetesObject;
      return (await objects.patch(body, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch)) as KubeObject;
    },
    createPod(namespace, pod, { dryRun }) {
      return admission(() => core.createNamespacedPod({ namespace, body: pod as never, dryRun: dryRun ? 'All' : undefined }));
    },
    replacePod(namespace, pod, { dryRun }) {
      const name = pod.metadata!.name!;
      return admission(() => core.replaceNamespacedPod({ name, namespace, body: pod as never, dryRun: dryRun ? 'All' : undefined }));
    },
    replaceEphemeralContainers(namespace, pod, { dryRun }) {
      const name = pod.metadata!.name!;
      return admission(() =>
        core.replaceNamespacedPodEphemeralcontainers({ name, namespace, body: pod as never, dryRun: dryRun ? 'All' : undefined }),
      );
    },
    createObject(object, { dryRun }) {
      return admission(() => objects.create(object, undefined, dryRun ? 'All' : undefined, FIELD_MANAGER));
    },
    replaceObject(object, { dryRun }) {
      return admission(() => objects.replace(object, undefined, dryRun ? 'All' : undefined, FIELD_MANAGER));
    },
    async postToService<T>(target: { namespace: string; service: string; scheme: string; port: number; path: string }, body: unknown) {
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
    },
  };
}
