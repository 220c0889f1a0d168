// `audit`: every existing Pod and workload, judged by the running OPA with the installed policy — the same
// data.system.main the webhook asks (many reviews per request), reached through the API server's service proxy. No second implementation of
// the policy here: this file only builds the AdmissionReview OPA would get for a CREATE, and tabulates its answer.
import type { KubeClient, KubeObject } from '../adapters/kube.js';
import type { Ctx } from '../context.js';
import { OPA_NAMESPACE, WEBHOOK_IGNORE_LABEL } from '../manifests.js';
import { messages } from '../messages.js';
import type { Task } from '../listr.js';
import { podSpecOf, WORKLOAD_KINDS } from '../workloads.js';
import { connect } from '../cluster-access.js';

/** What is audited: Pods and every workload kind the policy reads. */
export const AUDITED_KINDS = [
  { apiVersion: 'v1', kind: 'Pod', group: '', resource: 'pods' },
  ...WORKLOAD_KINDS.map((k) => ({ apiVersion: k.apiVersion, kind: k.kind, group: k.group, resource: k.resource })),
];

/** OPA's webhook endpoint through the API server: POST / answers with data.system.main (what the webhook gets). */
export const OPA_SERVICE = { namespace: OPA_NAMESPACE, service: 'opa', scheme: 'https', port: 443, path: '' } as const;

export interface AuditRow {
  namespace: string;
  kind: string;
  name: string;
  container: string;
  image: string;
  /** The policy's message without the leading "Image '<image>' " (the whole message when it names no image). */
  reason: string;
  message: string;
}

export interface AuditResult {
  /** Objects judged. */
  checked: number;
  violations: AuditRow[];
  /** Would-be violations in namespaces the webhook skips (openpolicyagent.org/webhook=ignore): listed, not enforced. */
  exempt: AuditRow[];
  exemptNamespaces: string[];
}

type Decision = { response?: { allowed?: boolean; status?: { message?: string } } };
type AuditAnswer = { kind?: string; responses?: Decision['response'][] };

/** Reviews per request: one round trip through the API server's proxy for many objects. */
export const AUDIT_BATCH = 100;

/** Many reviews in one request to the webhook's entry point (templates/policy/system-main.rego, `is_audit`). */
export function auditRequest(objects: KubeObject[], firstIndex: number): Record<string, unknown> {
  return {
    apiVersion: 'bootstrap.opa-trusted-registry/v1',
    kind: 'AuditRequest',
    reviews: objects.map((o, i) => admissionReviewFor(o, `bootstrap-audit-${firstIndex + i}`)),
  };
}

/** The AdmissionReview kube-apiserver would send if the object were created now. */
export function admissionReviewFor(object: KubeObject, uid: string): Record<string, unknown> {
  const target = AUDITED_KINDS.find((k) => k.kind === object.kind)!;
  const gvk = { group: target.group, version: 'v1', kind: target.kind };
  const gvr = { group: target.group, version: 'v1', resource: target.resource };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: object.metadata?.name,
      namespace: object.metadata?.namespace,
      operation: 'CREATE',
      userInfo: { username: 'bootstrap-audit' },
      object,
      oldObject: null,
      dryRun: true,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', dryRun: ['All'] },
    },
  };
}

/** The messages of a denial (the policy joins them, sorted, with ", "; each starts with "Image '"). */
export function splitMessages(reason: string): string[] {
  return reason.split(/, (?=Image ')/).filter(Boolean);
}

/** One row per container whose image a message names; a denial that names none (policy not loaded) is one row. */
export function rowsFor(object: KubeObject, decision: Decision): AuditRow[] {
  const response = decision.response;
  if (!response || response.allowed !== false) return [];
  const messages = splitMessages(response.status?.message ?? 'denied');
  const base = { namespace: object.metadata?.namespace ?? '', kind: object.kind!, name: object.metadata?.name ?? '' };
  const spec = (podSpecOf(object) ?? {}) as Record<string, { name?: string; image?: string }[] | undefined>;
  const rows: AuditRow[] = [];
  const named = new Set<string>();
  for (const field of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of spec[field] ?? []) {
      const prefix = `Image '${c.image}' `;
      for (const message of messages.filter((m) => m.startsWith(prefix))) {
        named.add(message);
        rows.push({ ...base, container: c.name ?? '', image: c.image ?? '', reason: message.slice(prefix.length), message });
      }
    }
  }
  for (const message of messages.filter((m) => !named.has(m))) rows.push({ ...base, container: '', image: '', reason: message, message });
  return rows;
}

async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function runAudit(kube: KubeClient, onProgress: (text: string) => void = () => {}): Promise<AuditResult> {
  const [namespaces, ...lists] = await Promise.all([
    kube.list('v1', 'Namespace'),
    ...AUDITED_KINDS.map(async (k) =>
      (await kube.list(k.apiVersion, k.kind)).map((o) => ({ ...o, apiVersion: k.apiVersion, kind: k.kind }) as KubeObject),
    ),
  ]);
  const exemptNamespaces = namespaces
    .filter((n) => n.metadata?.labels?.[WEBHOOK_IGNORE_LABEL] === 'ignore')
    .map((n) => n.metadata!.name!)
    .sort();
  const objects = lists.flat();
  onProgress(`asking OPA about ${objects.length} objects`);
  const batches: KubeObject[][] = [];
  for (let i = 0; i < objects.length; i += AUDIT_BATCH) batches.push(objects.slice(i, i + AUDIT_BATCH));
  const rows = (
    await pool(batches, 4, async (batch, b) => {
      const answer = await kube.postToService<AuditAnswer>(OPA_SERVICE, auditRequest(batch, b * AUDIT_BATCH));
      if (answer.kind !== 'AuditResponse' || answer.responses?.length !== batch.length) throw messages.auditUnsupported();
      return batch.flatMap((object, i) => rowsFor(object, { response: answer.responses![i] }));
    })
  ).flat();
  const order = (a: AuditRow, b: AuditRow) =>
    a.namespace.localeCompare(b.namespace) ||
    a.kind.localeCompare(b.kind) ||
    a.name.localeCompare(b.name) ||
    a.container.localeCompare(b.container);
  const exempt = new Set(exemptNamespaces);
  return {
    checked: objects.length,
    violations: rows.filter((r) => !exempt.has(r.namespace)).sort(order),
    exempt: rows.filter((r) => exempt.has(r.namespace)).sort(order),
    exemptNamespaces,
  };
}

/** An audit under way (startAudit): its result, and where its progress goes once there is a task to show it. */
export interface StartedAudit {
  result: Promise<AuditResult>;
  showProgress(sink: (text: string) => void): void;
}

/** Starts the audit now, before there is a task to show it (its rejection is handled by whoever awaits `result`). */
export function startAudit(ctx: Ctx): StartedAudit {
  let show = (_text: string) => {};
  const result = connect(ctx).then((kube) => runAudit(kube, (text) => show(text)));
  result.catch(() => undefined);
  return { result, showProgress: (sink) => (show = sink) };
}

/** The task that shows the audit `started` (startAudit) and keeps its result in ctx.audit. */
export function auditTask(started: StartedAudit | undefined): Task {
  return {
    title: 'Ask OPA about every pod and workload',
    skip: (ctx) =>
      ctx.options.dryRun ? 'dry run: would list pods and workloads and ask OPA about each (nothing is changed either way)' : false,
    task: async (ctx, task) => {
      started!.showProgress((text) => (task.output = text)); // not skipped: outside a dry run, where one was started
      const result = await started!.result;
      ctx.audit = result;
      task.title = `Asked OPA about ${result.checked} objects: ${result.violations.length} violations${result.exempt.length ? `, ${result.exempt.length} in exempt namespaces` : ''}`;
    },
  };
}

function table(rows: AuditRow[]): string[] {
  const head = { namespace: 'NAMESPACE', object: 'KIND/NAME', container: 'CONTAINER', image: 'IMAGE', reason: 'REASON' };
  const lines = [
    head,
    ...rows.map((r) => ({
      namespace: r.namespace,
      object: `${r.kind}/${r.name}`,
      container: r.container,
      image: r.image,
      reason: r.reason,
    })),
  ];
  const width = (key: keyof typeof head) => Math.max(...lines.map((l) => l[key].length));
  const cols = (['namespace', 'object', 'container', 'image'] as const).map((k) => [k, width(k)] as const);
  return lines.map((l) => [...cols.map(([k, w]) => l[k].padEnd(w)), l.reason].join('  '));
}

/** The report: the violations, then what exempt namespaces hold, then one summary line. */
export function formatAudit(result: AuditResult): string {
  const out: string[] = [];
  if (result.violations.length) out.push(...table(result.violations));
  if (result.exempt.length) {
    if (out.length) out.push('');
    out.push(`Exempt (namespaces labelled ${WEBHOOK_IGNORE_LABEL}=ignore; the webhook does not judge them):`);
    out.push(...table(result.exempt));
  }
  const objects = new Set(result.violations.map((r) => `${r.namespace}/${r.kind}/${r.name}`)).size;
  if (out.length) out.push('');
  out.push(
    `${result.violations.length} violations in ${objects} of ${result.checked} objects` +
      (result.exempt.length ? `; ${result.exempt.length} more in exempt namespaces (${result.exemptNamespaces.join(', ')})` : ''),
  );
  return out.join('\n');
}
