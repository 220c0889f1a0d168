// Minimal Kubernetes REST client shared by the test bed's mini-kubelet, the kube-mgmt stand-in and the
// test bed's tests. Plain node:https (client certs or bearer token), JSON only, plus a small informer
// (list, then watch from the list's resourceVersion, relist on 410 Gone / broken watch).
import fs from 'node:fs';
import https from 'node:https';
import {parse as parseYaml} from 'yaml';

export interface KubeConn {
  server: string; // https://host:port
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  tokenFile?: string;
  token?: string;
}

function fileOrData(dir: string, data?: string, file?: string): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return fs.readFileSync(file.startsWith('/') ? file : `${dir}/${file}`);
  return undefined;
}

export function fromKubeconfig(path: string, contextName?: string): KubeConn {
  const cfg = parseYaml(fs.readFileSync(path, 'utf8'));
  const dir = path.replace(/\/[^/]*$/, '') || '.';
  const ctxName = contextName ?? cfg['current-context'];
  const ctx = (cfg.contexts ?? []).find((c: any) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${path}: no context ${ctxName}`);
  const cluster = cfg.clusters.find((c: any) => c.name === ctx.cluster).cluster;
  const user = (cfg.users ?? []).find((u: any) => u.name === ctx.user)?.user ?? {};
  return {
    server: cluster.server.replace(/\/$/, ''),
    ca: fileOrData(dir, cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: fileOrData(dir, user['client-certificate-data'], user['client-certificate']),
    key: fileOrData(dir, user['client-key-data'], user['client-key']),
    token: user.token,
    tokenFile: user.tokenFile,
  };
}

// rest.InClusterConfig(): KUBERNETES_SERVICE_HOST/PORT, the service account token (re-read per request) and ca.crt.
export function inCluster(): KubeConn {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined');
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: fs.readFileSync(`${sa}/ca.crt`),
    tokenFile: `${sa}/token`,
  };
}

export class KubeError extends Error {
  constructor(public status: number, public body: any, method: string, path: string) {
    super(`${method} ${path}: ${status} ${typeof body === 'object' && body?.message ? body.message : JSON.stringify(body)}`);
  }
}

export interface WatchEvent {type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: any}

export class Kube {
  private agent: https.Agent;
  constructor(public conn: KubeConn) {
    this.agent = new https.Agent({ca: conn.ca, cert: conn.cert, key: conn.key, keepAlive: true});
  }

  private headers(contentType?: string): Record<string, string> {
    const h: Record<string, string> = {Accept: 'application/json'};
    if (contentType) h['Content-Type'] = contentType;
    const token = this.conn.tokenFile ? fs.readFileSync(this.conn.tokenFile, 'utf8').trim() : this.conn.token;
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  async request<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const url = new URL(this.conn.server + path);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const headers = this.headers(payload === undefined ? undefined : contentType);
      // Node sends a DELETE body neither chunked nor with a length unless told: the bytes would then be read
      // by the server as the next request on the kept-alive connection (400 Bad Request).
      if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
      const req = https.request(url, {method, agent: this.agent, headers, timeout: 30_000}, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any = text;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
          if ((res.statusCode ?? 0) >= 300) reject(new KubeError(res.statusCode ?? 0, parsed, method, path));
          else resolve(parsed as T);
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = any>(path: string) { return this.request<T>('GET', path); }
  post<T = any>(path: string, body: unknown) { return this.request<T>('POST', path, body); }
  put<T = any>(path: string, body: unknown) { return this.request<T>('PUT', path, body); }
  del<T = any>(path: string, body?: unknown) { return this.request<T>('DELETE', path, body); }
  mergePatch<T = any>(path: string, body: unknown) { return this.request<T>('PATCH', path, body, 'application/merge-patch+json'); }
  strategicPatch<T = any>(path: string, body: unknown) { return this.request<T>('PATCH', path, body, 'application/strategic-merge-patch+json'); }

  /** Streams watch events until the stream ends; resolves then. */
  watch(path: string, onEvent: (e: WatchEvent) => void, signal?: AbortSignal): Promise<void> {
    const url = new URL(this.conn.server + path);
    return new Promise((resolve, reject) => {
      const req = https.request(url, {method: 'GET', agent: this.agent, headers: this.headers(), signal}, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => reject(new KubeError(res.statusCode ?? 0, text, 'WATCH', path)));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) onEvent(JSON.parse(line));
          }
        });
        res.on('end', () => resolve());
        res.on('error', (e) => (signal?.aborted ? resolve() : reject(e)));
        res.on('aborted', () => resolve());
      });
      req.on('error', (e) => (signal?.aborted ? resolve() : reject(e)));
      req.end();
    });
  }
}

export interface InformerHandlers {
  add?: (obj: any) => void | Promise<void>;
  update?: (oldObj: any, obj: any) => void | Promise<void>;
  delete?: (obj: any) => void | Promise<void>;
}

const key = (o: any) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * client-go style informer for one collection path (e.g. /api/v1/namespaces/opa/configmaps), with an optional
 * query (labelSelector=..., fieldSelector=...). Handlers run one at a time, in event order.
 */
export function informer(kube: Kube, collection: string, handlers: InformerHandlers, opts: {query?: string; signal?: AbortSignal; log?: (m: string) => void} = {}): {store: Map<string, any>; synced: Promise<void>} {
  const store = new Map<string, any>();
  const log = opts.log ?? ((m: string) => console.error(m));
  let chain = Promise.resolve();
  const run = (f: () => void | Promise<void>) => {
    chain = chain.then(f).catch((e) => log(`handler error: ${e?.stack ?? e}`));
    return chain;
  };
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const q = opts.query ? `${opts.query}&` : '';
  (async () => {
    let delay = 500;
    while (!opts.signal?.aborted) {
      try {
        const list = await kube.get(`${collection}?${q}`.replace(/[?&]$/, ''));
        const seen = new Set<string>();
        for (const item of list.items ?? []) {
          const k = key(item);
          seen.add(k);
          const old = store.get(k);
          store.set(k, item);
          if (!old) run(() => handlers.add?.(item));
          else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) run(() => handlers.update?.(old, item));
        }
        for (const [k, old] of [...store]) if (!seen.has(k)) { store.delete(k); run(() => handlers.delete?.(old)); }
        await run(() => {});
        markSynced();
        let rv = list.metadata.resourceVersion;
        let gone = false;
        while (!gone && !opts.signal?.aborted) {
          await kube.watch(`${collection}?${q}watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`, (e) => {
            if (e.type === 'ERROR') { gone = true; return; } // 410 Gone and friends: relist
            rv = e.object?.metadata?.resourceVersion ?? rv;
            if (e.type === 'BOOKMARK') return;
            const o = e.object, k = key(o), old = store.get(k);
            if (e.type === 'DELETED') { store.delete(k); run(() => handlers.delete?.(o)); }
            else { store.set(k, o); run(() => (old ? handlers.update?.(old, o) : handlers.add?.(o))); }
          }, opts.signal);
        }
        delay = 500;
      } catch (e: any) {
        if (opts.signal?.aborted) break;
        log(`informer ${collection}: ${e?.message ?? e}; retrying in ${delay}ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  })();
  return {store, synced};
}
