// `watch`: follow the policy file; on each save, compile, apply, check, and print the decisions that changed.
// `init-policy`: the shipped policy and its tests, copied to start from.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { copyInto, exists, watchFile } from '../adapters/files.js';
import type { Ctx } from '../context.js';
import { onInterrupt } from '../interrupt.js';
import { messages } from '../messages.js';
import { connect } from '../cluster-access.js';
import { ensureEnvironmentUp } from '../environment-check.js';
import { applyPolicySource, compilePolicy, handleSave, runAllChecks, summarize, watchLoop, type WatchDeps } from '../steps/watch.js';
import { TEMPLATES_DIR } from '../templates.js';
import type { Io } from '../listr.js';

export const POLICY_FILES = ['image-policy.rego', 'image_policy_test.rego'];

export async function initPolicy(dir: string, io: Io): Promise<void> {
  const targets = POLICY_FILES.map((name) => ({ from: path.join(TEMPLATES_DIR, 'policy', name), to: path.join(dir, name) }));
  for (const { to } of targets) if (await exists(to)) throw messages.policyCopyExists(to);
  await copyInto(targets);
  const policy = path.join(dir, POLICY_FILES[0]!);
  io.print(
    [
      'Copied the shipped policy and its tests:',
      ...targets.map((t) => `  ${t.to}`),
      `Test them:  opa test ${dir}`,
      `Then:       bootstrap watch --policy-file ${policy}   (each save is applied to the cluster and judged)`,
    ].join('\n'),
  );
}

export async function watch(ctx: Ctx, io: Io): Promise<void> {
  // Refused before anything is read: a save would apply the policy and create the checks' pods and workloads.
  if (ctx.options.dryRun) throw messages.watchNoDryRun();
  const file = ctx.config.policyFile;
  if (!file) throw messages.watchNeedsPolicyFile();
  ctx.registryHost = ctx.config.registryHost ?? (await ctx.services.state.readRecord()).registryHost;
  await ensureEnvironmentUp(ctx, 'watch');
  const kube = await connect(ctx);
  const source = await readFile(file, 'utf8');
  const deps: WatchDeps = {
    file,
    next: async () => undefined,
    compile: (text) => compilePolicy(ctx, file, text),
    apply: (text) => applyPolicySource(ctx, kube, text),
    check: () => runAllChecks(ctx, kube),
    print: (text) => io.print(text),
    now: () => performance.now(),
  };
  const installed = await runAllChecks(ctx, kube);
  io.print(`installed policy: ${summarize(installed)}`);
  const start = await handleSave(deps, source, installed, `${file} as it is now`);
  const watcher = watchFile(file, source);
  deps.next = () => watcher.next();
  onInterrupt(() => watcher.close());
  io.print(`watching ${file}; save it to see the decisions change (Ctrl-C to stop)`);
  const saves = await watchLoop(deps, start);
  io.print(`stopped watching ${file} after ${saves} save${saves === 1 ? '' : 's'}`);
}
