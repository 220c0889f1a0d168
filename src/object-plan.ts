// What server-side apply of our objects would change, read before anything is applied: `up` applies only the objects
// that differ, and --dry-run prints the same list (ctlptl's needsCreate/needsUpdate, for Kubernetes objects).
import { describeRef, refOf, type KubeClient, type KubeObject } from './adapters/kube.js';
import { connectForPlan } from './cluster-access.js';
import type { Ctx } from './context.js';
import type { PlanReport } from './listr.js';
import { toYaml } from './manifests.js';
import { messages } from './messages.js';

export type ObjectChange = 'create' | 'update' | 'unchanged';

export interface ObjectPlan {
  object: KubeObject;
  change: ObjectChange;
}

/** The object without what differs between two readings of it but is no change of ours: bookkeeping, and status. */
function comparable(object: KubeObject): unknown {
  const { status: _status, ...rest } = object as KubeObject & { status?: unknown };
  const metadata = { ...(rest.metadata ?? {}) } as Record<string, unknown>;
  for (const key of ['managedFields', 'resourceVersion', 'generation']) delete metadata[key];
  return canonical({ ...rest, metadata });
}

/** JSON with object keys sorted (Dates as their ISO text), so that two readings compare by content. */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  return value;
}

/** Whether applying would leave `live` as it is: `wouldBe` is the API server's answer to a dry-run apply of ours. */
export function sameObject(live: KubeObject, wouldBe: KubeObject): boolean {
  return JSON.stringify(comparable(live)) === JSON.stringify(comparable(wouldBe));
}

/**
 * What applying `desired` (server-side apply, our field manager, forced) would do to `live`: create it, update it, or
 * nothing. Decided by the API server itself, with a dry-run apply (nothing is persisted), so that it follows
 * server-side apply exactly: atomic fields (a webhook's namespaceSelector and rules, a Service's selector) replaced
 * whole, a field this version no longer sets but an earlier one did removed, defaults added. One request per object
 * that exists; throws as apply does. Without `kube` (a dry run that cannot read the cluster), every object is a create.
 */
export async function objectChange(kube: KubeClient | undefined, live: KubeObject | undefined, desired: KubeObject): Promise<ObjectChange> {
  // No cluster to read (a dry run that could not connect) is planned as an empty one.
  if (!kube || !live) return 'create';
  return sameObject(live, await kube.apply(desired, { dryRun: true })) ? 'unchanged' : 'update';
}

/** Reads each object (a get, then a dry-run apply; side by side) and plans it; without a cluster (`kube` undefined: a dry run that cannot read it), every one is a create. */
export async function readObjectPlans(kube: KubeClient | undefined, objects: KubeObject[]): Promise<ObjectPlan[]> {
  return Promise.all(
    objects.map(async (object) => ({ object, change: await objectChange(kube, kube && (await kube.get(refOf(object))), object) })),
  );
}

/** A step's objects as read for its plan; `kube` is undefined only in a dry run that cannot read the cluster (`unread` says why). */
export interface ObjectsPlan {
  kube?: KubeClient;
  unread?: string;
  plans: ObjectPlan[];
}

/** Connects as connectForPlan does and reads each object (gets only). Throws as connect does, except in a dry run. */
export async function readObjectsPlan(ctx: Ctx, objects: KubeObject[]): Promise<ObjectsPlan> {
  const { kube, unread } = await connectForPlan(ctx);
  return { kube, unread, plans: await readObjectPlans(kube, objects) };
}

/** The objects the plans would apply, in their order. */
export const toApply = (plans: ObjectPlan[]) => plans.filter((p) => p.change !== 'unchanged').map((p) => p.object);

/** The plans as a dry run shows them: what is applied, how, then the objects as YAML (Secrets redacted); `also`: further changes. */
export function describeObjectPlans(plans: ObjectPlan[], assumed?: string, also: string[] = []): PlanReport {
  const names = (change: ObjectChange) => plans.filter((p) => p.change === change).map((p) => describeRef(refOf(p.object)));
  const applied = toApply(plans);
  if (!applied.length && !also.length) return { nothing: messages.planObjectsInPlace(names('unchanged')) };
  const changes = messages.planApply(names('create'), names('update'), names('unchanged'), also, applied.length ? toYaml(applied) : '');
  return { changes, ...(assumed ? { assumed } : {}) };
}
