// The typed context every task reads and writes, and the side-effect boundaries it reaches them through.
import type { CmdRunner } from './adapters/cmd.js';
import type { DockerClient } from './adapters/docker.js';
import type { Firewall } from './adapters/firewall.js';
import type { KubeClient } from './adapters/kube.js';
import type { Minikube } from './adapters/minikube.js';
import type { RegistryApi } from './adapters/net.js';
import type { StateStore } from './adapters/state.js';
import type { CertificateBundle } from './certs.js';
import type { Config } from './config.js';
import type { AuditResult } from './steps/audit.js';
import type { StepTiming } from './timings.js';

/** One container for every side effect (release-it style): tests build it from fakes. */
export interface Services {
  cmd: CmdRunner;
  minikube: Minikube;
  docker(): Promise<DockerClient>;
  /** The Kubernetes client for the chosen context: the minikube profile, or the current/named context. */
  kube(contextName?: string): Promise<KubeClient>;
  registryApi: RegistryApi;
  /** This machine's packet filter (iptables): the rules that close the registry's container addresses. */
  firewall: Firewall;
  /** This machine's platform (process.platform). */
  platform: string;
  state: StateStore;
  portInUse(port: number): Promise<boolean>;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** An opa binary to check a custom policy with, if one is at hand. */
  opaBinary(): Promise<string | undefined>;
  /** Writes a file the user asked for (verify --junit), making its directory. */
  writeFile(file: string, content: string): Promise<void>;
}

export interface RunOptions {
  dryRun: boolean;
  yes: boolean;
  recreateRegistry: boolean;
  recreateCluster: boolean;
  keepCluster: boolean;
  keepRegistry: boolean;
  purge: boolean;
  /** verify: really create the ok pod and wait for it to run. */
  create: boolean;
  suite: 'article' | 'extended';
  json: boolean;
  /** verify: also write the results as JUnit XML to this file (an absolute path). */
  junit?: string;
}

export const defaultRunOptions = (): RunOptions => ({
  dryRun: false,
  yes: false,
  recreateRegistry: false,
  recreateCluster: false,
  keepCluster: false,
  keepRegistry: false,
  purge: false,
  create: false,
  suite: 'article',
  json: false,
});

export interface CheckResult {
  name: string;
  expected: string;
  actual: string;
  passed: boolean;
}

export interface Ctx {
  config: Config;
  options: RunOptions;
  services: Services;
  /** host[:port] the cluster pulls from and the policy trusts. */
  registryHost?: string;
  /** The minikube driver of our profile as minikube recorded it, once a step has read it (undefined: not read yet). */
  clusterDriver?: string;
  /**
   * When this run started or created the minikube profile (this machine's clock, taken before `minikube start`): pod
   * statuses the API server shows from before then are stale, since the node's containers stopped with it.
   */
  clusterStartedAt?: Date;
  /**
   * Dry run: why the plan cannot read the cluster (it is to be created, or does not answer); the steps then plan as if
   * it held none of our objects. Set once (src/cluster-access.ts connectForPlan, the cluster step).
   */
  clusterUnread?: string;
  /** Dry run: why the plan cannot ask the registry (its container is to be made or started first); set by the registry step. */
  registryUnread?: string;
  /** Dry run: the cluster answered connectForPlan once; not asked again. */
  clusterReachable?: boolean;
  certificates?: CertificateBundle;
  kubeMgmtToken?: string;
  kube?: KubeClient;
  checks: CheckResult[];
  /** What `audit` found. */
  audit?: AuditResult;
  /** Things to tell the user after the run (warnings that did not stop it). */
  notes: string[];
  /** How long each step took (filled by runTasks), for the summary at the end. */
  timings: { steps: StepTiming[]; totalMs: number };
}

export function newContext(config: Config, options: RunOptions, services: Services): Ctx {
  return { config, options, services, checks: [], notes: [], timings: { steps: [], totalMs: 0 } };
}

export const isMinikube = (ctx: Ctx) => ctx.config.cluster === 'minikube';

/** The registry as the host reaches it (to push): loopback, on the configured port. */
export const localRegistry = (ctx: Ctx) => `localhost:${ctx.config.registryPort}`;
export const localRegistryUrl = (ctx: Ctx) => `http://127.0.0.1:${ctx.config.registryPort}`;

/** Polls `probe` until it returns a value, or throws `onTimeout()` after `seconds`. No fixed sleeps: short intervals, growing to 250 ms. */
export async function waitFor<T>(
  services: Pick<Services, 'now' | 'sleep'>,
  seconds: number,
  probe: () => Promise<T | undefined>,
  onTimeout: () => Error,
): Promise<T> {
  const deadline = services.now().getTime() + seconds * 1000;
  let interval = 100;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (services.now().getTime() >= deadline) throw onTimeout();
    await services.sleep(interval);
    interval = Math.min(interval * 2, 250);
  }
}
