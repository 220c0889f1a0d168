// The desired cluster state: every object `up` applies, rendered from templates/, in apply order.
import { readFile } from 'node:fs/promises';
import { stringify as stringifyYaml } from 'yaml';
import type { KubeObject, ObjectRef } from './adapters/kube.js';
import { base64, sha256, type CertificateBundle } from './certs.js';
import type { Config } from './config.js';
import { readTemplate, renderText, renderYamlTemplate } from './templates.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'bootstrap' } as const;
export const PART_OF = { 'app.kubernetes.io/part-of': 'trusted-registry' } as const;
export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=bootstrap';
export const OPA_NAMESPACE = 'opa';
export const WEBHOOK_IGNORE_LABEL = 'openpolicyagent.org/webhook';
export const POLICY_LABEL = { 'openpolicyagent.org/policy': 'rego' } as const;
export const POLICY_STATUS_ANNOTATION = 'openpolicyagent.org/kube-mgmt-status';
/** kube-mgmt 7+: retries left; anything but "0" (or its absence) makes it sync the ConfigMap again on the next update. */
export const POLICY_RETRIES_ANNOTATION = 'openpolicyagent.org/kube-mgmt-retries';
export const POLICY_CONFIGMAPS = ['opa-default-system-main', 'image-policy'] as const;
export const WEBHOOK_NAME = 'opa-validating-webhook';

/** Whether an object carries our label: only those are ever changed or removed. */
export const isManaged = (object: KubeObject | undefined): boolean =>
  Object.entries(MANAGED_BY).every(([k, v]) => (object?.metadata?.labels as Record<string, string> | undefined)?.[k] === v);

/**
 * The objects with fixed names outside anything of ours: the article and OPA's tutorial use the same names, so a
 * user may have them already. Everything else `up` applies lives in namespace opa, which is covered by its own check.
 */
export const CLAIMED_NAMES: ObjectRef[] = [
  { apiVersion: 'v1', kind: 'Namespace', name: OPA_NAMESPACE },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'opa-viewer' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: WEBHOOK_NAME },
];

export interface ClusterInputs {
  config: Config;
  registryHost: string;
  certificates: CertificateBundle;
  kubeMgmtToken: string;
}

export interface PolicySources {
  imagePolicy: string;
  settings: string;
  systemMain: string;
  authz: string;
  /** OPA's readiness rule, loaded at start with the authorization policy. */
  health: string;
}

export function trustedRegistries(config: Config, registryHost: string): string[] {
  return [...new Set([registryHost, ...config.extraTrustedRegistries])];
}

/** The Rego modules, rendered: the image policy itself is static; settings and authz carry the values. */
export async function renderPolicies(inputs: Omit<ClusterInputs, 'certificates'>): Promise<PolicySources> {
  const { config } = inputs;
  const imagePolicy = config.policyFile ? await readFile(config.policyFile, 'utf8') : await readTemplate('policy/image-policy.rego');
  return {
    imagePolicy,
    settings: renderText(
      await readTemplate('policy/settings.rego.tmpl'),
      {
        trustedRegistries: trustedRegistries(config, inputs.registryHost),
        requireDigest: config.requireDigest,
      },
      'policy/settings.rego.tmpl',
    ),
    systemMain: await readTemplate('policy/system-main.rego'),
    authz: renderText(await readTemplate('policy/authz.rego.tmpl'), { kubeMgmtToken: inputs.kubeMgmtToken }, 'policy/authz.rego.tmpl'),
    health: await readTemplate('policy/health.rego'),
  };
}

/** Our labels (managed-by, part-of) added to the object, and `extra`. */
export function labelled<T extends KubeObject>(object: T, extra: Record<string, string> = {}): T {
  const metadata = (object.metadata ??= {});
  metadata.labels = { ...metadata.labels, ...extra, ...MANAGED_BY, ...PART_OF };
  return object;
}

export const namespaceObject = (name: string, labels: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

/** kube-system gets only the webhook-ignore label, applied by our field manager so `down` can take just that back. */
export const kubeSystemLabel = (): KubeObject => namespaceObject('kube-system', { [WEBHOOK_IGNORE_LABEL]: 'ignore' });
/** The same object without our label: applying it makes server-side apply drop the field we owned, and nothing else. */
export const kubeSystemUnlabel = (): KubeObject => namespaceObject('kube-system', {});

export function opaNamespace(): KubeObject {
  return labelled(namespaceObject(OPA_NAMESPACE, { [WEBHOOK_IGNORE_LABEL]: 'ignore' }));
}

export function secrets(inputs: ClusterInputs, policies: PolicySources): KubeObject[] {
  return [
    labelled({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'opa-server', namespace: OPA_NAMESPACE },
      data: { 'tls.crt': base64(inputs.certificates.serverCert), 'tls.key': base64(inputs.certificates.serverKey) },
    }),
    labelled({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'opa-authz', namespace: OPA_NAMESPACE },
      data: { 'authz.rego': base64(policies.authz), 'health.rego': base64(policies.health), token: base64(inputs.kubeMgmtToken) },
    }),
  ];
}

export function policyConfigMaps(policies: PolicySources): KubeObject[] {
  const configMap = (name: string, data: Record<string, string>) =>
    labelled({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: OPA_NAMESPACE }, data }, POLICY_LABEL);
  return [
    configMap('opa-default-system-main', { main: policies.systemMain }),
    configMap('image-policy', { 'image-policy.rego': policies.imagePolicy, 'settings.rego': policies.settings }),
  ];
}

/** RBAC, ServiceAccount, Service and Deployment, from templates/opa/admission-controller.yaml. */
export async function opaWorkload(inputs: ClusterInputs, policies: PolicySources): Promise<KubeObject[]> {
  const objects = await renderYamlTemplate<KubeObject>('opa/admission-controller.yaml', {
    opaImage: inputs.config.opaImage,
    kubeMgmtImage: inputs.config.kubeMgmtImage,
    secretsHash: sha256(inputs.certificates.serverCert, inputs.certificates.serverKey, policies.authz, policies.health).slice(0, 16),
  });
  return objects.map((object) => labelled(object));
}

export async function webhookConfiguration(inputs: ClusterInputs): Promise<KubeObject> {
  const [webhook] = await renderYamlTemplate<KubeObject>('opa/webhook-configuration.yaml', {
    caBundle: base64(inputs.certificates.caCert),
    failurePolicy: inputs.config.webhookFailurePolicy,
    timeoutSeconds: inputs.config.webhookTimeoutSeconds,
  });
  return labelled(webhook!);
}

/** The secret values of an object replaced, for --dry-run and --json output. */
export function redact(object: KubeObject): KubeObject {
  if (object.kind !== 'Secret') return object;
  const data = object.data as Record<string, string> | undefined;
  return { ...object, data: Object.fromEntries(Object.keys(data ?? {}).map((k) => [k, '<redacted>'])) };
}

/** The objects as YAML documents, Secrets' values redacted: what a dry run prints. */
export const toYaml = (objects: KubeObject[]) => objects.map((o) => stringifyYaml(redact(o))).join('---\n');
