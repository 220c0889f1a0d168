// The Docker engine, through dockerode, narrowed to the calls bootstrap makes.
import type Dockerode from 'dockerode';

export interface ContainerSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  /** container port (e.g. "5000/tcp") → host port */
  ports: Record<string, number>;
  /** The host addresses every port is published on; [''] or ['0.0.0.0'] is every address (Docker's default). */
  listenAddresses: string[];
  volume: { name: string; target: string };
  restart: string;
  labels: Record<string, string>;
}

export interface ContainerState {
  id: string;
  running: boolean;
  image: string;
  env: Record<string, string>;
  ports: Record<string, number>;
  /** The HostIp of each binding of the first published port ('' when published on every address). */
  listenAddresses: string[];
  /** Names of the Docker networks the container is connected to. */
  networks: string[];
  volumes: { name: string; target: string }[];
  restart: string;
  labels: Record<string, string>;
}

export interface DockerClient {
  ping(): Promise<void>;
  version(): Promise<string>;
  inspectContainer(name: string): Promise<ContainerState | undefined>;
  createContainer(spec: ContainerSpec): Promise<void>;
  startContainer(name: string): Promise<void>;
  removeContainer(name: string): Promise<boolean>;
  imageExists(ref: string): Promise<boolean>;
  pullImage(ref: string, onProgress?: (line: string) => void): Promise<void>;
  tagImage(source: string, repository: string, tag: string): Promise<void>;
  pushImage(repository: string, tag: string, onProgress?: (line: string) => void): Promise<void>;
  removeVolume(name: string): Promise<boolean>;
  volumeExists(name: string): Promise<boolean>;
  /** Whether a network of that name exists. */
  networkExists(name: string): Promise<boolean>;
  /** Connects the container to the network (its name resolves there); throws when either is missing. */
  connectNetwork(container: string, network: string): Promise<void>;
  /** Disconnects the container from the network; false when it was not connected (or either is gone). */
  disconnectNetwork(container: string, network: string): Promise<boolean>;
  /**
   * Runs `argv` in the running container, as its default user. Resolves with the exit code and what it printed;
   * undefined when there is no such container (404).
   */
  exec(container: string, argv: string[]): Promise<ProcessResult | undefined>;
  /** The running container that has `address` (IPv4) on one of its networks, and that network; undefined when none has. */
  containerWithAddress(address: string): Promise<{ name: string; network: string } | undefined>;
  /**
   * `docker run --rm -v host:container:ro… image argv…`: runs `argv` (the image's entrypoint's arguments) in a new
   * container with the files mounted read-only, waits for it, removes it. Resolves with the exit code and what it
   * printed; throws when the image is missing or the engine refuses.
   */
  runOnce(image: string, argv: string[], readOnlyMounts: { host: string; container: string }[]): Promise<ProcessResult>;
  /**
   * What decides whether other hosts can route to a container's address: the engine's version, whether it is Docker
   * Desktop (its containers live in a VM that other hosts do not route to), and whether it is this machine's own engine
   * (a unix socket, not DOCKER_HOST=tcp:// or ssh://).
   */
  engine(): Promise<EngineFacts>;
  /**
   * The container's IPv4 address on each network it is on, with the Linux bridge of that network when it is a bridge
   * network (Docker's `com.docker.network.bridge.name`, else `br-` and the first 12 characters of its id); undefined
   * when there is no such container (404).
   */
  containerAddresses(name: string): Promise<{ network: string; address: string; bridge?: string }[] | undefined>;
}

export interface EngineFacts {
  version: string;
  desktop: boolean;
  local: boolean;
}

/** How a process in a container ended: its exit code and what it wrote. */
export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Docker's create options for a spec; also what tests compare with the compose file. */
export function createOptions(spec: ContainerSpec): Dockerode.ContainerCreateOptions {
  return {
    name: spec.name,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    ExposedPorts: Object.fromEntries(Object.keys(spec.ports).map((p) => [p, {}])),
    HostConfig: {
      RestartPolicy: { Name: spec.restart },
      PortBindings: Object.fromEntries(
        Object.entries(spec.ports).map(([p, host]) => [p, spec.listenAddresses.map((ip) => ({ HostIp: ip, HostPort: String(host) }))]),
      ),
      Mounts: [{ Type: 'volume', Source: spec.volume.name, Target: spec.volume.target }],
    },
  };
}

const isNotFound = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;

/** Runs a call whose 404 means "not there": that answer becomes `missing`, anything else is rethrown. */
async function orIfMissing<T>(call: () => Promise<T>, missing: T): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return missing;
    throw error;
  }
}

/** Reads a pull/push progress stream; the engine reports failures inside the stream, not as HTTP errors. */
function follow(docker: Dockerode, stream: NodeJS.ReadableStream, onProgress?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failure = error?.message ?? events.find((e) => e.error || e.errorDetail)?.error;
        if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: { status?: string; id?: string; progress?: string }) => {
        if (onProgress && event.status) onProgress([event.id, event.status, event.progress].filter(Boolean).join(' '));
      },
    );
  });
}

/** Two streams to demultiplex a container's output into, and the ProcessResult of what they received. */
async function capturedOutput() {
  const { PassThrough } = await import('node:stream');
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.stdout.push(c));
  stderr.on('data', (c: Buffer) => chunks.stderr.push(c));
  return {
    stdout,
    stderr,
    result: (exitCode: number): ProcessResult => ({
      exitCode,
      stdout: Buffer.concat(chunks.stdout).toString(),
      stderr: Buffer.concat(chunks.stderr).toString(),
    }),
  };
}

export async function createDockerClient(): Promise<DockerClient> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker(); // honours DOCKER_HOST, else the local socket
  return {
    async ping() {
      await docker.ping();
    },
    async version() {
      return (await docker.version()).Version;
    },
    async engine() {
      const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<{ OperatingSystem?: string }>]);
      return {
        version: version.Version,
        desktop: /Docker Desktop/i.test(info.OperatingSystem ?? ''),
        local: Boolean((docker.modem as { socketPath?: string }).socketPath),
      };
    },
    containerAddresses(name) {
      return orIfMissing(async () => {
        const info = await docker.getContainer(name).inspect();
        const attached = Object.entries(info.NetworkSettings?.Networks ?? {}).filter(([, n]) => n.IPAddress);
        return Promise.all(
          attached.map(async ([network, n]) => {
            const net = (await docker.getNetwork(n.NetworkID).inspect()) as {
              Id: string;
              Driver: string;
              Options?: Record<string, string>;
            };
            const bridge =
              net.Driver === 'bridge' ? (net.Options?.['com.docker.network.bridge.name'] ?? `br-${net.Id.slice(0, 12)}`) : undefined;
            return { network, address: n.IPAddress, ...(bridge ? { bridge } : {}) };
          }),
        );
      }, undefined);
    },
    inspectContainer(name) {
      return orIfMissing(async (): Promise<ContainerState> => {
        const info = await docker.getContainer(name).inspect();
        const env = Object.fromEntries((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
        const ports: Record<string, number> = {};
        let listenAddresses: string[] | undefined;
        for (const [port, bindings] of Object.entries(info.HostConfig.PortBindings ?? {})) {
          const list = (bindings as { HostIp?: string; HostPort: string }[] | null) ?? [];
          if (list[0]?.HostPort) ports[port] = Number(list[0].HostPort);
          listenAddresses ??= list.map((b) => b.HostIp ?? '');
        }
        return {
          id: info.Id,
          running: info.State.Running,
          image: info.Config.Image,
          env,
          ports,
          listenAddresses: listenAddresses ?? [],
          networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
          volumes: (info.Mounts ?? []).filter((m) => m.Type === 'volume').map((m) => ({ name: m.Name ?? '', target: m.Destination })),
          restart: info.HostConfig.RestartPolicy?.Name ?? '',
          labels: info.Config.Labels ?? {},
        };
      }, undefined);
    },
    async createContainer(spec) {
      await docker.createContainer(createOptions(spec));
    },
    async startContainer(name) {
      try {
        await docker.getContainer(name).start();
      } catch (error) {
        // 304: already started, which is what we wanted.
        if ((error as { statusCode?: number }).statusCode !== 304) throw error;
      }
    },
    removeContainer(name) {
      return orIfMissing(async () => {
        await docker.getContainer(name).remove({ force: true });
        return true;
      }, false);
    },
    imageExists(ref) {
      return orIfMissing(async () => {
        await docker.getImage(ref).inspect();
        return true;
      }, false);
    },
    async pullImage(ref, onProgress) {
      const stream = (await docker.pull(ref)) as NodeJS.ReadableStream;
      await follow(docker, stream, onProgress);
    },
    async tagImage(source, repository, tag) {
      await docker.getImage(source).tag({ repo: repository, tag });
    },
    async pushImage(repository, tag, onProgress) {
      // The engine insists on an X-Registry-Auth header even for a registry without auth: send an empty one.
      const stream = (await docker.getImage(repository).push({ tag, authconfig: {} })) as NodeJS.ReadableStream;
      await follow(docker, stream, onProgress);
    },
    removeVolume(name) {
      return orIfMissing(async () => {
        await docker.getVolume(name).remove();
        return true;
      }, false);
    },
    volumeExists(name) {
      return orIfMissing(async () => {
        await docker.getVolume(name).inspect();
        return true;
      }, false);
    },
    networkExists(name) {
      return orIfMissing(async () => {
        await docker.getNetwork(name).inspect();
        return true;
      }, false);
    },
    async connectNetwork(container, network) {
      await docker.getNetwork(network).connect({ Container: container });
    },
    async disconnectNetwork(container, network) {
      try {
        await docker.getNetwork(network).disconnect({ Container: container, Force: true });
        return true;
      } catch (error) {
        const code = (error as { statusCode?: number }).statusCode;
        if (code === 404 || code === 403) return false; // gone, or not connected
        throw error;
      }
    },
    exec(container, argv) {
      return orIfMissing(async () => {
        const exec = await docker.getContainer(container).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const output = await capturedOutput();
        docker.modem.demuxStream(stream, output.stdout, output.stderr);
        await new Promise<void>((resolve, reject) => stream.on('end', resolve).on('error', reject));
        const { ExitCode } = await exec.inspect();
        return output.result(ExitCode ?? 1);
      }, undefined);
    },
    async runOnce(image, argv, readOnlyMounts) {
      const output = await capturedOutput();
      // dockerode's run: create, attach, start, wait; with two streams it demultiplexes stdout and stderr.
      const [result, container] = (await docker.run(image, argv, [output.stdout, output.stderr], {
        Tty: false,
        HostConfig: { Binds: readOnlyMounts.map((m) => `${m.host}:${m.container}:ro`) },
      })) as [{ StatusCode: number }, Dockerode.Container];
      await container.remove({ force: true }).catch(() => undefined);
      return output.result(result.StatusCode);
    },
    async containerWithAddress(address) {
      for (const c of await docker.listContainers()) {
        const network = Object.entries(c.NetworkSettings?.Networks ?? {}).find(([, n]) => n.IPAddress === address)?.[0];
        if (network) return { name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), network };
      }
      return undefined;
    },
  };
}
