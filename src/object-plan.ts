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

/**
 * Whether `live` holds every field of `want` with the same value: objects field by field, lists item by item and of
 * the same length (a list we set is ours whole). Fields the API server or other managers add are not compared.
 */
export function holds(live: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(live) && live.length === want.length && want.every((item, i) => holds(live[i], item));
  if (want && typeof want === 'object') {
    if (!live || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(want).every(([key, value]) => holds((live as Record<string, unknown>)[key], value));
  }
  return live === want;
}

/**
 * What applying `desired` (our field manager) would do to `live`: create it, update it, or nothing, when every field we
 * set already has our value. A field a former version of bootstrap set and this one no longer does is not seen.
 */
export function objectChange(live: KubeObject | undefined, desired: KubeObject): ObjectChange {
  if (!live) return 'create';
  return holds(live, desired) ? 'unchanged' : 'update';
}

/** Reads each object (gets, side by side) and plans it; without a cluster (`kube` undefined: a dry run that cannot read it), every one is a create. */
export async function readObjectPlans(kube: KubeClient | undefined, objects: KubeObject[]): Promise<ObjectPlan[]> {
  return Promise.all(
    objects.map(async (object) => ({ object, change: objectChange(kube ? await kube.get(refOf(object)) : undefined, object) })),
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
