// Mini-kubelet for the test bed: one fake node (testbed-node) whose "container runtime" is local binaries
// started inside per-pod network namespaces. It plays the kubelet's (and scheduler's) part only, so that the
// real kube-apiserver and kube-controller-manager do everything else (ReplicaSets, EndpointSlices, rollout
// status, garbage collection, namespace deletion) with what our tool actually deployed.
//
// - Registers Node testbed-node (Ready), keeps its Lease in kube-node-lease fresh.
// - Watches all pods. A pending pod whose every container image maps to a local binary is bound to the node
//   (Binding subresource); others stay Pending (logged once). Images: openpolicyagent/opa:* -> the opa binary
//   (image entrypoint /opa), openpolicyagent/kube-mgmt:* -> test/testbed/kube-mgmt-standin.ts (/kube-mgmt).
// - For a pod bound here: netns tb-<uid8> with a veth (eth0 10.244.0.N/24) on bridge tb0 (10.244.0.1, where
//   the apiserver listens); volumes materialised under .testbed/pods/<uid>/volumes (secret, configMap,
//   emptyDir, projected: serviceAccountToken via TokenRequest, configMap, secret, downwardAPI); each container
//   runs as `ip netns exec NS unshare --mount --propagation private sh -c 'mount --bind ...; exec BIN ARGS'`
//   with its volumeMounts at the same paths, env incl. KUBERNETES_SERVICE_HOST/PORT; restarts per
//   restartPolicy with backoff; httpGet/tcpSocket readiness and liveness probes against the pod IP (HTTPS
//   unverified, like the kubelet); pod status (podIP, phase, conditions, containerStatuses) via pods/status.
// - On deletion (deletionTimestamp): SIGTERM, SIGKILL after the grace period, remove netns and pod dir,
//   then the final DELETE with gracePeriodSeconds=0 (the kubelet's job).
// Not covered: init/ephemeral containers (such pods stay Pending), exec probes (treated as passing),
// startup probes, resource limits, securityContext/users, hostNetwork, image pulls, PVCs, DNS, Service
// env vars other than KUBERNETES_*, ports/hostPorts, container logs via the API.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { httpStatus, informer, kubeConfig, mergePatch } from './k8s.js';

const NODE = 'testbed-node';
const DIR = process.env.TESTBED_DIR ?? path.resolve('.testbed');
const BIN = process.env.TESTBED_BIN ?? `${process.env.HOME}/.cache/bootstrap-testbed/bin`;
const REPO = process.env.TESTBED_REPO ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const HOST_IP = process.env.TESTBED_HOST_IP ?? '10.244.0.1';
const API_PORT = process.env.TESTBED_API_PORT ?? '16443';
const BRIDGE = process.env.TESTBED_BRIDGE ?? 'tb0';
const LOGS = `${DIR}/logs`;
const PREFIX = HOST_IP.split('.').slice(0, 3).join('.');

const kc = kubeConfig(`${DIR}/kubeconfig`);
const core = kc.makeApiClient(CoreV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// ---- image -> local binary ------------------------------------------------------------------------------
const tsxLoader = `${REPO}/node_modules/tsx/dist/loader.mjs`;
// user: the image's USER (openpolicyagent/opa images run as 1000:1000; kube-mgmt's ko-built image is taken as root).
// The opa binary is copied out of the tool cache (under /root, 0700) so that uid 1000 can execute it.
const POD_BIN = `${DIR}/bin`;
const IMAGES: { re: RegExp; entrypoint: string; cmd: string[]; argsDefault: string[]; user: [number, number] }[] = [
  {
    re: /^(docker\.io\/)?openpolicyagent\/opa(:[^@]+)?(@.+)?$/,
    entrypoint: '/opa',
    cmd: [`${POD_BIN}/opa`],
    argsDefault: ['run'],
    user: [1000, 1000],
  },
  {
    re: /^(docker\.io\/)?openpolicyagent\/kube-mgmt(:[^@]+)?(@.+)?$/,
    entrypoint: '/kube-mgmt',
    cmd: [process.execPath, '--import', tsxLoader, `${REPO}/test/testbed/kube-mgmt-standin.ts`],
    argsDefault: [],
    user: [0, 0],
  },
];
function resolveCommand(c: any): string[] | undefined {
  const img = IMAGES.find((i) => i.re.test(c.image));
  if (!img) return undefined;
  if (c.command?.length) {
    if (path.basename(c.command[0]) !== path.basename(img.entrypoint)) return undefined;
    return [...img.cmd, ...c.command.slice(1), ...(c.args ?? [])];
  }
  return [...img.cmd, ...(c.args ?? img.argsDefault)];
}
const unmappable = (pod: any) =>
  pod.spec.initContainers?.length
    ? 'init containers are not supported'
    : pod.spec.ephemeralContainers?.length
      ? 'ephemeral containers are not supported'
      : pod.spec.containers
          .filter((c: any) => !resolveCommand(c))
          .map((c: any) => `container ${c.name}: image ${c.image} has no local binary`)
          .join('; ');

// ---- pod runtime ----------------------------------------------------------------------------------------
interface Ctr {
  spec: any;
  proc?: ChildProcess;
  pid?: number;
  started?: string;
  ready: boolean;
  restarts: number;
  lastTerm?: any;
  waiting?: string;
  timers: NodeJS.Timeout[];
  liveFails: number;
  readyFails: number;
}
interface PodRt {
  pod: any;
  uid: string;
  key: string;
  idx: number;
  ip: string;
  netns: string;
  dir: string;
  ctrs: Map<string, Ctr>;
  stopping: boolean;
  startTime: string;
  trans: Record<string, string>;
  statusTimer?: NodeJS.Timeout;
  tokenTimers: NodeJS.Timeout[];
}
const pods = new Map<string, PodRt>(); // by uid
const warned = new Set<string>();
const usedIdx = new Set<number>();

function sh(cmd: string, args: string[]) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Removes the pod's network namespace and its host-side veth, if there. */
function removeNetwork(rt: PodRt) {
  for (const args of [
    ['netns', 'delete', rt.netns],
    ['link', 'delete', `tbh${rt.idx}`],
  ]) {
    try {
      sh('ip', args);
    } catch {
      /* not there, or gone with the netns */
    }
  }
}

function setupNetwork(rt: PodRt) {
  removeNetwork(rt);
  sh('ip', ['netns', 'add', rt.netns]);
  sh('ip', ['link', 'add', `tbh${rt.idx}`, 'type', 'veth', 'peer', 'name', `tbp${rt.idx}`]);
  sh('ip', ['link', 'set', `tbp${rt.idx}`, 'netns', rt.netns]);
  sh('ip', ['link', 'set', `tbh${rt.idx}`, 'master', BRIDGE, 'up']);
  sh('ip', ['-n', rt.netns, 'link', 'set', `tbp${rt.idx}`, 'name', 'eth0']);
  sh('ip', ['-n', rt.netns, 'addr', 'add', `${rt.ip}/24`, 'dev', 'eth0']);
  sh('ip', ['-n', rt.netns, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', rt.netns, 'link', 'set', 'lo', 'up']);
}

// Files are root-owned with the volume's defaultMode (0644 unless set) or the item's mode; with a pod
// fsGroup they get that group and g+r, like the kubelet's volume ownership management.
type Files = Record<string, { content: Buffer; mode?: number }>;
function writeFiles(dir: string, files: Files, defaultMode: number | undefined, fsGroup: number | undefined) {
  for (const [p, { content, mode }] of Object.entries(files)) {
    const f = path.join(dir, p);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(`${f}.tmp`, content);
    let m = mode ?? defaultMode ?? 0o644;
    if (fsGroup !== undefined) {
      fs.chownSync(`${f}.tmp`, 0, fsGroup);
      m |= 0o040;
    }
    fs.chmodSync(`${f}.tmp`, m);
    fs.renameSync(`${f}.tmp`, f);
  }
}
const pick = (data: Record<string, Buffer>, items?: { key: string; path: string; mode?: number }[]): Files =>
  items?.length
    ? Object.fromEntries(
        items.flatMap((i) => {
          const content = data[i.key];
          return content ? [[i.path, { content, mode: i.mode }]] : [];
        }),
      )
    : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, { content: v }]));
const downward = (rt: PodRt, items: any[] = []): Files =>
  Object.fromEntries(
    items.map((i: any) => [
      i.path,
      { content: Buffer.from(i.fieldRef ? fieldValue(rt.pod, rt.ip, i.fieldRef.fieldPath) : ''), mode: i.mode },
    ]),
  );

async function secretData(ns: string, name: string, optional?: boolean): Promise<Record<string, Buffer>> {
  try {
    const s = await core.readNamespacedSecret({ name, namespace: ns });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64')]));
  } catch (e) {
    if (optional && httpStatus(e) === 404) return {};
    throw e;
  }
}
async function configMapData(ns: string, name: string, optional?: boolean): Promise<Record<string, Buffer>> {
  try {
    const c = await core.readNamespacedConfigMap({ name, namespace: ns });
    return {
      ...Object.fromEntries(Object.entries(c.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string)])),
      ...Object.fromEntries(Object.entries(c.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64')])),
    };
  } catch (e) {
    if (optional && httpStatus(e) === 404) return {};
    throw e;
  }
}
function fieldValue(pod: any, ip: string, fieldPath: string): string {
  const m: Record<string, string> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': NODE,
    'spec.serviceAccountName': pod.spec.serviceAccountName ?? 'default',
    'status.podIP': ip,
    'status.hostIP': HOST_IP,
    'status.podIPs': ip,
    'status.hostIPs': HOST_IP,
  };
  const lab = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (lab) return pod.metadata[lab[1] ?? '']?.[lab[2] ?? ''] ?? '';
  return m[fieldPath] ?? '';
}

async function tokenFor(rt: PodRt, src: any): Promise<{ token: string; expires: number }> {
  const sa = rt.pod.spec.serviceAccountName ?? 'default';
  const tr = await core.createNamespacedServiceAccountToken({
    name: sa,
    namespace: rt.pod.metadata.namespace,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: src.audience ? [src.audience] : [],
        expirationSeconds: src.expirationSeconds ?? 3600,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: rt.pod.metadata.name, uid: rt.uid },
      },
    },
  });
  return { token: tr.status!.token, expires: new Date(tr.status!.expirationTimestamp).getTime() };
}

async function materialiseVolumes(rt: PodRt) {
  const ns = rt.pod.metadata.namespace;
  const fsGroup: number | undefined = rt.pod.spec.securityContext?.fsGroup;
  for (const v of rt.pod.spec.volumes ?? []) {
    const dir = `${rt.dir}/volumes/${v.name}`;
    fs.mkdirSync(dir, { recursive: true });
    if (v.secret)
      writeFiles(dir, pick(await secretData(ns, v.secret.secretName, v.secret.optional), v.secret.items), v.secret.defaultMode, fsGroup);
    else if (v.configMap)
      writeFiles(
        dir,
        pick(await configMapData(ns, v.configMap.name, v.configMap.optional), v.configMap.items),
        v.configMap.defaultMode,
        fsGroup,
      );
    else if (v.emptyDir) {
      fs.chmodSync(dir, 0o777);
    } else if (v.downwardAPI) writeFiles(dir, downward(rt, v.downwardAPI.items), v.downwardAPI.defaultMode, fsGroup);
    else if (v.projected) {
      const mode = v.projected.defaultMode;
      for (const s of v.projected.sources ?? []) {
        if (s.secret) writeFiles(dir, pick(await secretData(ns, s.secret.name, s.secret.optional), s.secret.items), mode, fsGroup);
        else if (s.configMap)
          writeFiles(dir, pick(await configMapData(ns, s.configMap.name, s.configMap.optional), s.configMap.items), mode, fsGroup);
        else if (s.downwardAPI) writeFiles(dir, downward(rt, s.downwardAPI.items), mode, fsGroup);
        else if (s.serviceAccountToken) {
          const refresh = async () => {
            const { token, expires } = await tokenFor(rt, s.serviceAccountToken);
            writeFiles(dir, { [s.serviceAccountToken.path]: { content: Buffer.from(token) } }, mode, fsGroup);
            if (!rt.stopping)
              rt.tokenTimers.push(
                setTimeout(
                  () => refresh().catch((e) => log(`${rt.key}: token refresh: ${e.message}`)),
                  Math.max(60_000, (expires - Date.now()) * 0.8),
                ),
              );
          };
          await refresh();
        } else log(`${rt.key}: volume ${v.name}: unsupported projected source ${Object.keys(s).join(',')}`);
      }
    } else
      log(
        `${rt.key}: volume ${v.name}: unsupported type ${Object.keys(v)
          .filter((k) => k !== 'name')
          .join(',')} (empty dir used)`,
      );
  }
}

async function containerEnv(rt: PodRt, c: any): Promise<Record<string, string>> {
  const ns = rt.pod.metadata.namespace;
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/',
    HOSTNAME: rt.pod.metadata.name,
    KUBERNETES_SERVICE_HOST: HOST_IP,
    KUBERNETES_SERVICE_PORT: API_PORT,
    KUBERNETES_SERVICE_PORT_HTTPS: API_PORT,
    KUBERNETES_PORT: `tcp://${HOST_IP}:${API_PORT}`,
    KUBERNETES_PORT_443_TCP: `tcp://${HOST_IP}:${API_PORT}`,
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_ADDR: HOST_IP,
    KUBERNETES_PORT_443_TCP_PORT: API_PORT,
  };
  for (const ef of c.envFrom ?? []) {
    const data = ef.configMapRef
      ? await configMapData(ns, ef.configMapRef.name, ef.configMapRef.optional)
      : ef.secretRef
        ? await secretData(ns, ef.secretRef.name, ef.secretRef.optional)
        : {};
    for (const [k, v] of Object.entries(data)) env[(ef.prefix ?? '') + k] = v.toString();
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) env[e.name] = (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m: string, n: string) => env[n] ?? m);
    else if (vf.fieldRef) env[e.name] = fieldValue(rt.pod, rt.ip, vf.fieldRef.fieldPath);
    else if (vf.secretKeyRef)
      env[e.name] = (await secretData(ns, vf.secretKeyRef.name, vf.secretKeyRef.optional))[vf.secretKeyRef.key]?.toString() ?? '';
    else if (vf.configMapKeyRef)
      env[e.name] =
        (await configMapData(ns, vf.configMapKeyRef.name, vf.configMapKeyRef.optional))[vf.configMapKeyRef.key]?.toString() ?? '';
  }
  return env;
}

function recordPids(rt: PodRt) {
  fs.writeFileSync(
    `${rt.dir}/pids`,
    [...rt.ctrs.values()]
      .map((c) => c.pid)
      .filter(Boolean)
      .join('\n') + '\n',
  );
}

async function startContainer(rt: PodRt, ctr: Ctr) {
  const c = ctr.spec;
  const argv = resolveCommand(c)!;
  const mounts: string[] = [];
  for (const m of c.volumeMounts ?? []) {
    const src = path.join(rt.dir, 'volumes', m.name, m.subPath ?? '');
    if (!fs.existsSync(src)) fs.mkdirSync(src, { recursive: true });
    const isFile = fs.statSync(src).isFile();
    if (!fs.existsSync(m.mountPath)) {
      if (isFile) {
        fs.mkdirSync(path.dirname(m.mountPath), { recursive: true });
        fs.writeFileSync(m.mountPath, '');
      } else fs.mkdirSync(m.mountPath, { recursive: true });
    }
    mounts.push(`mount --bind ${q(src)} ${q(m.mountPath)}`);
    if (m.readOnly) mounts.push(`mount -o remount,bind,ro ${q(m.mountPath)}`);
  }
  // user: container securityContext, else pod securityContext, else the image's USER
  const img = IMAGES.find((i) => i.re.test(c.image))!;
  const psc = rt.pod.spec.securityContext ?? {},
    csc = c.securityContext ?? {};
  const uid: number = csc.runAsUser ?? psc.runAsUser ?? img.user[0];
  const explicitUser = csc.runAsUser ?? psc.runAsUser;
  const gid: number = csc.runAsGroup ?? psc.runAsGroup ?? (explicitUser !== undefined ? 0 : img.user[1]);
  if (uid === 0 && (csc.runAsNonRoot ?? psc.runAsNonRoot)) {
    log(`${rt.key}: container ${c.name}: CreateContainerConfigError: container has runAsNonRoot and image will run as root`);
    ctr.waiting = 'CreateContainerConfigError';
    scheduleStatus(rt);
    return;
  }
  const groups = [...new Set([psc.fsGroup, ...(psc.supplementalGroups ?? [])].filter((g) => g !== undefined))];
  const drop =
    uid === 0 && gid === 0 && !groups.length
      ? []
      : ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, groups.length ? `--groups=${groups.join(',')}` : '--clear-groups', '--'];
  const script = [...mounts, `cd ${q(c.workingDir ?? '/')}`, `exec ${[...drop, ...argv].map(q).join(' ')}`].join(' && ');
  const env = await containerEnv(rt, c);
  const logFile = `${LOGS}/${rt.pod.metadata.namespace}_${rt.pod.metadata.name}_${c.name}.log`;
  const out = fs.openSync(logFile, 'a');
  fs.writeSync(out, `--- ${now()} starting ${argv.join(' ')} in netns ${rt.netns} as ${uid}:${gid}\n`);
  const proc = spawn('ip', ['netns', 'exec', rt.netns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script], {
    env,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  ctr.proc = proc;
  ctr.pid = proc.pid;
  ctr.started = now();
  ctr.ready = false;
  ctr.waiting = undefined;
  ctr.liveFails = 0;
  ctr.readyFails = 0;
  recordPids(rt);
  log(`${rt.key}: container ${c.name} started (pid ${proc.pid}), log ${logFile}`);
  proc.on('exit', (code, signal) => {
    ctr.timers.forEach(clearTimeout);
    ctr.timers = [];
    ctr.proc = undefined;
    ctr.ready = false;
    ctr.lastTerm = {
      exitCode: code ?? 137,
      signal: signal ? undefined : undefined,
      reason: code === 0 ? 'Completed' : 'Error',
      startedAt: ctr.started,
      finishedAt: now(),
    };
    if (rt.stopping) return;
    log(`${rt.key}: container ${c.name} exited (code ${code}, signal ${signal})`);
    const policy = rt.pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always' || (policy === 'OnFailure' && code !== 0)) {
      const delay = Math.min(10_000 * 2 ** ctr.restarts, 300_000) / 10; // 1s, 2s, 4s ... like CrashLoopBackOff, 10x faster
      ctr.restarts++;
      ctr.waiting = 'CrashLoopBackOff';
      setTimeout(() => {
        if (!rt.stopping) startContainer(rt, ctr).catch((e) => log(`${rt.key}: restart ${c.name}: ${e.message}`));
      }, delay);
    }
    scheduleStatus(rt);
  });
  scheduleProbes(rt, ctr);
  scheduleStatus(rt);
}

async function probe(rt: PodRt, c: any, p: any): Promise<boolean> {
  const port = (x: any) =>
    typeof x === 'number' ? x : /^\d+$/.test(x) ? Number(x) : c.ports?.find((cp: any) => cp.name === x)?.containerPort;
  const timeout = (p.timeoutSeconds ?? 1) * 1000;
  if (p.httpGet) {
    const g = p.httpGet;
    const mod = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? https : http;
    return new Promise((resolve) => {
      const req = mod.request(
        {
          host: g.host ?? rt.ip,
          port: port(g.port),
          path: g.path ?? '/',
          method: 'GET',
          timeout,
          rejectUnauthorized: false,
          headers: Object.fromEntries((g.httpHeaders ?? []).map((h: any) => [h.name, h.value])),
        } as any,
        (res) => {
          res.resume();
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }
  if (p.tcpSocket) {
    return new Promise((resolve) => {
      const s = net.connect({ host: p.tcpSocket.host ?? rt.ip, port: port(p.tcpSocket.port), timeout }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.on('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
  }
  if (!warned.has(`${rt.uid}/${c.name}/probe`)) {
    warned.add(`${rt.uid}/${c.name}/probe`);
    log(`${rt.key}: ${c.name}: ${Object.keys(p).find((k) => /exec|grpc/.test(k))} probes are not supported, treated as passing`);
  }
  return true;
}

function scheduleProbes(rt: PodRt, ctr: Ctr) {
  const c = ctr.spec;
  const loop = (p: any, kind: 'readiness' | 'liveness') => {
    const period = Math.min(p.periodSeconds ?? 10, 5) * 1000; // capped at 5s so the bed converges quickly
    const tick = async () => {
      if (!ctr.proc || rt.stopping) return;
      const ok = await probe(rt, c, p);
      if (!ctr.proc || rt.stopping) return;
      if (kind === 'readiness') {
        ctr.readyFails = ok ? 0 : ctr.readyFails + 1;
        const ready = ok ? true : ctr.readyFails >= (p.failureThreshold ?? 3) ? false : ctr.ready;
        if (ready !== ctr.ready) {
          ctr.ready = ready;
          log(`${rt.key}: container ${c.name} ready=${ready}`);
          scheduleStatus(rt);
        }
      } else {
        ctr.liveFails = ok ? 0 : ctr.liveFails + 1;
        if (ctr.liveFails >= (p.failureThreshold ?? 3)) {
          log(`${rt.key}: container ${c.name} failed liveness, killing`);
          ctr.proc.kill('SIGKILL');
          return;
        }
      }
      ctr.timers.push(setTimeout(tick, ctr.ready || kind === 'liveness' ? period : Math.min(period, 1000)));
    };
    ctr.timers.push(setTimeout(tick, (p.initialDelaySeconds ?? 0) * 1000 + 200));
  };
  if (c.readinessProbe) loop(c.readinessProbe, 'readiness');
  else {
    ctr.ready = true;
  }
  if (c.livenessProbe) loop(c.livenessProbe, 'liveness');
}

function podStatus(rt: PodRt) {
  const ctrs = [...rt.ctrs.values()];
  const allReady = ctrs.every((c) => c.ready && c.proc);
  const cond = (type: string, ok: boolean) => {
    const key = `${type}=${ok}`;
    if (!rt.trans[key]) {
      rt.trans[key] = now();
      delete rt.trans[`${type}=${!ok}`];
    }
    return {
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: rt.trans[key],
      ...(ok ? {} : { reason: 'ContainersNotReady' }),
    };
  };
  return {
    status: {
      phase: 'Running',
      hostIP: HOST_IP,
      hostIPs: [{ ip: HOST_IP }],
      podIP: rt.ip,
      podIPs: [{ ip: rt.ip }],
      startTime: rt.startTime,
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', true),
        cond('Ready', allReady),
        cond('ContainersReady', allReady),
        cond('PodScheduled', true),
      ],
      containerStatuses: ctrs.map((c) => ({
        name: c.spec.name,
        image: c.spec.image,
        imageID: `testbed://${resolveCommand(c.spec)![0]}`,
        containerID: c.pid ? `testbed://${c.pid}` : undefined,
        ready: !!(c.ready && c.proc),
        started: !!c.proc,
        restartCount: c.restarts,
        state: c.proc ? { running: { startedAt: c.started } } : { waiting: { reason: c.waiting ?? 'ContainerCreating' } },
        lastState: c.lastTerm ? { terminated: c.lastTerm } : {},
      })),
    },
  };
}

function scheduleStatus(rt: PodRt) {
  if (rt.statusTimer || rt.stopping) return;
  rt.statusTimer = setTimeout(async () => {
    rt.statusTimer = undefined;
    if (rt.stopping) return;
    try {
      await core.patchNamespacedPodStatus(
        { name: rt.pod.metadata.name, namespace: rt.pod.metadata.namespace, body: podStatus(rt) },
        mergePatch,
      );
    } catch (e: any) {
      if (httpStatus(e) !== 404) {
        log(`${rt.key}: status update: ${e.message}`);
        setTimeout(() => scheduleStatus(rt), 2000);
      }
    }
  }, 100);
}

async function startPod(pod: any) {
  const uid = pod.metadata.uid;
  let idx = 2;
  while (usedIdx.has(idx)) idx++;
  if (idx > 254) {
    log(`no pod IPs left for ${pod.metadata.namespace}/${pod.metadata.name}`);
    return;
  }
  usedIdx.add(idx);
  const rt: PodRt = {
    pod,
    uid,
    key: `${pod.metadata.namespace}/${pod.metadata.name}`,
    idx,
    ip: `${PREFIX}.${idx}`,
    netns: `tb-${uid.slice(0, 8)}`,
    dir: `${DIR}/pods/${uid}`,
    ctrs: new Map(),
    stopping: false,
    startTime: now(),
    trans: {},
    tokenTimers: [],
  };
  for (const c of pod.spec.containers) rt.ctrs.set(c.name, { spec: c, ready: false, restarts: 0, timers: [], liveFails: 0, readyFails: 0 });
  pods.set(uid, rt);
  log(`${rt.key}: starting pod (uid ${uid}) ip ${rt.ip} netns ${rt.netns}`);
  try {
    fs.mkdirSync(rt.dir, { recursive: true });
    setupNetwork(rt);
    scheduleStatus(rt);
    await materialiseVolumes(rt);
    for (const ctr of rt.ctrs.values()) if (!rt.stopping) await startContainer(rt, ctr);
  } catch (e: any) {
    log(`${rt.key}: pod start failed: ${e.message}; retrying in 5s`);
    await stopPod(rt, 0);
    pods.delete(uid);
    setTimeout(() => {
      const cur = latest.get(uid);
      if (cur && !cur.metadata.deletionTimestamp && !pods.has(uid)) void startPod(cur);
    }, 5000);
  }
}

async function stopPod(rt: PodRt, graceSeconds: number) {
  rt.stopping = true;
  clearTimeout(rt.statusTimer);
  rt.tokenTimers.forEach(clearTimeout);
  const live = [...rt.ctrs.values()].filter((c) => c.proc);
  for (const c of rt.ctrs.values()) {
    c.timers.forEach(clearTimeout);
    c.proc?.kill('SIGTERM');
  }
  const deadline = Date.now() + graceSeconds * 1000;
  while (live.some((c) => c.proc) && Date.now() < deadline) await sleep(100);
  for (const c of live) c.proc?.kill('SIGKILL');
  while (live.some((c) => c.proc)) await sleep(50);
  removeNetwork(rt);
  fs.rmSync(rt.dir, { recursive: true, force: true });
  usedIdx.delete(rt.idx);
  log(`${rt.key}: pod stopped and cleaned up`);
}

// ---- pod events ---------------------------------------------------------------------------------------
const latest = new Map<string, any>();
const terminating = new Set<string>();

async function onPod(pod: any) {
  const uid = pod.metadata.uid;
  latest.set(uid, pod);
  const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
  if (!pod.spec.nodeName) {
    if (pod.metadata.deletionTimestamp) return;
    const why = unmappable(pod);
    if (why) {
      if (!warned.has(uid)) {
        warned.add(uid);
        log(`${key}: stays Pending: ${why}`);
      }
      return;
    }
    try {
      await core.createNamespacedPodBinding({
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, uid },
          target: { apiVersion: 'v1', kind: 'Node', name: NODE },
        },
      });
      log(`${key}: bound to ${NODE}`);
    } catch (e: any) {
      log(`${key}: binding failed: ${e.message}`);
    }
    return;
  }
  if (pod.spec.nodeName !== NODE) return;
  if (pod.metadata.deletionTimestamp) {
    if (terminating.has(uid)) return;
    terminating.add(uid);
    const rt = pods.get(uid);
    void (async () => {
      if (rt) await stopPod(rt, pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
      pods.delete(uid);
      try {
        await core.deleteNamespacedPod({
          name: pod.metadata.name,
          namespace: pod.metadata.namespace,
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
        });
        log(`${key}: deleted`);
      } catch (e: any) {
        if (![404, 409].includes(httpStatus(e) ?? 0)) log(`${key}: final delete: ${e.message}`);
      }
    })();
    return;
  }
  if (pods.has(uid) || ['Succeeded', 'Failed'].includes(pod.status?.phase)) return;
  if (unmappable(pod)) return;
  void startPod(pod);
}

async function onPodDeleted(pod: any) {
  const uid = pod.metadata.uid;
  latest.delete(uid);
  const rt = pods.get(uid);
  if (rt && !terminating.has(uid)) {
    terminating.add(uid);
    await stopPod(rt, 0);
    pods.delete(uid);
  }
  warned.delete(uid);
}

// ---- node -----------------------------------------------------------------------------------------------
async function registerNode() {
  try {
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: NODE,
          labels: {
            'kubernetes.io/hostname': NODE,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node.kubernetes.io/testbed': 'true',
          },
        },
      },
    });
    log(`node ${NODE} created`);
  } catch (e) {
    if (httpStatus(e) !== 409) throw e;
  }
  await nodeStatus();
}
const bootTime = now();
async function nodeStatus() {
  const t = now();
  const c = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: reason,
    lastHeartbeatTime: t,
    lastTransitionTime: bootTime,
  });
  await core.patchNodeStatus(
    {
      name: NODE,
      body: {
        status: {
          capacity: { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi' },
          allocatable: { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi' },
          conditions: [
            c('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
            c('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
            c('PIDPressure', 'False', 'KubeletHasSufficientPID'),
            c('Ready', 'True', 'KubeletReady'),
          ],
          addresses: [
            { type: 'InternalIP', address: HOST_IP },
            { type: 'Hostname', address: NODE },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
          nodeInfo: {
            machineID: '',
            systemUUID: '',
            bootID: '',
            kernelVersion: '',
            osImage: 'bootstrap test bed',
            containerRuntimeVersion: 'testbed://local-processes',
            kubeletVersion: 'v1.37.2',
            kubeProxyVersion: '',
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        },
      },
    },
    mergePatch,
  );
}
// MicroTime needs 6 fractional digits; server-side apply creates the Lease or renews it in one call
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
async function renewLease() {
  const renewTime = new Date().toISOString().replace('Z', '000Z');
  await coordination.patchNamespacedLease(
    {
      name: NODE,
      namespace: 'kube-node-lease',
      fieldManager: 'testbed-kubelet',
      force: true,
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: NODE },
        spec: { holderIdentity: NODE, leaseDurationSeconds: 40, renewTime },
      },
    },
    applyPatch,
  );
}

async function main() {
  fs.mkdirSync(`${DIR}/pods`, { recursive: true });
  fs.mkdirSync(POD_BIN, { recursive: true, mode: 0o755 });
  fs.copyFileSync(`${BIN}/opa`, `${POD_BIN}/opa.tmp`);
  fs.chmodSync(`${POD_BIN}/opa.tmp`, 0o755);
  fs.renameSync(`${POD_BIN}/opa.tmp`, `${POD_BIN}/opa`);
  for (;;) {
    try {
      await registerNode();
      break;
    } catch (e: any) {
      log(`node registration: ${e.message}; retrying`);
      await sleep(2000);
    }
  }
  setInterval(() => renewLease().catch((e) => log(`lease: ${e.message}`)), 10_000);
  void renewLease().catch((e) => log(`lease: ${e.message}`));
  setInterval(() => nodeStatus().catch((e) => log(`node status: ${e.message}`)), 30_000);
  informer(kc, '/api/v1/pods', { add: onPod, update: (_o, p) => onPod(p), delete: onPodDeleted });
  log(`mini-kubelet for ${NODE} running (bridge ${BRIDGE} ${HOST_IP}, apiserver port ${API_PORT})`);
}

let shuttingDown = false;
async function shutdown(sig: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`${sig}: stopping ${pods.size} pod(s)`);
  await Promise.all([...pods.values()].map((rt) => stopPod(rt, 5)));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
main().catch((e) => {
  log(`fatal: ${e.stack ?? e}`);
  process.exit(1);
});
