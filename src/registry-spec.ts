// compose/registry.yaml is the one source of truth for the registry container: the tool reads it
// and creates the same container through dockerode. Only the host port (--registry-port) and the address it is
// published on (registryListenAddress, or what the driver needs) can be overridden.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ContainerSpec, ContainerState } from './adapters/docker.js';
import { PACKAGE_DIR } from './templates.js';

export const COMPOSE_FILE = path.join(PACKAGE_DIR, 'compose', 'registry.yaml');

interface ComposeService {
  image: string;
  container_name: string;
  restart?: string;
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  volumes?: string[];
  labels?: Record<string, string>;
}

/**
 * The container the compose file describes. `hostPort` and `listenAddresses` replace the file's when given; a port
 * mapping is `[address:]hostPort:containerPort`.
 */
export function specFromCompose(text: string, hostPort?: number, listenAddresses?: string[]): ContainerSpec {
  const compose = parseYaml(text) as { services?: Record<string, ComposeService>; volumes?: Record<string, { name?: string } | null> };
  const service = compose.services?.registry;
  if (!service) throw new Error(`${COMPOSE_FILE} has no service "registry"`);
  const [portMapping] = service.ports ?? [];
  const [volumeMapping] = service.volumes ?? [];
  if (!portMapping || !volumeMapping) throw new Error(`${COMPOSE_FILE}: service "registry" needs one port and one volume`);
  const parts = String(portMapping).split(':');
  const [containerPort, composeHostPort, composeAddress = ''] = parts.reverse() as [string, string, string?];
  const [volumeKey, target] = volumeMapping.split(':') as [string, string];
  const volumeName = compose.volumes?.[volumeKey]?.name ?? volumeKey;
  return {
    name: service.container_name,
    image: service.image,
    env: Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)])),
    ports: { [`${containerPort}/tcp`]: hostPort ?? Number(composeHostPort) },
    listenAddresses: listenAddresses ?? [composeAddress],
    volume: { name: volumeName, target },
    restart: service.restart ?? 'no',
    labels: service.labels ?? {},
  };
}

export async function loadRegistrySpec(hostPort?: number, listenAddresses?: string[]): Promise<ContainerSpec> {
  return specFromCompose(await readFile(COMPOSE_FILE, 'utf8'), hostPort, listenAddresses);
}

/** Whether a container carries our labels: only those are ever changed or removed. */
export function isOurs(state: ContainerState, spec: ContainerSpec): boolean {
  return Object.entries(spec.labels).every(([k, v]) => state.labels[k] === v);
}

/** Human-readable differences between a live container and the spec (empty when they agree). */
export function containerDrift(state: ContainerState, spec: ContainerSpec): string[] {
  const differences: string[] = [];
  if (state.image !== spec.image) differences.push(`image ${state.image} (want ${spec.image})`);
  for (const [key, value] of Object.entries(spec.env)) {
    if (state.env[key] !== value) differences.push(`${key}=${state.env[key] ?? '(unset)'} (want ${value})`);
  }
  for (const [port, host] of Object.entries(spec.ports)) {
    if (state.ports[port] !== host) differences.push(`port ${port} published on ${state.ports[port] ?? 'nothing'} (want ${host})`);
  }
  const addresses = (list: string[]) =>
    [...new Set(list.map((a) => (a === '0.0.0.0' ? '' : a)))]
      .sort()
      .map((a) => a || 'every address')
      .join(', ') || 'nothing';
  if (addresses(state.listenAddresses) !== addresses(spec.listenAddresses)) {
    differences.push(`published on ${addresses(state.listenAddresses)} (want ${addresses(spec.listenAddresses)})`);
  }
  if (!state.volumes.some((v) => v.name === spec.volume.name && v.target === spec.volume.target)) {
    differences.push(`no volume ${spec.volume.name} at ${spec.volume.target}`);
  }
  if (state.restart !== spec.restart) differences.push(`restart policy ${state.restart || 'no'} (want ${spec.restart})`);
  return differences;
}
