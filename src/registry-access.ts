// Who can reach the registry, and how the cluster's node reaches it. The registry trusts nobody (no
// authentication), so it is published where the node needs it and nowhere else (README "Who can reach the
// registry"): this machine always reaches it on 127.0.0.1, which is also what `docker push localhost:<port>/…`
// needs (Docker treats 127.0.0.0/8 as an insecure registry without configuration).
import type { Config } from './config.js';

/** minikube drivers whose node is a container on this machine's Docker (podman: not tested here). */
export const CONTAINER_DRIVERS: readonly string[] = ['docker', 'podman'];
/** The node is this machine itself: 127.0.0.1 there is 127.0.0.1 here (minikube maps host.minikube.internal to it). */
export const HOST_DRIVERS: readonly string[] = ['none'];

export type NodeKind = 'container' | 'host' | 'vm';

export interface RegistryAccess {
  /** Host addresses the registry's port is published on, before the node is known ('0.0.0.0' = every address). */
  listenAddresses: string[];
  /**
   * How the node reaches the registry:
   * - container: joined to the node's Docker network; the node's containerd pulls registryHost through
   *   http://<registry container>:5000 there (a hosts.toml mirror entry);
   * - host: the node is this machine, on loopback;
   * - vm: through the host's address on the VM's network, found from the node once it runs and added to
   *   listenAddresses then.
   */
  node: NodeKind;
  /** The Docker network the registry joins (node: container): minikube names it after the profile. */
  network?: string;
}

export function nodeKindOfDriver(driver: string | undefined): NodeKind {
  // minikube's default on Linux and macOS with Docker running is the docker driver; if it picks a VM driver
  // instead, the node step says so (the profile records the driver it used).
  if (driver === undefined || CONTAINER_DRIVERS.includes(driver)) return 'container';
  if (HOST_DRIVERS.includes(driver)) return 'host';
  return 'vm';
}

/**
 * Where the registry listens and how the node reaches it, from the settings alone. `registryListenAddress`
 * adds one address to loopback ('0.0.0.0' publishes on every address, for the rare setup that needs it).
 * `--cluster existing`: loopback, and the cluster is told where to pull by --registry-host.
 */
export function planRegistryAccess(config: Config): RegistryAccess {
  const listen = (extra?: string) => (extra === '0.0.0.0' ? ['0.0.0.0'] : [...new Set(['127.0.0.1', ...(extra ? [extra] : [])])]);
  if (config.cluster === 'existing') return { listenAddresses: listen(config.registryListenAddress), node: 'host' };
  const node = nodeKindOfDriver(config.minikubeDriver);
  return {
    listenAddresses: listen(config.registryListenAddress),
    node,
    ...(node === 'container' ? { network: config.profile } : {}),
  };
}

/** The registry's address inside the node's Docker network: its container name and container port. */
export const registryOnNetwork = (containerName: string, containerPort: string) => `${containerName}:${containerPort}`;

/**
 * containerd's hosts.toml for `registryHost` on a containerised node: pull through the registry container on the
 * node's network first (plain HTTP), and fall back to registryHost itself. containerd reads it at every pull
 * (config_path), so writing it needs no restart. Format: containerd docs/hosts.md.
 */
export function containerdHostsToml(registryHost: string, mirror: string): string {
  return `server = "http://${registryHost}"\n\n[host."http://${mirror}"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** Where containerd looks for that file on the node. */
export const containerdHostsPath = (registryHost: string) => `/etc/containerd/certs.d/${registryHost}/hosts.toml`;
