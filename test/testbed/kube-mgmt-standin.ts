// kube-mgmt stand-in for the test bed.
//
// WHY: the test bed runs exactly the pods our tool deploys, but the Go module proxy here refuses
// github.com/open-policy-agent/kube-mgmt (403), so the real binary cannot be built. The test bed's image
// `openpolicyagent/kube-mgmt:11.0.7` (scripts/testbed/minikube/images.sh) holds this file, bundled with Node.
//
// MIRRORED from kube-mgmt 11.0.7 (tag 11.0.7 = commit 9b4deae0; cmd/kube-mgmt/main.go, flag.go,
// pkg/configmap/configmap.go, pkg/opa/opa.go, pkg/data/generic.go):
// - Flags and defaults: --namespaces (string slice; default [""], which matches no namespace, so pass it;
//   "*" = all), --policy-label/--policy-value (openpolicyagent.org/policy=rego), --enable-policies (true),
//   --enable-data (true) with --data-label/--data-value (openpolicyagent.org/data=opa), --replicate and
//   --replicate-cluster ([group/]version/resource, repeatable), --replicate-path (kubernetes),
//   --replicate-ignore-namespaces, --opa-url (http://localhost:8181/v1), --opa-auth-token,
//   --opa-auth-token-file (first line), --opa-allow-insecure, --opa-ca-file, --kubeconfig (else in-cluster
//   config; KUBECONFIG is ignored), --log-level, --version. Unknown flags are ignored silently (cobra
//   FParseErrWhitelist.UnknownFlags; pflag then also swallows a following non-flag argument as its value).
// - No wait for OPA: sync starts at once; nothing ever re-lists or resyncs ConfigMaps (ResyncPeriod 0).
// - Sync.syncAdd: every key of a policy ConfigMap is PUT as /v1/policies/<namespace>/<configmap>/<key>
//   (keys sorted), each attempted once; then setAnnotations strategic-merge-patches
//     openpolicyagent.org/kube-mgmt-status  = {"status":"ok"}  or  {"status":"error","error":<err>}
//     openpolicyagent.org/kube-mgmt-retries = "0" on success; on error (policies only): 2 if the annotation
//       is absent or "0", n-1 if it is n > 0, "0" if it is not a number; always "0" for data ConfigMaps.
//   <err> is errList.MarshalJSON: one error's Go JSON, or a list when several keys failed. OPA's answer is
//   opa.Error: {"code":..,"message":..,"errors":<OPA's raw errors>} (compact, HTML-escaped). An OPA that cannot
//   be reached gives Go's *url.Error as encoding/json marshals it, e.g. connection refused:
//     {"Op":"Put","URL":"http://127.0.0.1:8181/v1/policies/ns/cm/key","Err":{"Op":"dial","Net":"tcp",
//      "Source":null,"Addr":{"IP":"127.0.0.1","Port":8181,"Zone":""},"Err":{"Syscall":"connect","Err":111}}}
// - Sync.update (only when resourceVersion changed): still matching → syncAdd if the fingerprint (labels +
//   data) changed OR the retries annotation is not "0" (absent counts as not "0"); no longer matching (label
//   removed/changed) → syncRemove of the OLD object. So the patch of a failure (retries 2, then 1) triggers
//   the 2 retries at once, without delay; at "0" it stops. After that only a data/label change, or setting
//   or removing the retries annotation, makes it try again; changing or removing the status annotation,
//   or any other annotation, does not. A data change PUTs the current keys only: a removed key's policy
//   stays in OPA.
// - Delete, or losing the label: DELETE each key's policy (data: PATCH remove /<namespace>/<configmap>).
// - Data ConfigMaps: each key parsed as a JSON object and PUT to /v1/data/<namespace>/<configmap>/<key>.
// - Replication: a full PUT of /v1/data/<replicate-path>/<resource> ({ns: {name: obj}} when namespaced)
//   after the initial list, then per-object PUT / PATCH remove; any failure resyncs everything after an
//   exponential backoff (1s..30s), like pkg/data/generic.go (so replication, unlike policies, recovers).
//
// NOT MIRRORED: --opa-config dynamic data (pkg/dynamicdata), --health-endpoint, logrus' exact output,
// client-go's rate limits, token refresh of --opa-auth-token-file (read once, like the real one). Go error
// JSON is exact for connect errors (refused/unreachable/timeout) and OPA answers; other transport errors
// (reset, TLS) are written as {"Op":..,"URL":..,"Err":{}}, JSON syntax errors as {"Offset":N} with N taken
// from V8's message where it gives one. Startup is slower than the Go binary (node + tsx, about 1 s), so
// inside a pod it usually loses the race against OPA that the real one can win;
// test/e2e/none-kube-mgmt-standin.test.ts reproduces the lost race explicitly.
import fs from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import https from 'node:https';
import http from 'node:http';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { informer, kubeConfig, strategicPatch } from './k8s.js';

const STATUS = 'openpolicyagent.org/kube-mgmt-status';
const RETRIES = 'openpolicyagent.org/kube-mgmt-retries';
const DEFAULT_RETRIES = 2;

type Gvk = { group: string; version: string; resource: string };

interface Params {
  version: boolean;
  kubeconfig: string;
  opaUrl: string;
  opaAuth: string;
  opaAuthFile: string;
  opaCAFile: string;
  opaAllowInsecure: boolean;
  logLevel: string;
  enablePolicies: boolean;
  policyLabel: string;
  policyValue: string;
  enableData: boolean;
  dataLabel: string;
  dataValue: string;
  namespaces: string[];
  replicate: Gvk[];
  replicateCluster: Gvk[];
  replicatePath: string;
  replicateIgnoreNs: string[];
}

function parseGvk(v: string): Gvk {
  // strings.SplitN(value, "/", 3), lower-cased
  const parts = v.split('/');
  const l = (parts.length > 3 ? [...parts.slice(0, 2), parts.slice(2).join('/')] : parts).map((x) => x.toLowerCase());
  if (l.length < 2 || l.some((x) => !x)) throw new Error(`invalid argument "${v}": format: group/version/kind`);
  const [a = '', b = '', c = ''] = l;
  return l.length === 2 ? { group: '', version: a, resource: b } : { group: a, version: b, resource: c };
}

export function parseArgs(argv: string[]): Params {
  const p: Params = {
    version: false,
    kubeconfig: '',
    opaUrl: 'http://localhost:8181/v1',
    opaAuth: '',
    opaAuthFile: '',
    opaCAFile: '',
    opaAllowInsecure: false,
    logLevel: 'info',
    enablePolicies: true,
    policyLabel: 'openpolicyagent.org/policy',
    policyValue: 'rego',
    enableData: true,
    dataLabel: 'openpolicyagent.org/data',
    dataValue: 'opa',
    namespaces: [''],
    replicate: [],
    replicateCluster: [],
    replicatePath: 'kubernetes',
    replicateIgnoreNs: [''],
  };
  const touched = new Set<string>();
  const slice = (name: keyof Params, v: string) => {
    const items = v === '' ? [] : v.split(',');
    (p as any)[name] = touched.has(name) ? [...(p as any)[name], ...items] : items;
    touched.add(name);
  };
  const str: Record<string, (v: string) => void> = {
    kubeconfig: (v) => (p.kubeconfig = v),
    'opa-url': (v) => (p.opaUrl = v),
    'opa-auth-token': (v) => (p.opaAuth = v),
    'opa-auth-token-file': (v) => (p.opaAuthFile = v),
    'opa-ca-file': (v) => (p.opaCAFile = v),
    'log-level': (v) => (p.logLevel = v),
    'policy-label': (v) => (p.policyLabel = v),
    'policy-value': (v) => (p.policyValue = v),
    'data-label': (v) => (p.dataLabel = v),
    'data-value': (v) => (p.dataValue = v),
    namespaces: (v) => slice('namespaces', v),
    replicate: (v) => p.replicate.push(parseGvk(v)),
    'replicate-cluster': (v) => p.replicateCluster.push(parseGvk(v)),
    'replicate-path': (v) => (p.replicatePath = v),
    'replicate-ignore-namespaces': (v) => slice('replicateIgnoreNs', v),
    'opa-config': () => {},
    'analysis-entrypoint': () => {},
    'health-endpoint': () => {},
  };
  const bool: Record<string, (v: boolean) => void> = {
    version: (v) => (p.version = v),
    'opa-allow-insecure': (v) => (p.opaAllowInsecure = v),
    'enable-policies': (v) => (p.enablePolicies = v),
    'enable-data': (v) => (p.enableData = v),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') break;
    if (a === '-v') {
      p.version = true;
      continue;
    }
    if (!a.startsWith('--')) continue; // positional args: cobra passes them to Run, which ignores them
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const setBool = bool[name],
      setStr = str[name];
    if (setBool) setBool(inline === undefined ? true : /^(1|t|true|TRUE|True)$/.test(inline));
    else if (setStr) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`flag needs an argument: --${name}`);
      setStr(v);
    } else if (inline === undefined && i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('-')) i++; // unknown: skip its value
  }
  return p;
}

const levels: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let minLevel = 1;
function log(level: 'debug' | 'info' | 'warn' | 'error', msg: string) {
  if ((levels[level] ?? 1) < minLevel) return;
  process.stderr.write(`time="${new Date().toISOString()}" level=${level === 'warn' ? 'warning' : level} msg=${JSON.stringify(msg)}\n`);
}

/** Go's encoding/json escapes <, >, & and U+2028/9 inside strings. */
function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** opa.Error: OPA's error body, re-marshalled with Go's field set (errors only when OPA sent it). */
class OpaError extends Error {
  constructor(public body: any) {
    super(`code ${body?.code}: ${body?.message}`);
  }
  toJSON() {
    const o: any = { code: String(this.body?.code ?? ''), message: String(this.body?.message ?? '') };
    if (this.body && typeof this.body === 'object' && 'errors' in this.body) o.errors = this.body.errors;
    return o;
  }
}
/** A Go error value as encoding/json marshals it (exported fields only). */
class GoError extends Error {
  constructor(
    message: string,
    private json: unknown,
  ) {
    super(message);
  }
  toJSON() {
    return this.json;
  }
}
// *json.SyntaxError → {"Offset":N}; json.Decoder on an empty/blank body (OPA's answer) → io.EOF → {}
function jsonError(text: string, e: Error, decoder = false): GoError {
  if (decoder && !text.trim()) return new GoError('EOF', {});
  const pos = /position (\d+)/.exec(e.message);
  return new GoError(e.message, { Offset: pos ? Number(pos[1]) + 1 : Buffer.byteLength(text) });
}
// http.Client.Do's *url.Error; for connect failures Err is *net.OpError{dial} → *os.SyscallError{connect} → errno
const errnoNames: Record<number, string> = {
  111: 'connection refused',
  113: 'no route to host',
  101: 'network is unreachable',
  110: 'connection timed out',
};
function urlError(method: string, url: string, e: any): GoError {
  const c = e?.errors?.[0] ?? e; // AggregateError from happy eyeballs: Go reports the first address's error
  const op = method[0] + method.slice(1).toLowerCase();
  const errno = -(c?.errno ?? 0);
  if (c?.syscall === 'connect' && errnoNames[errno]) {
    return new GoError(`${op} "${url}": dial tcp ${c.address}:${c.port}: connect: ${errnoNames[errno]}`, {
      Op: op,
      URL: url,
      Err: {
        Op: 'dial',
        Net: 'tcp',
        Source: null,
        Addr: { IP: c.address, Port: c.port, Zone: '' },
        Err: { Syscall: 'connect', Err: errno },
      },
    });
  }
  return new GoError(`${op} "${url}": ${c?.message ?? e}`, { Op: op, URL: url, Err: {} });
}

class OpaClient {
  private agent?: http.Agent;
  constructor(
    private url: string,
    private token: string,
    tls: { insecure: boolean; ca?: Buffer },
  ) {
    this.url = url.replace(/\/+$/, '');
    if (this.url.startsWith('https:')) this.agent = new HttpsAgent({ rejectUnauthorized: !tls.insecure, ca: tls.ca });
  }
  do(method: string, path: string, body?: string): Promise<void> {
    const u = new URL(this.url + path);
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const req = mod.request(u, { method, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) return resolve();
          try {
            reject(new OpaError(JSON.parse(text)));
          } catch (e: any) {
            reject(jsonError(text, e, true));
          }
        });
      });
      req.on('error', (e) => reject(urlError(method, u.toString(), e)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
  insertPolicy(id: string, src: string) {
    return this.do('PUT', `/policies/${id}`, src);
  }
  deletePolicy(id: string) {
    return this.do('DELETE', `/policies/${id}`);
  }
  putData(path: string, value: unknown) {
    return this.do('PUT', slashPath('data', path), JSON.stringify(value) + '\n');
  }
  patchData(path: string, op: string) {
    return this.do('PATCH', '/data', JSON.stringify([{ path: slashPath(path), op }]) + '\n');
  }
}
const slashPath = (...parts: string[]) =>
  '/' +
  parts
    .map((x) => x.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function main(argv: string[]) {
  const p = parseArgs(argv);
  if (p.version) {
    console.log('Version: 11.0.7-testbed-standin');
    console.log('Git: none');
    return;
  }
  if (!(p.logLevel in levels) || p.logLevel === 'error') {
    log('error', `Invalid log level ${p.logLevel}`);
    process.exit(1);
  }
  minLevel = levels[p.logLevel] ?? 1;
  const kc = kubeConfig(p.kubeconfig || undefined);
  if (p.opaAuthFile && p.opaAuth) {
    log('error', 'You can not use both --opa-auth-token and --opa-auth-token-file');
    process.exit(1);
  }
  if (p.opaAuthFile) p.opaAuth = fs.readFileSync(p.opaAuthFile, 'utf8').split('\n')[0] ?? '';
  const opa = new OpaClient(p.opaUrl, p.opaAuth, {
    insecure: p.opaAllowInsecure,
    ca: p.opaCAFile ? fs.readFileSync(p.opaCAFile) : undefined,
  });

  if (p.enablePolicies || p.enableData) startConfigMapSync(kc, opa, p);
  for (const gvk of p.replicateCluster) startReplication(kc, opa, p, gvk, false);
  for (const gvk of p.replicate) startReplication(kc, opa, p, gvk, true);
}

function startConfigMapSync(kc: KubeConfig, opa: OpaClient, p: Params) {
  const core = kc.makeApiClient(CoreV1Api);
  const match = (cm: any): [boolean, boolean] => {
    const inNs = p.namespaces.some((ns) => ns === cm.metadata.namespace || ns === '*');
    const labels = cm.metadata.labels ?? {};
    if (p.enableData && inNs && labels[p.dataLabel] === p.dataValue) return [true, false];
    if (p.enablePolicies && inNs && labels[p.policyLabel] === p.policyValue) return [true, true];
    return [false, false];
  };
  // fnv64a over json.Encoder of labels and data: Go sorts map keys, so compare key-sorted JSON
  const sorted = (m?: Record<string, string>) =>
    m ? Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : null;
  const fingerprint = (cm: any) => JSON.stringify([sorted(cm.metadata.labels), sorted(cm.data)]);

  const syncAdd = async (cm: any, isPolicy: boolean) => {
    const path = `${cm.metadata.namespace}/${cm.metadata.name}`;
    const errs: Error[] = [];
    for (const key of Object.keys(cm.data ?? {}).sort()) {
      const id = `${path}/${key}`;
      try {
        if (isPolicy) {
          await opa.insertPolicy(id, cm.data[key]);
          log('info', `Added policy ${id}, err=<nil>`);
        } else {
          let data: unknown;
          try {
            data = JSON.parse(cm.data[key]);
          } catch (e: any) {
            log('error', `Failed to parse JSON data in configmap with id=${id}`);
            throw jsonError(cm.data[key], e);
          }
          if (data !== null && (typeof data !== 'object' || Array.isArray(data))) {
            log('error', `Failed to parse JSON data in configmap with id=${id}`);
            const value = Array.isArray(data) ? 'array' : typeof data === 'boolean' ? 'bool' : typeof data;
            throw new GoError(`json: cannot unmarshal ${value} into Go value of type map[string]interface {}`, {
              Value: value,
              Type: {},
              Offset: Buffer.byteLength(cm.data[key]),
              Struct: '',
              Field: '',
            });
          }
          await opa.putData(id, data);
          log('info', `Added data ${id}, err=<nil>`);
        }
      } catch (e: any) {
        if (isPolicy) log('info', `Added policy ${id}, err=${e.message}`);
        errs.push(e);
      }
    }
    let retries = 0;
    let status: any = { status: 'ok' };
    if (errs.length) {
      if (isPolicy) {
        const r = cm.metadata.annotations?.[RETRIES];
        const n = r !== undefined && /^[+-]?\d+$/.test(r) ? Number(r) : NaN; // strconv.Atoi
        if (r === undefined) retries = DEFAULT_RETRIES;
        else if (n > 0) retries = n - 1;
        else if (n === 0) retries = DEFAULT_RETRIES;
      }
      status = { status: 'error', error: errs.length === 1 ? errs[0] : errs };
    }
    try {
      await core.patchNamespacedConfigMap(
        {
          name: cm.metadata.name,
          namespace: cm.metadata.namespace,
          body: { metadata: { annotations: { [STATUS]: goJson(status), [RETRIES]: String(retries) } } },
        },
        strategicPatch,
      );
    } catch (e: any) {
      log('error', `Failed to ${STATUS} for ${path}: ${e.message}`);
    }
  };

  const syncRemove = async (cm: any, isPolicy: boolean) => {
    const path = `${cm.metadata.namespace}/${cm.metadata.name}`;
    for (const key of Object.keys(cm.data ?? {})) {
      const id = `${path}/${key}`;
      try {
        if (isPolicy) await opa.deletePolicy(id);
        else await opa.patchData(path, 'remove');
      } catch (e: any) {
        log('error', isPolicy ? `Failed to delete policy ${id}: ${e.message}` : `Failed to remove ${id}: ${e.message}`);
      }
    }
  };

  log('info', `Policy/data ConfigMap processor connected to K8s: namespaces=[${p.namespaces.join(' ')}]`);
  for (const ns of p.namespaces) {
    const collection = ns === '*' ? '/api/v1/configmaps' : ns === '' ? '/api/v1/configmaps' : `/api/v1/namespaces/${ns}/configmaps`;
    informer(
      kc,
      collection,
      {
        add: (cm) => {
          const [m, isPolicy] = match(cm);
          if (m) return syncAdd(cm, isPolicy);
        },
        update: (old, cm) => {
          const [m, isPolicy] = match(cm);
          if (m) {
            if (
              cm.metadata.resourceVersion !== old.metadata.resourceVersion &&
              (fingerprint(cm) !== fingerprint(old) || cm.metadata.annotations?.[RETRIES] !== '0')
            )
              return syncAdd(cm, isPolicy);
          } else {
            const [oldM, oldIsPolicy] = match(old);
            if (oldM) return syncRemove(old, oldIsPolicy);
          }
        },
        delete: (cm) => {
          const [m, isPolicy] = match(cm);
          if (m) return syncRemove(cm, isPolicy);
        },
      },
      { log: (m) => log('warn', m) },
    );
  }
}

function startReplication(kc: KubeConfig, opa: OpaClient, p: Params, gvk: Gvk, namespaced: boolean) {
  const base = gvk.group ? `/apis/${gvk.group}/${gvk.version}` : `/api/${gvk.version}`;
  const ignore = namespaced ? p.replicateIgnoreNs.map((ns) => `metadata.namespace!=${ns}`).join(',') : '';
  const prefix = slashPath(p.replicatePath, gvk.resource);
  const name = `${gvk.group ? gvk.group + '/' : ''}${gvk.version}/${gvk.resource}`;
  let synced = false;
  let delay = 1000;
  let chain = Promise.resolve();
  const keyOf = (o: any) => (namespaced ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);
  const { store, synced: listed } = informer(
    kc,
    `${base}/${gvk.resource}`,
    {
      add: (o) => enqueue(() => opa.putData(`${prefix}/${keyOf(o)}`, o)),
      update: (_old, o) => enqueue(() => opa.putData(`${prefix}/${keyOf(o)}`, o)),
      delete: (o) => enqueue(() => opa.patchData(`${prefix}/${keyOf(o)}`, 'remove')),
    },
    { fieldSelector: ignore || undefined, log: (m) => log('warn', m) },
  );
  const fullSync = async () => {
    const payload: any = {};
    for (const o of store.values()) {
      if (namespaced) (payload[o.metadata.namespace] ??= {})[o.metadata.name] = o;
      else payload[o.metadata.name] = o;
    }
    await opa.putData(prefix, payload);
    log('info', `Loaded ${store.size} resources of kind ${name} into OPA.`);
  };
  const enqueue = (f: () => Promise<void>) => {
    chain = chain.then(async () => {
      if (!synced) return; // the initial full load covers it
      try {
        await f();
      } catch (e: any) {
        resync(e);
      }
    });
    return undefined;
  };
  const resync = async (e?: Error) => {
    synced = false;
    for (;;) {
      if (e) {
        log('error', `Sync for ${name} failed, trying again in ${delay}ms. Reason: ${e.message}`);
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
      try {
        await fullSync();
        synced = true;
        delay = 1000;
        return;
      } catch (err: any) {
        e = err;
      }
    }
  };
  log('info', `Syncing ${name}.`);
  void listed.then(() => {
    chain = chain.then(() => resync());
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('kube-mgmt-standin.ts');
if (isMain) {
  main(process.argv.slice(2)).catch((e) => {
    log('error', e?.stack ?? String(e));
    process.exit(1);
  });
  process.on('SIGTERM', () => process.exit(0));
}
