// KEP-1755 "local-registry-hosting": the ConfigMap in kube-public that tells tools (Tilt, Skaffold) where a local
// cluster's registry is, as kind's registry script, ctlptl and k3d write it. Pure: values from the config only.
import { parse, stringify } from 'yaml';
import type { KubeObject, ObjectRef } from './adapters/kube.js';
import type { Config } from './config.js';
import { labelled } from './manifests.js';

export const REGISTRY_HOSTING_REF: ObjectRef = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'kube-public',
  name: 'local-registry-hosting',
};
export const REGISTRY_HOSTING_KEY = 'localRegistryHosting.v1';
export const REGISTRY_HOSTING_HELP = 'https://www.npmjs.com/package/opa-trusted-registry-bootstrap#the-registry-for-tilt-and-skaffold';

/** KEP-1755 `localRegistryHosting.v1`. */
export interface LocalRegistryHostingV1 {
  /** Where to push from this machine. */
  host: string;
  /** The name manifests use: what the node's container runtime pulls through. */
  hostFromContainerRuntime?: string;
  /** Where pods reach the registry over the cluster network, where such an address exists. */
  hostFromClusterNetwork?: string;
  help?: string;
}

export interface RegistryHostingInputs {
  config: Pick<Config, 'registryPort'>;
  /** host[:port] the node pulls from and the policy trusts (ctx.registryHost). */
  registryHost: string;
  /**
   * host[:port] at which pods reach the registry over the cluster network. None today: the registry is a container
   * on the host, reached through the host's address; give one when the registry gets a name on the node's network.
   */
  clusterNetworkHost?: string;
}

/** The one place the advertised addresses are decided. */
export function registryHosting(inputs: RegistryHostingInputs): LocalRegistryHostingV1 {
  return {
    host: `localhost:${inputs.config.registryPort}`,
    hostFromContainerRuntime: inputs.registryHost,
    ...(inputs.clusterNetworkHost ? { hostFromClusterNetwork: inputs.clusterNetworkHost } : {}),
    help: REGISTRY_HOSTING_HELP,
  };
}

export function registryHostingConfigMap(hosting: LocalRegistryHostingV1): KubeObject {
  return labelled({
    apiVersion: REGISTRY_HOSTING_REF.apiVersion,
    kind: REGISTRY_HOSTING_REF.kind,
    metadata: { name: REGISTRY_HOSTING_REF.name, namespace: REGISTRY_HOSTING_REF.namespace },
    data: { [REGISTRY_HOSTING_KEY]: stringify(hosting) },
  });
}

/** What a live ConfigMap (ours or anyone's) advertises; undefined when it holds no readable `localRegistryHosting.v1`. */
export function readRegistryHosting(configMap: KubeObject | undefined): LocalRegistryHostingV1 | undefined {
  const text = (configMap?.data as Record<string, string> | undefined)?.[REGISTRY_HOSTING_KEY];
  if (!text) return undefined;
  try {
    const value = parse(text) as Partial<LocalRegistryHostingV1> | null;
    return value && typeof value.host === 'string' ? (value as LocalRegistryHostingV1) : undefined;
  } catch {
    return undefined;
  }
}

export const sameHosting = (a: LocalRegistryHostingV1 | undefined, b: LocalRegistryHostingV1) =>
  Boolean(a) && (['host', 'hostFromContainerRuntime', 'hostFromClusterNetwork', 'help'] as const).every((key) => a![key] === b[key]);
