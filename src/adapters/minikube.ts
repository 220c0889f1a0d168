// minikube, driven through a CmdRunner: one function per operation, argv built by pure functions.
import { messages } from '../messages.js';
import type { CmdOptions, CmdRunner } from './cmd.js';

export const MINIKUBE_MIN_VERSION = '1.26.0';

/**
 * kube-apiserver's admission plugins for our profile: minikube's own defaults (pkg/util/constants.go,
 * DefaultAdmissionControllers in v1.37.0), which an --extra-config for the same flag replaces, plus
 * AlwaysPullImages: every container's image is pulled when it starts, so an image side-loaded into the node under a
 * trusted name (`minikube image load`, `ctr images import`) never runs in place of what the registry holds.
 */
export const ADMISSION_PLUGINS = [
  'NamespaceLifecycle',
  'LimitRanger',
  'ServiceAccount',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'NodeRestriction',
  'MutatingAdmissionWebhook',
  'ValidatingAdmissionWebhook',
  'ResourceQuota',
  'AlwaysPullImages',
];
export const ALWAYS_PULL_IMAGES = 'AlwaysPullImages';

export interface MinikubeStartOptions {
  profile: string;
  insecureRegistry: string;
  kubernetesVersion?: string;
  driver?: string;
}

export interface MinikubeProfile {
  name: string;
  /** e.g. Running, Stopped; minikube's own words. */
  status: string;
  insecureRegistries: string[];
  /** The driver the profile was created with (docker, none, qemu2, …); undefined when minikube does not say. */
  driver?: string;
  /** kube-apiserver's --enable-admission-plugins as the profile was created with it (--extra-config); [] when not set. */
  admissionPlugins: string[];
}

/**
 * `minikube start` for our profile. The runtime is containerd on every driver: minikube's default there is
 * Docker through cri-dockerd, and containerd is what the policy's guarantees are tested on (as ctlptl does).
 */
export function startArgs(options: MinikubeStartOptions): string[] {
  const args = [
    'start',
    `--profile=${options.profile}`,
    `--insecure-registry=${options.insecureRegistry}`,
    '--container-runtime=containerd',
    `--extra-config=apiserver.enable-admission-plugins=${ADMISSION_PLUGINS.join(',')}`,
  ];
  if (options.driver) args.push(`--driver=${options.driver}`);
  if (options.kubernetesVersion) args.push(`--kubernetes-version=${options.kubernetesVersion}`);
  // The API server is all `up` needs next; waiting for every component would only add time.
  args.push('--wait=apiserver');
  return args;
}

export const deleteArgs = (profile: string) => ['delete', `--profile=${profile}`];
export const profileListArgs = () => ['profile', 'list', '--output=json'];
export const versionArgs = () => ['version', '--short'];
/** Probes the registry from inside the node, as the container runtime there will reach it. */
export const registryProbeArgs = (profile: string, registryHost: string) => [
  'ssh',
  `--profile=${profile}`,
  '--',
  `curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://${registryHost}/v2/`,
];

/** The host's address as the node sees it: what minikube wrote for host.minikube.internal into the node's /etc/hosts. */
export const nodeHostAddressArgs = (profile: string) => ['ssh', `--profile=${profile}`, '--', 'getent ahostsv4 host.minikube.internal'];

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * One ssh round trip for a containerised node: writes containerd's hosts.toml at `path` only when its content
 * differs (then prints `changed`), and probes the mirror the way containerd will reach it (prints the HTTP code).
 * minikube rewrites hosts.toml for --insecure-registry at every start, so this runs after each start.
 */
export const nodeMirrorScript = (path: string, content: string, mirror: string) =>
  mirrorScript(path, content, mirror, `$S mkdir -p "$(dirname "$f")" && printf '%s\\n' "$want" | $S tee "$f" >/dev/null && echo changed`);

/**
 * The read-only half of nodeMirrorScript, for a plan: prints `differs` when the file is not what it would write, then
 * the mirror probe's HTTP code. Changes nothing on the node.
 */
export const nodeMirrorCheckScript = (path: string, content: string, mirror: string) => mirrorScript(path, content, mirror, 'echo differs');

function mirrorScript(path: string, content: string, mirror: string, whenDifferent: string): string {
  return [
    `want=${shellQuote(content.trimEnd())}`,
    `f=${shellQuote(path)}`,
    // root through docker exec (kind's nodes have no sudo); user docker through minikube ssh
    'S=; [ "$(id -u)" = 0 ] || S=sudo',
    `if [ "$($S cat "$f" 2>/dev/null)" != "$want" ]; then ${whenDifferent}; fi`,
    `curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://${mirror}/v2/`,
  ].join('; ');
}
export const nodeMirrorArgs = (profile: string, path: string, content: string, mirror: string) => [
  'ssh',
  `--profile=${profile}`,
  '--',
  nodeMirrorScript(path, content, mirror),
];

export const nodeMirrorCheckArgs = (profile: string, path: string, content: string, mirror: string) => [
  'ssh',
  `--profile=${profile}`,
  '--',
  nodeMirrorCheckScript(path, content, mirror),
];

/** What nodeMirrorScript printed: whether it wrote the file, and whether the mirror answered 200. */
export function mirrorResult(exitCode: number, stdout: string, stderr: string) {
  return { changed: /^changed$/m.test(stdout), ok: exitCode === 0 && stdout.trim().endsWith('200'), output: `${stdout}${stderr}`.trim() };
}

/** What nodeMirrorCheckScript printed: whether the file is what nodeMirrorScript writes, and whether the mirror answered 200. */
export function mirrorCheckResult(exitCode: number, stdout: string, stderr: string) {
  return { current: !/^differs$/m.test(stdout), ok: exitCode === 0 && stdout.trim().endsWith('200'), output: `${stdout}${stderr}`.trim() };
}

/**
 * none driver: the node is this machine, and `minikube delete` (v1.37.0) runs `kubeadm reset` while the kubelet still
 * runs, which starts the static pods again and leaves them running. Stopping the kubelet first, through the service
 * manager minikube itself uses (systemd when `systemctl --version` works, else its OpenRC shim: `service`;
 * pkg/minikube/sysinit), makes delete leave nothing. sudo unless we are root, as minikube does.
 */
export function stopKubeletCommand(systemd: boolean, root: boolean): { file: string; args: string[] } {
  const argv = systemd ? ['systemctl', 'stop', 'kubelet'] : ['service', 'kubelet', 'stop'];
  return root ? { file: argv[0]!, args: argv.slice(1) } : { file: 'sudo', args: ['-n', ...argv] };
}

export function parseVersion(output: string): string | undefined {
  return /v?(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

export function versionAtLeast(found: string, needed: string): boolean {
  const a = found.split('.').map(Number);
  const b = needed.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** `minikube profile list -o json` → profiles, valid and invalid alike. */
export function parseProfileList(stdout: string): MinikubeProfile[] {
  if (!stdout.trim()) return [];
  const data = JSON.parse(stdout) as Record<
    string,
    | {
        Name: string;
        Status?: string;
        Config?: {
          InsecureRegistry?: string[] | null;
          Driver?: string;
          KubernetesConfig?: { ExtraOptions?: { Component: string; Key: string; Value: string }[] | null };
        } | null;
      }[]
    | null
  >;
  return [...(data.valid ?? []), ...(data.invalid ?? [])].map((p) => ({
    name: p.Name,
    status: p.Status ?? 'Unknown',
    insecureRegistries: p.Config?.InsecureRegistry ?? [],
    ...(p.Config?.Driver ? { driver: p.Config.Driver } : {}),
    admissionPlugins:
      p.Config?.KubernetesConfig?.ExtraOptions?.find(
        (o) => o.Component === 'apiserver' && o.Key === 'enable-admission-plugins',
      )?.Value.split(',') ?? [],
  }));
}

export class Minikube {
  constructor(
    private readonly runner: CmdRunner,
    readonly binary = 'minikube',
  ) {}

  private run(args: string[], options?: CmdOptions) {
    return this.runner.run(this.binary, args, options);
  }

  /** The version, and what minikube printed (for the message when it cannot be read). */
  async version(): Promise<{ version?: string; output: string }> {
    const result = await this.run(versionArgs());
    return { version: parseVersion(result.stdout), output: `${result.stdout}${result.stderr}` };
  }

  async profile(name: string): Promise<MinikubeProfile | undefined> {
    const result = await this.run(profileListArgs());
    const output = `${result.stdout}${result.stderr}`;
    // With no profiles at all, minikube exits non-zero saying so: that means "none". Any other failure is not
    // "none": taking it for that would start over an existing profile.
    if (/MK_USAGE_NO_PROFILE|No minikube profile was found/i.test(output)) return undefined;
    try {
      if (result.exitCode !== 0) throw new Error(output);
      return parseProfileList(result.stdout).find((p) => p.name === name);
    } catch {
      throw messages.minikubeProfilesUnreadable(output);
    }
  }

  start(options: MinikubeStartOptions, onLine?: (line: string) => void) {
    return this.run(startArgs(options), { onLine });
  }

  delete(profile: string, onLine?: (line: string) => void) {
    return this.run(deleteArgs(profile), { onLine });
  }

  /** GET http://registryHost/v2/ from inside the node: ok when it answers 200; `output` is what curl said. */
  async probeRegistry(profile: string, registryHost: string): Promise<{ ok: boolean; output: string }> {
    const result = await this.run(registryProbeArgs(profile, registryHost));
    const output = `${result.stdout}${result.stderr}`.trim();
    return { ok: result.exitCode === 0 && result.stdout.trim().endsWith('200'), output };
  }

  /** none driver: stops the kubelet on this machine (see stopKubeletCommand); `ok` false with what it printed. */
  async stopHostKubelet(root = process.getuid?.() === 0): Promise<{ ok: boolean; output: string }> {
    const systemd = await this.runner
      .run('systemctl', ['--version'])
      .then((r) => r.exitCode === 0)
      .catch(() => false);
    const { file, args } = stopKubeletCommand(systemd, root);
    const result = await this.runner.run(file, args);
    return { ok: result.exitCode === 0, output: `${result.stdout}${result.stderr}`.trim() };
  }

  /** The host's IPv4 address as the node resolves host.minikube.internal; undefined when it does not. */
  async nodeHostAddress(profile: string): Promise<string | undefined> {
    const result = await this.run(nodeHostAddressArgs(profile));
    return result.exitCode === 0 ? /^(\d+\.\d+\.\d+\.\d+)\s/m.exec(result.stdout)?.[1] : undefined;
  }

  /**
   * Makes the node's containerd pull through `mirror` (see nodeMirrorArgs) and probes it. `changed`: the file was
   * written; `ok`: the mirror answered 200 from inside the node; `output`: what the node printed.
   */
  async configureMirror(profile: string, path: string, content: string, mirror: string) {
    const result = await this.run(nodeMirrorArgs(profile, path, content, mirror));
    return mirrorResult(result.exitCode, result.stdout, result.stderr);
  }

  /** The read-only check of configureMirror (nodeMirrorCheckArgs): `current`: the file is as it would write it. */
  async checkMirror(profile: string, path: string, content: string, mirror: string) {
    const result = await this.run(nodeMirrorCheckArgs(profile, path, content, mirror));
    return mirrorCheckResult(result.exitCode, result.stdout, result.stderr);
  }
}
