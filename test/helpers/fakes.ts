// Fakes of the narrow side-effect interfaces (src/adapters/*): each one RECORDS what it was asked, in order,
// and answers from an in-memory world the test sets up. No fake decides a test's outcome by itself.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandNotFoundError, type CmdOptions, type CmdResult, type CmdRunner } from '../../src/adapters/cmd.js';
import type { ContainerSpec, ContainerState, DockerClient } from '../../src/adapters/docker.js';
import type { Firewall, GuardRule } from '../../src/adapters/firewall.js';
import type { AdmissionOutcome, KubeClient, KubeObject, ObjectRef } from '../../src/adapters/kube.js';
import { Minikube } from '../../src/adapters/minikube.js';
import type { RegistryApi } from '../../src/adapters/net.js';
import { StateStore } from '../../src/adapters/state.js';
import { defaultConfig, type Config } from '../../src/config.js';
import { POLICY_STATUS_ANNOTATION } from '../../src/manifests.js';
import { defaultRunOptions, newContext, type Ctx, type RunOptions, type Services } from '../../src/context.js';
import type { Task, TaskWrapper } from '../../src/listr.js';
import { Listr, ListrLogger } from 'listr2';
import { messages } from '../../src/messages.js';
import { denial } from '../../src/admission-checks.js';

// --- commands ---------------------------------------------------------------------------------------------

/** What a scripted command answers; `afterMs`: it answers that much later in real time (a slow `minikube start`, say). */
export type ScriptedResponse =
  (Partial<CmdResult> & { afterMs?: number }) | 'not-found' | ((argv: string[]) => Partial<CmdResult> | 'not-found');

/** Records `[file, ...args]` of every run; answers with the response of the longest matching argv prefix. */
export class FakeCmdRunner implements CmdRunner {
  readonly calls: string[][] = [];
  private readonly script: { prefix: string[]; response: ScriptedResponse }[] = [];

  /** `on(['minikube', 'version'], { stdout: 'v1.36.0' })`; later entries with the same prefix win. */
  on(prefix: string[], response: ScriptedResponse): this {
    this.script.unshift({ prefix, response });
    return this;
  }

  async run(file: string, args: readonly string[], options: CmdOptions = {}): Promise<CmdResult> {
    const argv = [file, ...args];
    this.calls.push(argv);
    const match = this.script
      .filter((s) => s.prefix.length <= argv.length && s.prefix.every((p, i) => argv[i] === p))
      .sort((a, b) => b.prefix.length - a.prefix.length)[0];
    let response = match?.response ?? {};
    if (typeof response === 'function') response = response(argv);
    if (response === 'not-found') throw new CommandNotFoundError(file);
    const { afterMs, ...answer } = response as Partial<CmdResult> & { afterMs?: number };
    if (afterMs) await new Promise((resolve) => setTimeout(resolve, afterMs));
    const result = { stdout: '', stderr: '', exitCode: 0, ...answer };
    if (options.onLine) for (const line of `${result.stdout}\n${result.stderr}`.split('\n')) if (line.trim()) options.onLine(line);
    return result;
  }
}

// --- packet filter ------------------------------------------------------------------------------------------

/** A rule as the fakes record it: `address[:port] !interface`. */
const describeGuard = (r: GuardRule) => `${r.address}${r.port === undefined ? '' : `:${r.port}`} !${r.inInterface}`;

/** The packet filter in memory: our rules as a list, each call recorded. `manageable: false` is a process that is not root. */
export class FakeFirewall implements Firewall {
  readonly calls: string[][] = [];
  readonly rules: GuardRule[] = [];
  manageable = true;
  async guardRules() {
    this.calls.push(['guardRules']);
    return this.manageable ? this.rules.map((r) => ({ ...r })) : undefined;
  }
  async addGuard(rule: GuardRule) {
    this.calls.push(['addGuard', rule.container, describeGuard(rule)]);
    this.rules.push({ ...rule });
  }
  async removeGuard(rule: GuardRule) {
    this.calls.push(['removeGuard', rule.container, describeGuard(rule)]);
    const at = this.rules.findIndex((r) => describeGuard(r) === describeGuard(rule) && r.container === rule.container);
    if (at >= 0) this.rules.splice(at, 1);
    return at >= 0;
  }
}

// --- docker -----------------------------------------------------------------------------------------------

export const stateFromSpec = (spec: ContainerSpec, running = true, id = `id-${spec.name}`): ContainerState => ({
  id,
  running,
  image: spec.image,
  env: { ...spec.env },
  ports: { ...spec.ports },
  listenAddresses: [...spec.listenAddresses],
  networks: ['bridge'],
  volumes: [{ ...spec.volume }],
  restart: spec.restart,
  labels: { ...spec.labels },
});

/** In-memory engine: containers, images, volumes; `calls` lists `[method, ...args]` in order. */
export class FakeDocker implements DockerClient {
  readonly calls: string[][] = [];
  readonly containers = new Map<string, ContainerState>();
  readonly images = new Set<string>();
  readonly volumes = new Set<string>();
  readonly networks = new Set<string>(['bridge']);
  /** Refs pushed, in order. */
  readonly pushed: string[] = [];
  pingError?: Error;
  pullError?: Error;
  pushError?: Error;
  engineVersion = '27.5.1';
  private nextId = 1;

  constructor(init: { images?: string[]; containers?: ContainerState[]; names?: string[] } = {}) {
    for (const image of init.images ?? []) this.images.add(image);
    (init.containers ?? []).forEach((c, i) => this.containers.set(init.names?.[i] ?? c.id, c));
  }

  addContainer(name: string, state: ContainerState): this {
    this.containers.set(name, state);
    for (const v of state.volumes) this.volumes.add(v.name);
    return this;
  }

  async ping() {
    this.calls.push(['ping']);
    if (this.pingError) throw this.pingError;
  }
  /** Records the call, then answers. */
  private async answer<T>(call: string[], value: () => T): Promise<T> {
    this.calls.push(call);
    return value();
  }
  /** The container, or the engine's 404 for it. */
  private container(name: string): ContainerState {
    const state = this.containers.get(name);
    if (!state) throw Object.assign(new Error(`No such container: ${name}`), { statusCode: 404 });
    return state;
  }
  version() {
    return this.answer(['version'], () => this.engineVersion);
  }
  inspectContainer(name: string) {
    return this.answer(['inspectContainer', name], () => {
      const state = this.containers.get(name);
      return state ? structuredClone(state) : undefined;
    });
  }
  async createContainer(spec: ContainerSpec) {
    this.calls.push(['createContainer', spec.name]);
    if (this.containers.has(spec.name)) throw Object.assign(new Error(`Conflict: name ${spec.name} in use`), { statusCode: 409 });
    if (!this.images.has(spec.image)) throw Object.assign(new Error(`No such image: ${spec.image}`), { statusCode: 404 });
    this.volumes.add(spec.volume.name);
    this.containers.set(spec.name, stateFromSpec(spec, false, `id-${this.nextId++}`));
  }
  async startContainer(name: string) {
    this.calls.push(['startContainer', name]);
    this.container(name).running = true;
  }
  removeContainer(name: string) {
    return this.answer(['removeContainer', name], () => this.containers.delete(name));
  }
  networkExists(name: string) {
    return this.answer(['networkExists', name], () => this.networks.has(name));
  }
  async connectNetwork(container: string, network: string) {
    this.calls.push(['connectNetwork', container, network]);
    const state = this.container(container);
    if (!this.networks.has(network)) throw Object.assign(new Error(`network ${network} not found`), { statusCode: 404 });
    if (state.networks.includes(network))
      throw Object.assign(new Error(`endpoint already exists in network ${network}`), { statusCode: 403 });
    state.networks.push(network);
  }
  async disconnectNetwork(container: string, network: string) {
    this.calls.push(['disconnectNetwork', container, network]);
    const state = this.containers.get(container);
    if (!state?.networks.includes(network)) return false;
    state.networks = state.networks.filter((n) => n !== network);
    return true;
  }
  /** Answers to exec, by container name; a container without one is not there (undefined, as for a 404). */
  readonly execAnswers = new Map<string, { exitCode: number; stdout: string; stderr: string }>();
  /** Containers that answer exec from their own state (a node's files, say), before execAnswers; undefined: not there. */
  onExec?: (container: string, argv: string[]) => { exitCode: number; stdout: string; stderr: string } | undefined;
  async exec(container: string, argv: string[]) {
    this.calls.push(['exec', container, ...argv]);
    return this.onExec?.(container, argv) ?? this.execAnswers.get(container);
  }
  /** Container name → its address on a network, for containerWithAddress. */
  readonly addresses = new Map<string, string>();
  async containerWithAddress(address: string) {
    this.calls.push(['containerWithAddress', address]);
    const name = [...this.addresses].find(([, a]) => a === address)?.[0];
    return name ? { name, network: this.containerNetworks.get(name) ?? 'bridge' } : undefined;
  }
  /** How a one-off container run ends (the policy check in the OPA image); default: exit 0, nothing printed. */
  onRun: (image: string, argv: string[]) => { exitCode: number; stdout: string; stderr: string } = () => ({
    exitCode: 0,
    stdout: '',
    stderr: '',
  });
  async runOnce(image: string, argv: string[], readOnlyMounts: { host: string; container: string }[]) {
    this.calls.push(['run', image, ...argv, ...readOnlyMounts.map((m) => `-v ${m.host}:${m.container}:ro`)]);
    if (!this.images.has(image)) throw Object.assign(new Error(`No such image: ${image}`), { statusCode: 404 });
    return this.onRun(image, argv);
  }
  /** Container name → the network its address is on, for containerWithAddress (default: bridge). */
  readonly containerNetworks = new Map<string, string>();
  /** What engine() reports besides the version: a local Linux engine by default. */
  engineFacts = { desktop: false, local: true };
  async engine() {
    this.calls.push(['engine']);
    return { version: this.engineVersion, ...this.engineFacts };
  }
  /** Each network a container is on gets an address: 172.17.0.x on bridge (docker0), 192.168.49.x elsewhere (br-<name>). */
  async containerAddresses(name: string) {
    this.calls.push(['containerAddresses', name]);
    const state = this.containers.get(name);
    if (!state) return undefined;
    const host = [...this.containers.keys()].indexOf(name) + 2;
    return state.networks.map((network) =>
      network === 'bridge'
        ? { network, address: `172.17.0.${host}`, bridge: 'docker0' }
        : { network, address: `192.168.49.${host}`, bridge: `br-${network}` },
    );
  }
  imageExists(ref: string) {
    return this.answer(['imageExists', ref], () => this.images.has(ref));
  }
  async pullImage(ref: string) {
    this.calls.push(['pullImage', ref]);
    if (this.pullError) throw this.pullError;
    this.images.add(ref);
  }
  async tagImage(source: string, repository: string, tag: string) {
    this.calls.push(['tagImage', source, repository, tag]);
    if (!this.images.has(source)) throw Object.assign(new Error(`No such image: ${source}`), { statusCode: 404 });
    this.images.add(`${repository}:${tag}`);
  }
  async pushImage(repository: string, tag: string) {
    const ref = `${repository}:${tag}`;
    this.calls.push(['pushImage', repository, tag]);
    if (this.pushError) throw this.pushError;
    if (!this.images.has(ref)) throw new Error(`An image does not exist locally with the tag: ${ref}`);
    this.pushed.push(ref);
  }
  removeVolume(name: string) {
    return this.answer(['removeVolume', name], () => this.volumes.delete(name));
  }
  volumeExists(name: string) {
    return this.answer(['volumeExists', name], () => this.volumes.has(name));
  }
}

// --- kubernetes -------------------------------------------------------------------------------------------

export const keyOf = (ref: ObjectRef) => `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
const refFrom = (o: KubeObject): ObjectRef => ({
  apiVersion: o.apiVersion!,
  kind: o.kind!,
  name: o.metadata!.name!,
  namespace: o.metadata?.namespace,
});

export interface KubeCall {
  op:
    | 'apply'
    | 'get'
    | 'delete'
    | 'list'
    | 'mergePatch'
    | 'createPod'
    | 'replacePod'
    | 'replaceEphemeralContainers'
    | 'createObject'
    | 'replaceObject'
    | 'postToService';
  /** `apiVersion/kind/namespace/name` (list: `apiVersion/kind/namespace/*`) */
  key: string;
  body?: unknown;
  dryRun?: boolean;
}

export type Admission = (op: 'create' | 'update' | 'ephemeral', pod: KubeObject, dryRun: boolean) => AdmissionOutcome;

/** When FakeKube marks an object as being deleted; only its presence matters. */
const DELETION_REQUESTED_AT = '2025-06-01T12:00:00Z';

/** In-memory API server: objects keyed by apiVersion/kind/namespace/name; `calls` in order; admission programmable. */
export class FakeKube implements KubeClient {
  readonly calls: KubeCall[] = [];
  readonly objects = new Map<string, KubeObject>();
  /** Decides pod requests; default: everything admitted. */
  admission: Admission = () => ({ allowed: true, code: 201, message: '' });
  /** Called on every get, so a test can change the world between polls (e.g. a rollout progressing). */
  onGet?: (ref: ObjectRef, count: number) => void;
  /**
   * What the cluster's own controllers do, run after every write (apply, delete, merge patch, a real create): each
   * looks at the stored objects and changes them as it would (a rollout finishing, kube-mgmt's status). By state,
   * never by how many calls were made.
   */
  readonly controllers: ((kube: FakeKube) => void)[] = [];
  private settle() {
    for (const controller of this.controllers) controller(this);
  }
  private gets = 0;
  private generated = 0;

  constructor(
    readonly contextName = 'minikube',
    readonly server = 'https://127.0.0.1:8443',
    private readonly version = 'v1.33.1',
  ) {}

  /** Puts an object into the store without recording a call. */
  seed(...objects: KubeObject[]): this {
    for (const o of objects) this.objects.set(keyOf(refFrom(o)), structuredClone(o));
    return this;
  }
  stored(ref: ObjectRef): KubeObject | undefined {
    return this.objects.get(keyOf(ref));
  }
  /** The calls as `op key` strings, for exact-order assertions. */
  log(filter?: (c: KubeCall) => boolean): string[] {
    return this.calls.filter(filter ?? (() => true)).map((c) => `${c.op} ${c.key}`);
  }

  async serverVersion() {
    return this.version;
  }
  async apply<T extends KubeObject>(object: T, options: { dryRun?: boolean } = {}): Promise<T> {
    const key = keyOf(refFrom(object));
    this.calls.push({ op: 'apply', key, body: structuredClone(object), dryRun: options.dryRun });
    const live = this.objects.get(key);
    // Our fields replace theirs (apply with force); what else the live object has stays.
    const merged = {
      ...live,
      ...structuredClone(object),
      metadata: { ...(live?.metadata ?? {}), ...structuredClone(object.metadata) },
    } as T;
    // A dry run answers with the object as it would be, and keeps nothing.
    if (options.dryRun) return structuredClone(merged);
    this.objects.set(key, merged);
    this.settle();
    return structuredClone(this.objects.get(key) as T);
  }
  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    this.calls.push({ op: 'get', key: keyOf(ref) });
    this.onGet?.(ref, ++this.gets);
    const o = this.objects.get(keyOf(ref));
    return o ? (structuredClone(o) as T) : undefined;
  }
  /**
   * As the API server deletes: a Pod bound to a node (spec.nodeName) is only marked as being deleted
   * (deletionTimestamp, deletionGracePeriodSeconds) for its grace period — the request's, else its
   * terminationGracePeriodSeconds, else 30 — and stays until its kubelet ends it (a test's controller, or never); so
   * does any object with finalizers. A grace period of 0, an unscheduled Pod, any other kind: gone at once.
   */
  async delete(ref: ObjectRef, options: { gracePeriodSeconds?: number } = {}) {
    this.calls.push({ op: 'delete', key: keyOf(ref), ...(options.gracePeriodSeconds === undefined ? {} : { body: { ...options } }) });
    const live = this.objects.get(keyOf(ref));
    if (!live) return false;
    const spec = live.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    const grace = options.gracePeriodSeconds ?? spec?.terminationGracePeriodSeconds ?? 30;
    if (live.metadata?.finalizers?.length || (live.kind === 'Pod' && spec?.nodeName && grace > 0)) {
      live.metadata!.deletionTimestamp ??= new Date(DELETION_REQUESTED_AT);
      live.metadata!.deletionGracePeriodSeconds = Math.min(grace, live.metadata!.deletionGracePeriodSeconds ?? grace);
    } else this.objects.delete(keyOf(ref));
    this.settle();
    return true;
  }
  async list(apiVersion: string, kind: string, options: { namespace?: string; labelSelector?: string } = {}) {
    this.calls.push({ op: 'list', key: `${apiVersion}/${kind}/${options.namespace ?? ''}/*`, body: options.labelSelector });
    const selector = (options.labelSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map((s) => s.split('=') as [string, string]);
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind)
      .filter((o) => options.namespace === undefined || o.metadata?.namespace === options.namespace)
      .filter((o) => selector.every(([k, v]) => o.metadata?.labels?.[k] === v))
      .map((o) => structuredClone(o));
  }
  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>) {
    this.calls.push({ op: 'mergePatch', key: keyOf(ref), body: structuredClone(patch) });
    const live = this.objects.get(keyOf(ref));
    if (!live) throw Object.assign(new Error('not found'), { code: 404 });
    const merged = mergePatch(live, patch) as KubeObject;
    this.objects.set(keyOf(ref), merged);
    this.settle();
    return structuredClone(this.objects.get(keyOf(ref))!);
  }
  private pod(op: 'create' | 'update' | 'ephemeral', call: KubeCall['op'], namespace: string, pod: KubeObject, dryRun: boolean) {
    const name = pod.metadata!.name ?? `${pod.metadata!.generateName ?? ''}${this.generated++}`;
    const ref = { apiVersion: pod.apiVersion ?? 'v1', kind: pod.kind ?? 'Pod', namespace, name };
    this.calls.push({ op: call, key: keyOf(ref), body: structuredClone(pod), dryRun });
    // As the API server: a name in use is a conflict, dry run or not, worded apart while its object is being deleted.
    const taken = this.objects.get(keyOf(ref));
    if (op === 'create' && taken) {
      const exists = `${ref.kind.toLowerCase()}s "${name}" already exists`;
      return Promise.resolve({
        allowed: false,
        code: 409,
        message: taken.metadata?.deletionTimestamp ? `object is being deleted: ${exists}` : exists,
      });
    }
    const outcome = this.admission(op, pod, dryRun);
    if (outcome.allowed && !dryRun) {
      this.objects.set(keyOf(ref), structuredClone({ ...pod, metadata: { ...pod.metadata, namespace } }));
      this.settle();
    }
    return Promise.resolve(outcome);
  }
  createPod(namespace: string, pod: KubeObject, { dryRun }: { dryRun: boolean }) {
    return this.pod('create', 'createPod', namespace, pod, dryRun);
  }
  replacePod(namespace: string, pod: KubeObject, { dryRun }: { dryRun: boolean }) {
    return this.pod('update', 'replacePod', namespace, pod, dryRun);
  }
  replaceEphemeralContainers(namespace: string, pod: KubeObject, { dryRun }: { dryRun: boolean }) {
    return this.pod('ephemeral', 'replaceEphemeralContainers', namespace, pod, dryRun);
  }
  /** Answers postToService (the service proxy); default: a 503 as from a Service without endpoints. */
  serviceAnswer?: (path: string, body: unknown) => unknown;
  async postToService<T>(
    target: { namespace: string; service: string; scheme: string; port: number; path: string },
    body: unknown,
  ): Promise<T> {
    const key = `${target.namespace}/${target.scheme}:${target.service}:${target.port}/${target.path}`;
    this.calls.push({ op: 'postToService', key, body: structuredClone(body) });
    if (!this.serviceAnswer) throw Object.assign(new Error('503 from proxy: no endpoints available'), { code: 503 });
    return structuredClone(this.serviceAnswer(target.path, body)) as T;
  }
  createObject(object: KubeObject, { dryRun }: { dryRun: boolean }) {
    return this.pod('create', 'createObject', object.metadata!.namespace!, object, dryRun);
  }
  replaceObject(object: KubeObject, { dryRun }: { dryRun: boolean }) {
    return this.pod('update', 'replaceObject', object.metadata!.namespace!, object, dryRun);
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// --- registry HTTP API ------------------------------------------------------------------------------------

export class FakeRegistryApi implements RegistryApi {
  readonly calls: string[][] = [];
  /** `repository:tag` present in the registry. */
  readonly manifests = new Set<string>();
  /** ping answers true from this call number on (1 = at once). */
  upAfterPings = 1;
  private pings = 0;
  /** The registry container in a FakeDocker that this API is served by (see servedBy). */
  private server?: { docker: FakeDocker; container: string };

  /**
   * Answers by the engine's state instead: up while `container` runs (else ping is false and the other calls fail,
   * as fetch does on a refused connection), holding what was pushed to it as `<host:port>/<repository>:<tag>`.
   */
  servedBy(docker: FakeDocker, container = 'registry'): this {
    this.server = { docker, container };
    return this;
  }
  private holds(repository: string, tag: string): boolean {
    if (!this.server) return this.manifests.has(`${repository}:${tag}`);
    if (!this.server.docker.containers.get(this.server.container)?.running) throw new TypeError('fetch failed (connection refused)');
    return this.server.docker.pushed.some((ref) => ref.endsWith(`/${repository}:${tag}`));
  }

  async ping(baseUrl: string) {
    this.calls.push(['ping', baseUrl]);
    if (this.server) return Boolean(this.server.docker.containers.get(this.server.container)?.running);
    return ++this.pings >= this.upAfterPings;
  }
  async hasManifest(baseUrl: string, repository: string, tag: string) {
    this.calls.push(['hasManifest', baseUrl, repository, tag]);
    return this.holds(repository, tag);
  }
  /** A stable made-up digest for each manifest present. */
  async manifestDigest(baseUrl: string, repository: string, tag: string) {
    this.calls.push(['manifestDigest', baseUrl, repository, tag]);
    return this.holds(repository, tag) ? `sha256:${createHash('sha256').update(`${repository}:${tag}`).digest('hex')}` : undefined;
  }
}

// --- clock, services, context -----------------------------------------------------------------------------

/** A clock that only moves when something sleeps (or the test advances it). */
export class FakeClock {
  readonly sleeps: number[] = [];
  constructor(public time = new Date('2025-06-01T12:00:00Z').getTime()) {}
  now = () => new Date(this.time);
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.time += ms;
  };
  advanceDays(days: number) {
    this.time += days * 24 * 60 * 60 * 1000;
  }
}

export interface Fakes {
  cmd: FakeCmdRunner;
  docker: FakeDocker;
  firewall: FakeFirewall;
  kube: FakeKube;
  registryApi: FakeRegistryApi;
  clock: FakeClock;
  /** Context names passed to services.kube(), in order. */
  kubeRequests: (string | undefined)[];
  portsInUse: Set<number>;
  /** Files written through services.writeFile: path → content. */
  files: Map<string, string>;
  stateDir: string;
  /** Removes the temporary state directory. */
  cleanup(): void;
}

export type FakeServices = Services & { fakes: Fakes };

/** What a factory needs of a test to clean up after it: ava's `t`. */
export interface Owner {
  teardown(fn: () => void): void;
}

/** Fake services over a temporary state directory, which `owner` removes when the test ends. */
export function fakeServices(owner: Owner, overrides: Partial<Services> & { fakes?: Partial<Fakes> } = {}): FakeServices {
  const { fakes: fakeOverrides, ...serviceOverrides } = overrides;
  const root = mkdtempSync(path.join(tmpdir(), 'bootstrap-test-'));
  const stateDir = path.join(root, 'state');
  const fakes: Fakes = {
    cmd: new FakeCmdRunner(),
    docker: new FakeDocker(),
    firewall: new FakeFirewall(),
    kube: new FakeKube(),
    registryApi: new FakeRegistryApi(),
    clock: new FakeClock(),
    kubeRequests: [],
    portsInUse: new Set(),
    files: new Map(),
    stateDir,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
    ...fakeOverrides,
  };
  const services: Services = {
    cmd: fakes.cmd,
    minikube: new Minikube(fakes.cmd),
    docker: async () => fakes.docker,
    kube: async (contextName) => {
      fakes.kubeRequests.push(contextName);
      return fakes.kube;
    },
    registryApi: fakes.registryApi,
    firewall: fakes.firewall,
    platform: 'linux',
    state: new StateStore(stateDir),
    portInUse: async (port) => fakes.portsInUse.has(port),
    now: fakes.clock.now,
    sleep: fakes.clock.sleep,
    opaBinary: async () => undefined,
    writeFile: async (file, content) => {
      fakes.files.set(file, content);
    },
    ...serviceOverrides,
  };
  owner.teardown(fakes.cleanup);
  return Object.assign(services, { fakes });
}

export type FakeCtx = Ctx & { services: FakeServices };

/**
 * A context from defaultConfig() (state dir = the fake services' temp dir) and default run options, for the test
 * `owner`: its state directory is removed when the test ends.
 */
export function makeCtx(
  owner: Owner,
  configOverrides: Partial<Config> = {},
  optionOverrides: Partial<RunOptions> = {},
  services: FakeServices = fakeServices(owner),
): FakeCtx {
  const config: Config = { ...defaultConfig({}), stateDir: services.state.dir, ...configOverrides };
  return newContext(config, { ...defaultRunOptions(), ...optionOverrides }, services) as FakeCtx;
}

/** A listr task wrapper stand-in for functions that only set `output`/`title`: every `output` assignment is kept. */
export function fakeTask(): { task: TaskWrapper; outputs: string[]; skips: string[] } {
  const outputs: string[] = [];
  const skips: string[] = [];
  const target: Record<string, unknown> = { skip: (message?: string) => skips.push(message ?? '') };
  const task = new Proxy(target, {
    set(t, prop, value) {
      if (prop === 'output') outputs.push(String(value));
      t[prop as string] = value;
      return true;
    },
  });
  return { task: task as unknown as TaskWrapper, outputs, skips };
}

/**
 * What a cluster after `bootstrap up` holds, as `verify`'s environment check reads it (shared fixture): the webhook,
 * OPA's Deployment rolled out and available, and kube-mgmt's ok status on both policy ConfigMaps.
 */
export function upEnvironment(): KubeObject[] {
  const policy = (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'opa', annotations: { [POLICY_STATUS_ANNOTATION]: '{"status":"ok"}' } },
  });
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'opa', namespace: 'opa', generation: 1 },
      spec: { replicas: 1 },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    } as KubeObject,
    policy('opa-default-system-main'),
    policy('image-policy'),
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'opa-validating-webhook' } },
  ];
}

/** A cluster node that is a container on this Docker (kind's): its Node with `address` as InternalIP, and the container with that address on `network`. */
export function containerNode(fakes: Fakes, name: string, address: string, network: string): void {
  fakes.kube.seed({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    status: { addresses: [{ type: 'InternalIP', address }] },
  } as KubeObject);
  fakes.docker.addresses.set(name, address);
  fakes.docker.containerNetworks.set(name, network);
  fakes.docker.networks.add(network);
}

/**
 * What kube-scheduler does, by state: binds each Pod without a node, not being deleted, to the first Node in the store
 * whose labels hold every pair of the Pod's nodeSelector; a Pod no Node matches stays unscheduled.
 */
export function scheduler(kube: FakeKube): void {
  kube.controllers.push((k) => {
    const nodes = [...k.objects.values()].filter((o) => o.kind === 'Node');
    for (const pod of k.objects.values()) {
      const spec = pod.spec as { nodeName?: string; nodeSelector?: Record<string, string> } | undefined;
      if (pod.kind !== 'Pod' || !spec || spec.nodeName || pod.metadata?.deletionTimestamp) continue;
      const node = nodes.find((n) => Object.entries(spec.nodeSelector ?? {}).every(([key, value]) => n.metadata?.labels?.[key] === value));
      if (node) spec.nodeName = node.metadata!.name;
    }
  });
}

// --- a whole machine, for up ------------------------------------------------------------------------------

interface FakeProfile {
  status: string;
  driver: string;
  insecureRegistries: string[];
  admissionPlugins: string[];
  /** Files on the profile's node, by path (containerd's hosts.toml). */
  files: Map<string, string>;
}

/**
 * minikube with its profiles in memory, answering the commands bootstrap runs through a FakeCmdRunner (version,
 * profile list, start, delete, ssh) and, for a profile's node container, FakeDocker's exec. Everything it answers
 * comes from its state: `start` makes or starts a profile (its Docker network, a fresh cluster's namespaces), the
 * node's mirror script reads and writes the node's files, and its probe reaches the registry only from the
 * registry container's networks.
 */
export class FakeMinikube {
  readonly profiles = new Map<string, FakeProfile>();

  constructor(
    cmd: FakeCmdRunner,
    private readonly docker: FakeDocker,
    private readonly kube: FakeKube,
    version = 'v1.36.0',
  ) {
    cmd.on(['minikube', 'version'], { stdout: version });
    cmd.on(['minikube', 'profile', 'list'], () => this.list());
    cmd.on(['minikube', 'start'], (argv) => this.start(argv));
    cmd.on(['minikube', 'delete'], (argv) => {
      this.profiles.delete(flag(argv, 'profile')!);
      return {};
    });
    cmd.on(['minikube', 'ssh'], (argv) => this.inNode(flag(argv, 'profile')!, argv.at(-1)!) ?? { exitCode: 1, stderr: 'no such profile' });
    docker.onExec = (container, argv) => (argv[0] === 'sh' ? this.inNode(container, argv[2]!) : undefined);
  }

  private list(): Partial<CmdResult> {
    if (!this.profiles.size) return { exitCode: 14, stderr: 'X Exiting due to MK_USAGE_NO_PROFILE: No minikube profile was found.' };
    const valid = [...this.profiles].map(([name, p]) => ({
      Name: name,
      Status: p.status,
      Config: {
        Driver: p.driver,
        InsecureRegistry: p.insecureRegistries,
        KubernetesConfig: {
          ExtraOptions: [{ Component: 'apiserver', Key: 'enable-admission-plugins', Value: p.admissionPlugins.join(',') }],
        },
      },
    }));
    return { stdout: JSON.stringify({ invalid: [], valid }) };
  }

  private start(argv: string[]): Partial<CmdResult> {
    const name = flag(argv, 'profile')!;
    const existing = this.profiles.get(name);
    if (existing) {
      existing.status = 'Running';
      return { stdout: 'Done!' };
    }
    const driver = flag(argv, 'driver') ?? 'docker';
    const plugins = flag(argv, 'extra-config')?.replace('apiserver.enable-admission-plugins=', '') ?? '';
    this.profiles.set(name, {
      status: 'Running',
      driver,
      insecureRegistries: [flag(argv, 'insecure-registry')!],
      admissionPlugins: plugins.split(','),
      files: new Map(),
    });
    if (driver === 'docker') this.docker.networks.add(name);
    // A fresh cluster: its own namespaces, none of ours.
    for (const namespace of ['default', 'kube-system', 'kube-public']) {
      this.kube.seed({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace } },
      });
    }
    return { stdout: 'Done! kubectl is now configured' };
  }

  /** Runs nodeMirrorScript or nodeMirrorCheckScript on a running profile's node, from its files and the registry's networks. */
  private inNode(profile: string, script: string): { exitCode: number; stdout: string; stderr: string } | undefined {
    const node = this.profiles.get(profile);
    if (node?.status !== 'Running') return undefined;
    const want = /want='([^']*)'/.exec(script)?.[1];
    const file = /f='([^']*)'/.exec(script)?.[1];
    const mirror = /curl .* http:\/\/([^/]+)\/v2\//.exec(script)?.[1];
    if (want === undefined || !file || !mirror) return { exitCode: 127, stdout: '', stderr: 'not a mirror script' };
    let stdout = '';
    if (node.files.get(file) !== want) {
      if (script.includes('echo changed')) {
        node.files.set(file, want);
        stdout += 'changed\n';
      } else stdout += 'differs\n';
    }
    const registry = this.docker.containers.get(mirror.split(':')[0]!);
    if (registry?.running && registry.networks.includes(profile)) return { exitCode: 0, stdout: `${stdout}200`, stderr: '' };
    return { exitCode: 7, stdout: `${stdout}000`, stderr: `curl: (6) Could not resolve host: ${mirror.split(':')[0]}` };
  }
}

const flag = (argv: string[], name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * What the cluster does on its own once our objects are there, by state: the OPA Deployment rolls out (a ready pod
 * whose containers start now), kube-mgmt reports "ok" on each policy ConfigMap without a status, and once the webhook
 * is registered, pods are admitted or denied as the image policy says (trusted: `registryHost/…`, not `:latest`).
 */
export function clusterControllers(kube: FakeKube, clock: FakeClock, registryHost: string): void {
  const deploymentKey = keyOf({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'opa', name: 'opa' });
  const webhookKey = keyOf({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    name: 'opa-validating-webhook',
  });
  kube.controllers.push((k) => {
    const deployment = k.objects.get(deploymentKey) as (KubeObject & { status?: unknown }) | undefined;
    if (!deployment) return;
    deployment.metadata!.generation ??= 1;
    deployment.status = { observedGeneration: deployment.metadata!.generation, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    if (![...k.objects.values()].some((o) => o.kind === 'Pod' && o.metadata?.namespace === 'opa')) {
      const startedAt = new Date(clock.time).toISOString();
      k.seed({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'opa-1', namespace: 'opa', labels: { app: 'opa' } },
        status: {
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: ['opa', 'kube-mgmt'].map((name) => ({ name, state: { running: { startedAt } } })),
        },
      } as KubeObject);
    }
    for (const cm of k.objects.values()) {
      const isPolicy = cm.kind === 'ConfigMap' && cm.metadata?.namespace === 'opa' && cm.metadata.labels?.['openpolicyagent.org/policy'];
      if (isPolicy && !cm.metadata!.annotations?.[POLICY_STATUS_ANNOTATION]) {
        cm.metadata!.annotations = { ...cm.metadata!.annotations, [POLICY_STATUS_ANNOTATION]: '{"status":"ok"}' };
      }
    }
  });
  kube.admission = (_op, pod) => {
    if (!kube.objects.has(webhookKey)) return { allowed: true, code: 201, message: '' };
    const images = ((pod.spec as { containers?: { image: string }[] } | undefined)?.containers ?? []).map((c) => c.image);
    const why = images.flatMap((image) =>
      !image.startsWith(`${registryHost}/`)
        ? [`Image '${image}' comes from untrusted registry`]
        : image.endsWith(':latest')
          ? [`Image '${image}' used latest image`]
          : [],
    );
    return why.length ? { allowed: false, code: 400, message: denial(why.join(', ')) } : { allowed: true, code: 201, message: '' };
  };
}

/**
 * A machine with Docker and minikube and nothing of bootstrap's on it, every fake answering from shared state: the
 * registry API from the registry container, minikube's profiles and node, the cluster's controllers, and a
 * kubeconfig context only for a profile that exists. Contexts made on these services see what earlier runs left; the
 * state directory goes when `owner`'s test ends.
 */
export function machine(owner: Owner, registryHost = 'host.minikube.internal:5000'): FakeServices & { fakeMinikube: FakeMinikube } {
  const services = fakeServices(owner);
  const { cmd, docker, kube, clock, registryApi } = services.fakes;
  const minikube = new FakeMinikube(cmd, docker, kube);
  registryApi.servedBy(docker);
  clusterControllers(kube, clock, registryHost);
  services.kube = async (contextName) => {
    services.fakes.kubeRequests.push(contextName);
    if (!minikube.profiles.has(contextName!)) throw messages.unknownKubeContext(contextName!, [...minikube.profiles.keys()]);
    return kube;
  };
  return Object.assign(services, { fakeMinikube: minikube });
}

/** listr2's test renderer, its events kept (they are JSON lines: event, data, and the task's title and path). */
class CapturingLogger extends ListrLogger {
  readonly lines: string[] = [];
  override toStdout(message: string): void {
    this.lines.push(message);
  }
  override toStderr(message: string): void {
    this.lines.push(message);
  }
}

/**
 * Runs tasks in process with listr2's test renderer. `screen`: each titled task as it ended — "✔ title", "↓ title
 * [skip message]", "✖ title" — as a tree (a task's subtasks right below it, indented; siblings in the order they
 * started, so tasks run side by side keep their listed order); `error`: what the run threw.
 */
export async function runWithTestRenderer(tasks: Task[], ctx: Ctx): Promise<{ screen: string[]; error?: unknown }> {
  const logger = new CapturingLogger();
  const listr = new Listr<Ctx, 'test', 'test'>(
    tasks as never,
    {
      ctx,
      renderer: 'test',
      fallbackRenderer: 'test',
      exitOnError: true,
      rendererOptions: { logger, task: ['title', 'path'] },
    } as never,
  );
  let error: unknown;
  await listr.run().catch((thrown: unknown) => (error = thrown));
  type Entry = { path: string[]; title: string; state?: string; skip?: string };
  const ended = new Map<string, Entry>();
  for (const line of logger.lines) {
    const { event, data, task } = JSON.parse(line) as { event: string; data: unknown; task?: { title?: string; path?: string[] } };
    if (!task?.path?.length || !task.title) continue;
    const path = task.path.filter(Boolean); // an untitled task (a group) is no level of its own
    const key = JSON.stringify(path);
    const entry = ended.get(key) ?? { path, title: task.title };
    entry.title = task.title;
    if (event === 'STATE') entry.state = String(data);
    if (event === 'MESSAGE' && (data as { skip?: string }).skip) entry.skip = (data as { skip: string }).skip;
    ended.set(key, entry);
  }
  const mark: Record<string, string> = { COMPLETED: '✔', SKIPPED: '↓', FAILED: '✖' };
  const entries = [...ended.values()];
  const below = (path: string[]): string[] =>
    entries
      .filter((e) => e.path.length === path.length + 1 && path.every((p, i) => e.path[i] === p))
      .flatMap((e) => [
        `${'  '.repeat(path.length)}${mark[e.state ?? ''] ?? '…'} ${e.title}${e.skip ? ` [${e.skip}]` : ''}`,
        ...below(e.path),
      ]);
  return { screen: below([]), ...(error === undefined ? {} : { error }) };
}
