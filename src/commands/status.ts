// `status`: each component's state, read only.
import type { KubeObject } from '../adapters/kube.js';
import { trustedImagePath } from '../image-ref.js';
import { localRegistryUrl, type Ctx } from '../context.js';
import { errorText } from '../errors.js';
import { base64 } from '../certs.js';
import { POLICY_CONFIGMAPS, WEBHOOK_NAME, OPA_NAMESPACE } from '../manifests.js';
import { isManaged } from '../manifests.js';
import { readRegistryHosting, registryHosting, REGISTRY_HOSTING_REF, sameHosting } from '../registry-hosting.js';
import { isOurs, loadRegistrySpec } from '../registry-spec.js';
import { describeGuardRule, readGuardPlan } from '../registry-guard.js';
import { messages } from '../messages.js';
import { connect, registryHostFor } from '../cluster-access.js';
import { opaStartedAt, policyStatus, rolloutState, statusIsStale, statusWrittenAt } from '../opa-observe.js';
import { formatTable, tableWidth } from '../table.js';
import type { Io } from '../listr.js';

export interface ComponentStatus {
  component: string;
  ok: boolean;
  state: string;
}

async function safely(component: string, probe: () => Promise<{ ok: boolean; state: string }>): Promise<ComponentStatus> {
  try {
    return { component, ...(await probe()) };
  } catch (error) {
    return { component, ok: false, state: errorText(error).split('\n')[0]! };
  }
}

export async function collectStatus(ctx: Ctx): Promise<ComponentStatus[]> {
  const registry = safely('registry', async () => {
    const spec = await loadRegistrySpec(ctx.config.registryPort);
    const state = await (await ctx.services.docker()).inspectContainer(spec.name);
    if (!state) return { ok: false, state: 'absent' };
    if (!isOurs(state, spec)) return { ok: false, state: `a container '${spec.name}' exists that bootstrap did not create` };
    return { ok: state.running, state: state.running ? `running on ${localRegistryUrl(ctx)}` : 'stopped' };
  });
  const image = safely('trusted image', async () => {
    const { repository, tag } = trustedImagePath(ctx.config.trustedImage);
    const present = await ctx.services.registryApi.hasManifest(localRegistryUrl(ctx), repository, tag);
    return { ok: present, state: present ? `${repository}:${tag} in the registry` : `${repository}:${tag} missing` };
  });
  const cluster = safely('cluster', async () => {
    if (ctx.config.cluster === 'minikube') {
      const profile = await ctx.services.minikube.profile(ctx.config.profile);
      if (!profile) return { ok: false, state: `no minikube profile ${ctx.config.profile}` };
    }
    const kube = await connect(ctx);
    return { ok: true, state: `${kube.contextName}: Kubernetes ${await kube.serverVersion()}` };
  });
  const clusterReady = (await cluster).ok;
  const inCluster = (component: string, probe: () => Promise<{ ok: boolean; state: string }>) =>
    clusterReady ? safely(component, probe) : Promise.resolve({ component, ok: false, state: 'cluster not reachable' });
  const kube = () => ctx.kube!;
  const opa = inCluster('OPA', async () => {
    const state = rolloutState(await kube().get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: OPA_NAMESPACE, name: 'opa' }));
    return { ok: state.done, state: state.detail };
  });
  const policy = inCluster('policy', async () => {
    const opaStart = await opaStartedAt(kube());
    const states = await Promise.all(
      POLICY_CONFIGMAPS.map(async (name) => {
        const configMap = await kube().get<Parameters<typeof statusWrittenAt>[0]>({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: OPA_NAMESPACE,
          name,
        });
        const status = policyStatus(configMap);
        const stale = Boolean(status?.ok && configMap && statusIsStale(configMap, opaStart));
        return {
          name,
          ok: Boolean(status?.ok) && !stale,
          said: !status
            ? 'not loaded'
            : stale
              ? 'stale: OPA restarted after it was loaded (kube-mgmt is restarted to load it again; if that lasts, run bootstrap up)'
              : status.ok
                ? 'ok'
                : `error: ${status.error}`,
        };
      }),
    );
    return { ok: states.every((s) => s.ok), state: states.map((s) => `${s.name}: ${s.said}`).join('; ') };
  });
  const webhook = inCluster('webhook', async () => {
    const live = await kube().get<KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] }>({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      name: WEBHOOK_NAME,
    });
    if (!live) return { ok: false, state: 'not registered' };
    const ca = await ctx.services.state.read('ca.crt');
    const matches = ca !== undefined && live.webhooks?.[0]?.clientConfig?.caBundle === base64(ca);
    return {
      ok: matches,
      state: matches ? 'registered, CA bundle matches' : 'registered, but its CA bundle is not our current CA (run bootstrap up)',
    };
  });
  const hosting = inCluster('registry hosting', async () => {
    const live = await kube().get(REGISTRY_HOSTING_REF);
    if (!live) return { ok: false, state: 'no ConfigMap kube-public/local-registry-hosting (run bootstrap up)' };
    const said = readRegistryHosting(live);
    if (!isManaged(live)) {
      return { ok: false, state: `kube-public/local-registry-hosting is not ours: tools use ${said?.host ?? 'what it names'}` };
    }
    if (!said) return { ok: false, state: 'kube-public/local-registry-hosting holds no localRegistryHosting.v1 (run bootstrap up)' };
    const shown = `push to ${said.host}, manifests use ${said.hostFromContainerRuntime ?? '(none)'}`;
    // The address the node pulls through: as configured, else as `up` recorded it.
    const registryHost =
      ctx.config.registryHost ??
      (await ctx.services.state.readRecord()).registryHost ??
      (ctx.config.cluster === 'minikube' ? registryHostFor(ctx) : undefined);
    if (registryHost && !sameHosting(said, registryHosting({ config: ctx.config, registryHost }))) {
      return { ok: false, state: `outdated: ${shown} (run bootstrap up)` };
    }
    return { ok: true, state: shown };
  });
  const guard = safely('registry guard', async () => {
    const plan = await readGuardPlan(ctx);
    if ('unneeded' in plan) return { ok: true, state: `no rule needed: ${plan.unneeded}` };
    if ('pending' in plan) return { ok: true, state: 'no registry container: nothing to close' };
    if ('unmanageable' in plan) return { ok: true, state: messages.guardUnchecked() };
    const missing = plan.add.length;
    if (missing) return { ok: false, state: messages.guardRulesMissing(missing, plan.desired.length) };
    return { ok: true, state: messages.planGuardInPlace(plan.desired.map(describeGuardRule)) };
  });
  return Promise.all([registry, image, cluster, opa, policy, webhook, hosting, guard]);
}

export async function status(ctx: Ctx, io: Io): Promise<boolean> {
  const components = await collectStatus(ctx);
  if (ctx.options.json) io.print(JSON.stringify({ ok: components.every((c) => c.ok), components }, null, 2));
  else {
    const rows = components.map((c) => [c.ok ? '✔' : '✖', c.component, c.state]);
    for (const line of formatTable(rows, { columns: tableWidth(io.columns), gap: [' ', '  '] })) io.print(line);
  }
  return components.every((c) => c.ok);
}
