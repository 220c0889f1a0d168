// The checks the sandbox is judged by, sent through the real admission path: the article's three pods, the bypass
// matrix (--suite extended: pods, updates, ephemeral containers, workloads), and the ok pod created and run. Used by
// verify's steps, up's last step and watch.
import { describeRef, refOf, type AdmissionOutcome, type KubeClient, type KubeObject, type ObjectRef } from './adapters/kube.js';
import { localRegistryUrl, waitFor, type CheckResult, type Ctx } from './context.js';
import { trustedImagePath } from './image-ref.js';
import { isManaged, MANAGED_BY } from './manifests.js';
import { messages } from './messages.js';
import { readTemplate, renderYaml, renderYamlTemplate } from './templates.js';
import { NO_SUCH_NODE, podSpecOf, workloadKind, workloadObject, type WorkloadKindName } from './workloads.js';

export const WEBHOOK = 'validating-webhook.openpolicyagent.org';
/** How the API server words a denial by our webhook (the article's kubectl output, after "Error from server"). */
export const denial = (message: string) => `admission webhook "${WEBHOOK}" denied the request: ${message}`;

export interface PodCase {
  name: string;
  via: 'create' | 'update' | 'ephemeral';
  /** A workload kind (Deployment, CronJob, ...) whose pod template carries the images; absent: a Pod. */
  kind?: WorkloadKindName;
  containers?: string[];
  initContainers?: string[];
  ephemeralContainers?: string[];
  expect: 'allow' | 'deny';
  messages?: string[];
}

export interface ArticleCase {
  name: string;
  file: string;
  /** The image the template holds, for the digest message. */
  image: (registry: string, trustedImage: string) => string;
  expect: 'allow' | 'deny';
  message?: (registry: string) => string;
}

export const ARTICLE_CASES: ArticleCase[] = [
  {
    name: 'untrusted registry (pod-bad-repo.yaml)',
    file: 'pods/pod-bad-repo.yaml',
    image: () => 'nginx:1.21.1',
    expect: 'deny',
    message: () => "Image 'nginx:1.21.1' comes from untrusted registry",
  },
  {
    name: 'latest tag (pod-bad-tag.yaml)',
    file: 'pods/pod-bad-tag.yaml',
    image: (r) => `${r}/nginx:latest`,
    expect: 'deny',
    message: (r) => `Image '${r}/nginx:latest' used latest image`,
  },
  { name: 'trusted and pinned (pod-ok.yaml)', file: 'pods/pod-ok.yaml', image: (r, trusted) => `${r}/${trusted}`, expect: 'allow' },
];

export const digestMessage = (image: string) => `Image '${image}' is not pinned by digest`;
const invalidMessage = (image: string) => `Image '${image}' is not a valid image reference`;

/** What to expect of an article case: with --require-digest, every tag-only image is also denied for that. */
export function expectationFor(
  c: ArticleCase,
  registry: string,
  trustedImage: string,
  requireDigest: boolean,
): { expect: 'allow' | 'deny'; messages: string[] } {
  const messages = c.message ? [c.message(registry)] : [];
  if (requireDigest) messages.push(digestMessage(c.image(registry, trustedImage)));
  return { expect: messages.length ? 'deny' : c.expect, messages };
}

/**
 * What to expect of an extended case. templates/verify/extended.yaml is written for the default policy; with
 * --require-digest the policy also denies every image the case sends that is a valid reference without a digest (an
 * invalid one, which the case expects denied as such, gets that message alone). The base object of an update or
 * ephemeral case is pinned then (runExtendedSuite), so only the case's own images are judged.
 */
export function extendedExpectation(c: PodCase, requireDigest: boolean): { expect: 'allow' | 'deny'; messages: string[] } {
  const messages = new Set(c.messages ?? []);
  if (requireDigest)
    for (const image of [...(c.containers ?? []), ...(c.initContainers ?? []), ...(c.ephemeralContainers ?? [])])
      if (!image.includes('@') && !messages.has(invalidMessage(image))) messages.add(digestMessage(image));
  return { expect: messages.size ? 'deny' : c.expect, messages: [...messages] };
}

/** Compares what the API server said with what was expected; the denial text must match exactly. */
export function judge(name: string, expect: 'allow' | 'deny', expectedMessages: string[], outcome: AdmissionOutcome): CheckResult {
  const expected = expect === 'allow' ? 'admitted' : `denied: ${[...expectedMessages].sort().join(', ')}`;
  const actual = outcome.allowed
    ? 'admitted'
    : `denied: ${outcome.message.startsWith(denial('')) ? outcome.message.slice(denial('').length) : `(${outcome.code}) ${outcome.message}`}`;
  return { name, expected, actual, passed: expected === actual };
}

function withNamespace(pod: KubeObject, namespace: string, name?: string): KubeObject {
  return {
    ...pod,
    metadata: { ...pod.metadata, namespace, ...(name ? { name } : {}), labels: { ...pod.metadata?.labels, ...MANAGED_BY } },
  };
}

export async function articlePod(ctx: Ctx, file: string): Promise<KubeObject> {
  const [pod] = await renderYamlTemplate<KubeObject>(file, {
    registry: ctx.registryHost!,
    trustedImage: trustedImagePath(ctx.config.trustedImage).ref,
  });
  return withNamespace(pod!, ctx.config.verifyNamespace);
}

/**
 * A pod for a server-side dry run: named by the API server (generateName), so that a pod of the same name that
 * really exists (the ok pod `verify --create` leaves running) cannot turn the check into "409 already exists".
 */
export function forDryRun(pod: KubeObject): KubeObject {
  const { name, ...metadata } = pod.metadata ?? {};
  return { ...pod, metadata: { ...metadata, generateName: `${name ?? 'bootstrap-verify'}-` } };
}

export async function runArticleSuite(ctx: Ctx, kube: KubeClient): Promise<CheckResult[]> {
  const trusted = trustedImagePath(ctx.config.trustedImage);
  const results = Promise.all(
    ARTICLE_CASES.map(async (c) => {
      const outcome = await kube.createPod(ctx.config.verifyNamespace, forDryRun(await articlePod(ctx, c.file)), { dryRun: true });
      const { expect, messages } = expectationFor(c, ctx.registryHost!, trusted.ref, ctx.config.requireDigest);
      return judge(c.name, expect, messages, outcome);
    }),
  );
  if (!ctx.config.requireDigest) return results;
  return [...(await results), await runPinnedByDigest(ctx, kube)];
}

/** The digest our registry holds for the trusted image; undefined when it holds none or does not answer. */
function registryDigest(ctx: Ctx): Promise<string | undefined> {
  const { repository, tag } = trustedImagePath(ctx.config.trustedImage);
  return ctx.services.registryApi.manifestDigest(localRegistryUrl(ctx), repository, tag).catch(() => undefined);
}

/** --require-digest: the ok pod's image pinned by the digest our registry holds for it is admitted. */
async function runPinnedByDigest(ctx: Ctx, kube: KubeClient): Promise<CheckResult> {
  const name = 'trusted and pinned by digest (pod-ok.yaml@sha256)';
  const { repository, tag } = trustedImagePath(ctx.config.trustedImage);
  const digest = await registryDigest(ctx);
  if (!digest) return { name, expected: 'admitted', actual: messages.noRegistryDigest(`${repository}:${tag}`), passed: false };
  const pod = await articlePod(ctx, 'pods/pod-ok.yaml');
  const containers = (pod.spec as { containers: { image: string }[] }).containers;
  containers[0]!.image = `${containers[0]!.image}@${digest}`;
  return judge(name, 'allow', [], await kube.createPod(ctx.config.verifyNamespace, forDryRun(pod), { dryRun: true }));
}

// --- extended suite -----------------------------------------------------------------------------------------

const containerList = (prefix: string, images: string[] = []) => images.map((image, i) => ({ name: `${prefix}${i}`, image }));

export function casePod(c: PodCase, namespace: string, baseImage: string): KubeObject {
  const name = `bootstrap-verify-${c.name}`.slice(0, 63).replace(/-+$/, '');
  return withNamespace(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: containerList('c', c.via === 'create' ? c.containers : (c.containers ?? [baseImage]).map(() => baseImage)),
        ...(c.via === 'create' && c.initContainers ? { initContainers: containerList('i', c.initContainers) } : {}),
        ...(c.via === 'update' && c.initContainers
          ? {
              initContainers: containerList(
                'i',
                c.initContainers.map(() => baseImage),
              ),
            }
          : {}),
        // The base pod of an update or ephemeral case is created for real. Never scheduled, it never runs, and the API
        // server deletes it at once instead of after a 30 s grace period, so the next run can take its name again.
        ...(c.via === 'create' ? {} : { nodeSelector: { ...NO_SUCH_NODE } }),
      },
    },
    namespace,
  );
}

/** The object a case sends: its Pod, or (with `kind`) a workload of that kind around the same pod spec. */
export function caseObject(c: PodCase, namespace: string, baseImage: string): KubeObject {
  const pod = casePod(c, namespace, baseImage);
  if (!c.kind) return pod;
  const kind = workloadKind(c.kind);
  if (!kind) throw new Error(`verify/extended.yaml: case ${c.name} has unknown kind ${c.kind}`);
  // 52: the longest name a CronJob may have (its Jobs append a suffix).
  const name = pod.metadata!.name!.slice(0, 52).replace(/-+$/, '');
  return workloadObject(kind, name, namespace, pod.spec as Record<string, unknown>, pod.metadata!.labels);
}

export async function loadExtendedCases(registry: string): Promise<PodCase[]> {
  const text = await readTemplate('verify/extended.yaml');
  // Only images and messages carry {{ registry }}; the file is one YAML list.
  const [cases] = renderYaml<PodCase[]>(text, { registry }, 'verify/extended.yaml');
  return cases ?? [];
}

type Containers = { image: string }[];

/** The update a case describes, made to a live object: only the `image` fields change, matched by position. */
function changeImages(c: PodCase, live: KubeObject): void {
  const spec = podSpecOf(live) as { containers: Containers; initContainers?: Containers };
  (c.containers ?? []).forEach((image, i) => spec.containers[i] && (spec.containers[i]!.image = image));
  (c.initContainers ?? []).forEach((image, i) => spec.initContainers?.[i] && (spec.initContainers[i]!.image = image));
}

const caseName = (c: PodCase) => `${c.via}: ${c.kind ? `${c.kind} ` : ''}${c.name}`;

/** How long a base object may take to go once deleted with no grace period: only a finalizer can hold it. */
export const BASE_GONE_SECONDS = 30;

/** Deletes a base object at once (no grace period) and waits until the API server no longer has it; false if it stays. */
async function deleteAndWait(ctx: Ctx, kube: KubeClient, ref: ObjectRef): Promise<boolean> {
  await kube.delete(ref, { gracePeriodSeconds: 0 });
  return waitFor(
    ctx.services,
    BASE_GONE_SECONDS,
    async () => ((await kube.get(ref)) ? undefined : true),
    () => new Error('still there'),
  ).then(
    () => true,
    () => false,
  );
}

/**
 * The base object's name is taken: by a base object an earlier run left (stopped halfway, or one an older bootstrap
 * deleted with a grace period, still terminating), which is removed; or by an object that is not ours, which stays.
 * Undefined when the name is free again; else why it is not. A run sending the same checks at the same time loses its
 * base objects this way (messages.verifyBaseGone).
 */
async function clearLeftover(ctx: Ctx, kube: KubeClient, ref: ObjectRef): Promise<string | undefined> {
  const leftover = await kube.get(ref);
  if (!leftover) return undefined;
  if (!isManaged(leftover)) return messages.verifyBaseNameTaken(describeRef(ref));
  if (await deleteAndWait(ctx, kube, ref)) return undefined;
  const finalizers = (await kube.get(ref))?.metadata?.finalizers ?? [];
  return messages.verifyBaseStillDeleting(describeRef(ref), BASE_GONE_SECONDS, finalizers);
}

async function runCase(ctx: Ctx, kube: KubeClient, c: PodCase, baseImage: string): Promise<CheckResult> {
  const namespace = ctx.config.verifyNamespace;
  const object = caseObject(c, namespace, baseImage);
  const ref = refOf(object);
  const { expect, messages: expectedMessages } = extendedExpectation(c, ctx.config.requireDigest);
  const check = (outcome: AdmissionOutcome) => judge(caseName(c), expect, expectedMessages, outcome);
  const create = (dryRun: boolean) => (c.kind ? kube.createObject(object, { dryRun }) : kube.createPod(namespace, object, { dryRun }));
  if (c.via === 'create') return check(await create(true));
  // update and ephemeral act on a real, admitted object (a workload that makes no pod, a pod never scheduled): create
  // it, change it (dry run), remove it.
  const baseFailed = (actual: string): CheckResult => ({ name: caseName(c), expected: 'base object admitted', actual, passed: false });
  let base = await create(false);
  if (!base.allowed && base.code === 409) {
    const problem = await clearLeftover(ctx, kube, ref);
    if (problem) return baseFailed(problem);
    base = await create(false);
  }
  if (!base.allowed) return baseFailed(`denied: ${base.message}`);
  try {
    // The scheduler (an unschedulable pod's status) or a controller (a workload's) may write the object between our
    // read and our change, and the API server answers 409: read it again and retry.
    for (let attempt = 1; ; attempt++) {
      const live = await kube.get<KubeObject>(ref);
      // Gone already: only another run sending the same checks at the same time removes it (taking it for a leftover).
      if (!live) return baseFailed(messages.verifyBaseGone(describeRef(ref)));
      let outcome: AdmissionOutcome;
      if (c.via === 'update') {
        changeImages(c, live);
        outcome = c.kind ? await kube.replaceObject(live, { dryRun: true }) : await kube.replacePod(namespace, live, { dryRun: true });
      } else {
        (live.spec as { ephemeralContainers?: unknown[] }).ephemeralContainers = containerList('e', c.ephemeralContainers);
        outcome = await kube.replaceEphemeralContainers(namespace, live, { dryRun: true });
      }
      if (outcome.code !== 409 || attempt === 5) return check(outcome);
    }
  } finally {
    // Gone before the next run (watch's next save, seconds later) creates it again; one that stays is cleared, or
    // named, by that run.
    await deleteAndWait(ctx, kube, ref);
  }
}

export async function runExtendedSuite(ctx: Ctx, kube: KubeClient): Promise<CheckResult[]> {
  const registry = ctx.registryHost!;
  const trusted = trustedImagePath(ctx.config.trustedImage);
  // The stricter policy admits a base object only pinned; without a digest its cases say "base object admitted, got denied".
  const digest = ctx.config.requireDigest ? await registryDigest(ctx) : undefined;
  const baseImage = `${registry}/${trusted.ref}${digest ? `@${digest}` : ''}`;
  // Without one, each such case fails for that one reason, said once per case instead of as a denial of its base.
  const unpinnable = ctx.config.requireDigest && !digest ? messages.noRegistryDigest(`${trusted.repository}:${trusted.tag}`) : undefined;
  const cases = await loadExtendedCases(registry);
  const results: CheckResult[] = [];
  const run = (c: PodCase): Promise<CheckResult> =>
    unpinnable && c.via !== 'create'
      ? Promise.resolve({ name: caseName(c), expected: 'base object admitted', actual: unpinnable, passed: false })
      : runCase(ctx, kube, c, baseImage);
  // A few at a time: each update/ephemeral case creates a real object.
  for (let i = 0; i < cases.length; i += 4) results.push(...(await Promise.all(cases.slice(i, i + 4).map(run))));
  return results;
}

/** --create: the ok pod for real, running its image from our registry. */
export async function createOkPod(ctx: Ctx, kube: KubeClient): Promise<CheckResult> {
  const pod = await articlePod(ctx, 'pods/pod-ok.yaml');
  const ref = { apiVersion: 'v1', kind: 'Pod', namespace: ctx.config.verifyNamespace, name: pod.metadata!.name! };
  const existing = await kube.get(ref);
  if (!existing) {
    const outcome = await kube.createPod(ctx.config.verifyNamespace, pod, { dryRun: false });
    if (!outcome.allowed) return judge('pod-ok.yaml created and running', 'allow', [], outcome);
  }
  let phase = 'Pending';
  try {
    await waitFor(
      ctx.services,
      ctx.config.waitSeconds,
      async () => {
        const live = await kube.get<KubeObject & { status?: { phase?: string } }>(ref);
        phase = live ? (live.status?.phase ?? 'Pending') : 'gone';
        return phase === 'Running' ? true : undefined;
      },
      () => new Error(phase),
    );
  } catch {
    /* reported below */
  }
  return { name: 'pod-ok.yaml created and running', expected: 'Running', actual: phase, passed: phase === 'Running' };
}
