// `watch`: edit the policy, see the cluster's answers change. Each save is compiled by the real OPA, applied to the
// policy ConfigMap, waited for until kube-mgmt has loaded it, and judged by the article's checks and the extended
// matrix through the real admission path; only the decisions that changed since the last save are printed.
import path from 'node:path';
import { withTempCopy } from '../adapters/files.js';
import type { KubeClient, KubeObject } from '../adapters/kube.js';
import type { CheckResult, Ctx } from '../context.js';
import { errorText, formatProblem, isBootstrapError } from '../errors.js';
import { MANAGED_BY, OPA_NAMESPACE, PART_OF, POLICY_LABEL } from '../manifests.js';
import { messages } from '../messages.js';
import { applyPolicyConfigMap, opaStartedAt, waitUntilServing } from '../opa-observe.js';
import { runArticleSuite, runExtendedSuite } from '../admission-checks.js';

export const POLICY_CONFIGMAP = 'image-policy';
export const POLICY_KEY = 'image-policy.rego';

/** OPA's `check --format=json` errors as `file:line:column: code: message` lines; other output as it is. */
export function formatOpaErrors(output: string): string {
  try {
    const parsed = JSON.parse(output) as {
      errors?: { message?: string; code?: string; location?: { file?: string; row?: number; col?: number } }[];
    };
    if (!parsed.errors?.length) return output.trim();
    return parsed.errors
      .map(
        (e) => `${e.location?.file ?? '?'}:${e.location?.row ?? '?'}:${e.location?.col ?? '?'}: ${e.code ?? 'error'}: ${e.message ?? ''}`,
      )
      .join('\n');
  } catch {
    return output.trim();
  }
}

/**
 * The real OPA's verdict on this content of the file (a local opa binary, else the OPA image through Docker):
 * undefined when it compiles. The content is checked as a private copy, so what compiled is exactly what is applied
 * even if the file changes meanwhile; OPA's messages name the user's file.
 */
export async function compilePolicy(ctx: Ctx, file: string, source: string): Promise<string | undefined> {
  const absolute = path.resolve(file);
  const opa = await ctx.services.opaBinary();
  return withTempCopy(path.basename(file), source, async (copy) => {
    const result = opa
      ? await ctx.services.cmd.run(opa, ['check', '--strict', '--format=json', copy])
      : await (
          await ctx.services.docker()
        ).runOnce(ctx.config.opaImage, ['check', '--strict', '--format=json', copy], [{ host: copy, container: copy }]);
    return result.exitCode === 0 ? undefined : formatOpaErrors((result.stderr || result.stdout).split(copy).join(absolute));
  });
}

/** The policy ConfigMap as up made it, with this source for the image policy (the settings stay as installed). */
export function withPolicySource(live: KubeObject & { data?: Record<string, string> }, source: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: POLICY_CONFIGMAP, namespace: OPA_NAMESPACE, labels: { ...POLICY_LABEL, ...MANAGED_BY, ...PART_OF } },
    data: { ...live.data, [POLICY_KEY]: source },
  };
}

/** Applies the source and waits until kube-mgmt has loaded it into OPA (or throws its error). */
export async function applyPolicySource(ctx: Ctx, kube: KubeClient, source: string): Promise<void> {
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: OPA_NAMESPACE, name: POLICY_CONFIGMAP };
  const live = await kube.get<KubeObject & { data?: Record<string, string> }>(ref);
  if (!live) throw messages.environmentNotUp('watch', `there is no policy ConfigMap ${OPA_NAMESPACE}/${POLICY_CONFIGMAP}`);
  const desired = withPolicySource(live, source);
  await applyPolicyConfigMap(kube, desired, await opaStartedAt(kube));
  await waitUntilServing(ctx, kube, [desired]);
}

export async function runAllChecks(ctx: Ctx, kube: KubeClient): Promise<CheckResult[]> {
  const [article, extended] = await Promise.all([runArticleSuite(ctx, kube), runExtendedSuite(ctx, kube)]);
  return [...article, ...extended];
}

export interface DecisionChange {
  name: string;
  before: string;
  after: string;
}

/** The decisions whose outcome differs between two runs, in the order of the later run (new cases, too). */
export function diffDecisions(before: CheckResult[], after: CheckResult[]): DecisionChange[] {
  const previous = new Map(before.map((c) => [c.name, c.actual]));
  const changes = after
    .filter((c) => previous.get(c.name) !== c.actual)
    .map((c) => ({ name: c.name, before: previous.get(c.name) ?? '(new case)', after: c.actual }));
  const now = new Set(after.map((c) => c.name));
  return [...changes, ...before.filter((c) => !now.has(c.name)).map((c) => ({ name: c.name, before: c.actual, after: '(case gone)' }))];
}

export function formatChanges(changes: DecisionChange[]): string {
  const width = (pick: (c: DecisionChange) => string, head: string) => Math.max(head.length, ...changes.map((c) => pick(c).length));
  const nameWidth = width((c) => c.name, 'case');
  const beforeWidth = width((c) => c.before, 'before');
  return [
    `  ${'case'.padEnd(nameWidth)}  ${'before'.padEnd(beforeWidth)}  after`,
    ...changes.map((c) => `  ${c.name.padEnd(nameWidth)}  ${c.before.padEnd(beforeWidth)}  ${c.after}`),
  ].join('\n');
}

export const summarize = (checks: CheckResult[]) =>
  `${checks.length} decisions: ${checks.filter((c) => c.actual === 'admitted').length} admitted, ${checks.filter((c) => c.actual !== 'admitted').length} denied`;

export interface WatchDeps {
  file: string;
  /** The next saved content; undefined when watching stops (Ctrl-C). */
  next(): Promise<string | undefined>;
  /** OPA's errors (file:line:column), or undefined when the source compiles. */
  compile(source: string): Promise<string | undefined>;
  apply(source: string): Promise<void>;
  check(): Promise<CheckResult[]>;
  print(text: string): void;
  now(): number;
}

/** One save: compile, apply, check, print what changed. Returns the decisions to compare the next save with. */
export async function handleSave(deps: WatchDeps, source: string, last: CheckResult[], label: string): Promise<CheckResult[]> {
  const start = deps.now();
  const compileErrors = await deps.compile(source);
  if (compileErrors) {
    deps.print(formatProblem(`${label}: ${deps.file} does not compile; nothing was applied:\n${compileErrors}`));
    return last;
  }
  try {
    await deps.apply(source);
  } catch (error) {
    if (!isBootstrapError(error)) throw error;
    deps.print(formatProblem(`${label}: ${error.problem}`));
    return last;
  }
  const now = await deps.check();
  const changes = diffDecisions(last, now);
  const ms = Math.round(deps.now() - start);
  if (!changes.length) deps.print(`${label}: no decision changed (${summarize(now)}) in ${ms} ms`);
  else deps.print(`${label}: ${changes.length} decision${changes.length === 1 ? '' : 's'} changed in ${ms} ms\n${formatChanges(changes)}`);
  return now;
}

/** Follows the file until `next()` says stop. The decisions before the first save are `initial`. */
export async function watchLoop(deps: WatchDeps, initial: CheckResult[]): Promise<number> {
  let last = initial;
  let save = 0;
  for (;;) {
    const source = await deps.next();
    if (source === undefined) return save;
    save += 1;
    try {
      last = await handleSave(deps, source, last, `save ${save}`);
    } catch (error) {
      deps.print(formatProblem(`save ${save}: ${errorText(error)}`));
    }
  }
}
