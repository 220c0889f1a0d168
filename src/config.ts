import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { hasExplicitTag, isRegistryHost } from './image-ref.js';
import { messages } from './messages.js';

export type ClusterMode = 'minikube' | 'existing';

/** Everything `bootstrap` can be told. Flags override the config file, which overrides these defaults. */
export interface Config {
  /** `minikube`: a dedicated minikube profile; `existing`: the current kubeconfig context (kind, k3d, a minikube profile of one's own). */
  cluster: ClusterMode;
  /** minikube profile; also names the state directory. */
  profile: string;
  /** kubeconfig context for `--cluster existing` (default: the current context). */
  context?: string;
  kubernetesVersion?: string;
  minikubeDriver?: string;
  /** Host port of the registry container (the compose file's container port stays 5000). */
  registryPort: number;
  /** The address the cluster reaches the registry at, host[:port]; found at run time when not given. */
  registryHost?: string;
  /**
   * One more host address to publish the registry on, besides 127.0.0.1 (which is always there); '0.0.0.0' for every
   * address. By default the address the node needs is found from the cluster (src/registry-access.ts).
   */
  registryListenAddress?: string;
  /** More registries the policy trusts besides our own. */
  extraTrustedRegistries: string[];
  /** Stricter mode: every image must be pinned by digest. */
  requireDigest: boolean;
  /** The image the "ok" pod runs, copied into our registry as <registryHost>/<repository>:<tag>. */
  trustedImage: string;
  opaImage: string;
  kubeMgmtImage: string;
  /** Where the certificates, keys and the record of what `up` created live. */
  stateDir: string;
  /** A Rego file to use instead of templates/policy/image-policy.rego. */
  policyFile?: string;
  /** Namespace the verification pods are sent to. */
  verifyNamespace: string;
  webhookTimeoutSeconds: number;
  webhookFailurePolicy: 'Fail' | 'Ignore';
  /** How long to wait for OPA's rollout and for kube-mgmt to load the policy. */
  waitSeconds: number;
}

export const DEFAULT_PROFILE = 'trusted-registry';
/** The one profile minikube's none driver accepts. */
export const NONE_DRIVER_PROFILE = 'minikube';

export function defaultStateRoot(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 'opa-trusted-registry-bootstrap');
}

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    cluster: 'minikube',
    profile: DEFAULT_PROFILE,
    registryPort: 5000,
    extraTrustedRegistries: [],
    requireDigest: false,
    trustedImage: 'nginx:1.21.1',
    opaImage: 'openpolicyagent/opa:1.22.3',
    kubeMgmtImage: 'openpolicyagent/kube-mgmt:11.0.7',
    stateDir: path.join(defaultStateRoot(env), DEFAULT_PROFILE),
    verifyNamespace: 'default',
    webhookTimeoutSeconds: 10,
    webhookFailurePolicy: 'Fail',
    waitSeconds: 180,
  };
}

type Kind = 'string' | 'number' | 'boolean' | 'string[]';
const KEYS: Record<keyof Config, Kind> = {
  cluster: 'string',
  profile: 'string',
  context: 'string',
  kubernetesVersion: 'string',
  minikubeDriver: 'string',
  registryPort: 'number',
  registryHost: 'string',
  registryListenAddress: 'string',
  extraTrustedRegistries: 'string[]',
  requireDigest: 'boolean',
  trustedImage: 'string',
  opaImage: 'string',
  kubeMgmtImage: 'string',
  stateDir: 'string',
  policyFile: 'string',
  verifyNamespace: 'string',
  webhookTimeoutSeconds: 'number',
  webhookFailurePolicy: 'string',
  waitSeconds: 'number',
};
export const CONFIG_KEYS = Object.keys(KEYS) as (keyof Config)[];

function kindOf(value: unknown): Kind | 'other' {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return 'string[]';
  return 'other';
}

/** Checks raw keys and types (from a file or flags); `source` names where they came from, for the message. */
export function checkRawConfig(raw: unknown, source: string): Partial<Config> {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw messages.configNotAMapping(source);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === undefined) continue;
    const kind = KEYS[key as keyof Config];
    if (!kind) throw messages.configUnknownKey(source, key, CONFIG_KEYS);
    if (kindOf(value) !== kind) throw messages.configWrongType(source, key, kind, value);
    out[key] = value;
  }
  return out as Partial<Config>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Cross-field and value checks, after merging. Throws a BootstrapError naming the key and the fix. */
export function validateConfig(config: Config): Config {
  if (config.cluster !== 'minikube' && config.cluster !== 'existing') {
    throw messages.configBadValue('cluster', config.cluster, "'minikube' or 'existing'");
  }
  if (!Number.isInteger(config.registryPort) || config.registryPort < 1 || config.registryPort > 65535) {
    throw messages.configBadValue('registryPort', config.registryPort, 'a port number from 1 to 65535');
  }
  if (config.registryHost !== undefined && !isRegistryHost(config.registryHost)) {
    throw messages.configBadValue(
      'registryHost',
      config.registryHost,
      'host[:port] in lowercase, without scheme or path, e.g. 192.168.49.1:5000',
    );
  }
  if (config.registryListenAddress !== undefined && isIP(config.registryListenAddress) === 0) {
    throw messages.configBadValue(
      'registryListenAddress',
      config.registryListenAddress,
      'an IP address of this machine (e.g. 192.168.105.1), or 0.0.0.0 for every address',
    );
  }
  for (const registry of config.extraTrustedRegistries) {
    if (!isRegistryHost(registry)) {
      throw messages.configBadValue(
        'extraTrustedRegistries',
        registry,
        'host[:port] in lowercase, without scheme or path, e.g. registry.example.com',
      );
    }
  }
  if (!DNS_LABEL.test(config.profile)) {
    throw messages.configBadValue('profile', config.profile, 'lowercase letters, digits and dashes');
  }
  if (config.cluster === 'minikube' && config.minikubeDriver === 'none' && config.profile !== NONE_DRIVER_PROFILE) {
    throw messages.configBadValue(
      'profile',
      config.profile,
      `'${NONE_DRIVER_PROFILE}' with --driver none (minikube's none driver supports no other profile), or leave it unset`,
    );
  }
  if (!DNS_LABEL.test(config.verifyNamespace)) {
    throw messages.configBadValue('verifyNamespace', config.verifyNamespace, 'a namespace name');
  }
  if (config.webhookFailurePolicy !== 'Fail' && config.webhookFailurePolicy !== 'Ignore') {
    throw messages.configBadValue('webhookFailurePolicy', config.webhookFailurePolicy, "'Fail' or 'Ignore'");
  }
  if (!Number.isInteger(config.webhookTimeoutSeconds) || config.webhookTimeoutSeconds < 1 || config.webhookTimeoutSeconds > 30) {
    throw messages.configBadValue(
      'webhookTimeoutSeconds',
      config.webhookTimeoutSeconds,
      'a whole number of seconds from 1 to 30 (the API server limit)',
    );
  }
  if (!(config.waitSeconds > 0)) throw messages.configBadValue('waitSeconds', config.waitSeconds, 'a positive number of seconds');
  if (!hasExplicitTag(config.trustedImage)) {
    throw messages.configBadValue('trustedImage', config.trustedImage, 'repository:tag with an explicit tag, e.g. nginx:1.21.1');
  }
  return config;
}

export const CONFIG_FILE_NAMES = ['bootstrap.config.yaml', 'bootstrap.config.yml', 'bootstrap.config.json'];

/** Reads the config file: the one named, else the first of CONFIG_FILE_NAMES in `cwd`, else nothing. */
export async function readConfigFile(file: string | undefined, cwd: string): Promise<{ path?: string; values: Partial<Config> }> {
  const candidates = file ? [path.resolve(cwd, file)] : CONFIG_FILE_NAMES.map((name) => path.join(cwd, name));
  for (const candidate of candidates) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !file) continue;
      throw messages.configUnreadable(candidate, error);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text); // JSON is YAML too
    } catch (error) {
      throw messages.configUnparsable(candidate, error);
    }
    return { path: candidate, values: checkRawConfig(raw, candidate) };
  }
  return { values: {} };
}

/**
 * The state directory's name for a kubeconfig context: `context-<name>`, with anything but letters, digits, `.`, `_`
 * and `-` replaced (EKS ARNs hold `/` and `:`). When the name had to change, or holds capitals (macOS folds case),
 * a hash of the exact name follows, so two contexts never share a directory.
 */
export function contextDirName(context: string): string {
  const readable = context.replace(/[^a-z0-9._-]/gi, '_').slice(0, 80);
  if (readable === context && !/[A-Z]/.test(context)) return `context-${readable}`;
  return `context-${readable}-${createHash('sha256').update(context).digest('hex').slice(0, 8)}`;
}

/**
 * Defaults ← file ← flags. With `cluster: existing` and no context named, `currentContext` (the kubeconfig's current
 * context, looked up by the caller) becomes the context of the run, so the cluster it talks to and the state directory
 * it keeps that cluster's CA, token and record in are chosen by the same name. The state directory follows the
 * profile (or that context) unless set.
 */
export function mergeConfig(env: NodeJS.ProcessEnv, file: Partial<Config>, flags: Partial<Config>, currentContext?: string): Config {
  const merged: Config = { ...defaultConfig(env), ...file, ...flags };
  if (merged.cluster === 'existing' && !merged.context && currentContext) merged.context = currentContext;
  // minikube's none driver knows one profile only, 'minikube' (DRV_UNSUPPORTED_PROFILE for any other name).
  if (merged.minikubeDriver === 'none' && !file.profile && !flags.profile) merged.profile = NONE_DRIVER_PROFILE;
  if (!file.stateDir && !flags.stateDir) {
    // No context known (no kubeconfig to read): the run fails when it connects; until then, one shared name.
    const name = merged.cluster === 'existing' ? contextDirName(merged.context ?? 'current') : merged.profile;
    merged.stateDir = path.join(defaultStateRoot(env), name);
  }
  return validateConfig(merged);
}

/** Whether the run needs the kubeconfig's current context to choose its context and state directory. */
export function needsCurrentContext(file: Partial<Config>, flags: Partial<Config>): boolean {
  return (flags.cluster ?? file.cluster) === 'existing' && !(flags.context ?? file.context);
}
