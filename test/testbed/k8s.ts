// The test bed's Kubernetes access, all through @kubernetes/client-node: kubeconfig or in-cluster config,
// merge/strategic patch options, and a client-go style informer on client-node's Watch.
//
// The informer uses a WatchList (sendInitialEvents=true, the initial-events-end bookmark) instead of
// makeInformer's list + watch, so that every object is the apiserver's raw JSON (client-node's typed lists
// turn timestamps into Date objects and drop unknown fields; kube-mgmt's replication must forward the raw
// object, like its dynamic client). Handlers run one at a time, in event order, like client-go's.
import { ApiException, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';

/** --kubeconfig file, else rest.InClusterConfig() (KUBERNETES_SERVICE_HOST/PORT, service account token and CA). */
export function kubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else {
    if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
      throw new Error('unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined');
    }
    kc.loadFromCluster();
  }
  return kc;
}

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** The HTTP status of a failed client-node call (undefined for other errors). */
export const httpStatus = (e: unknown): number | undefined => (e instanceof ApiException ? e.code : undefined);
/** The apiserver's Status body of a failed call, parsed. */
export function statusBody(e: unknown): any {
  const body = e instanceof ApiException ? e.body : undefined;
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return { message: body };
  }
}

export interface Handlers {
  add?: (obj: any) => unknown;
  update?: (oldObj: any, obj: any) => unknown;
  delete?: (obj: any) => unknown;
}

/** Informer for one collection path (e.g. /api/v1/namespaces/opa/configmaps); `synced` resolves after the initial list. */
export function informer(kc: KubeConfig, path: string, h: Handlers, opts: { fieldSelector?: string; log?: (m: string) => void } = {}) {
  const store = new Map<string, any>();
  const log = opts.log ?? ((m: string) => console.error(m));
  const key = (o: any) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  let chain: Promise<unknown> = Promise.resolve();
  const run = (f: () => unknown) => {
    chain = chain.then(f).catch((e) => log(`handler error: ${e?.stack ?? e}`));
  };
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const watch = new Watch(kc);
  let rv = '';
  let delay = 500;
  const start = () => {
    const initial = !rv;
    const seen = new Set<string>();
    const query = {
      allowWatchBookmarks: true,
      fieldSelector: opts.fieldSelector,
      ...(initial ? { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' } : { resourceVersion: rv }),
    };
    void watch.watch(
      path,
      query,
      (type, o) => {
        if (type === 'ERROR') {
          if (o?.code === 410) rv = '';
          else log(`watch ${path}: ${o?.message ?? JSON.stringify(o)}`);
          return;
        }
        rv = o?.metadata?.resourceVersion ?? rv;
        if (type === 'BOOKMARK') {
          if (initial && o?.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true') {
            for (const [k, old] of [...store])
              if (!seen.has(k)) {
                store.delete(k);
                run(() => h.delete?.(old));
              }
            run(markSynced);
          }
          return;
        }
        const k = key(o),
          old = store.get(k);
        if (type === 'DELETED') {
          store.delete(k);
          run(() => h.delete?.(o));
          return;
        }
        seen.add(k);
        store.set(k, o);
        if (!old) run(() => h.add?.(o));
        else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) run(() => h.update?.(old, o));
      },
      (err) => {
        if ((err as any)?.statusCode === 410) rv = '';
        const wait = err ? delay : 0;
        delay = err ? Math.min(delay * 2, 30_000) : 500;
        if (err) log(`watch ${path}: ${err.message ?? err}; retrying in ${wait}ms`);
        setTimeout(start, wait);
      },
    );
  };
  start();
  return { store, synced };
}
