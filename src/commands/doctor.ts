import type { Config } from '../config.js';
import type { Ctx } from '../context.js';
import { loadRegistrySpec } from '../registry-spec.js';
import { preflightTask } from '../steps/preflight.js';
import { packageVersion } from '../version.js';
import { runTasks, type Io } from '../listr.js';

/**
 * What doctor prints before the preflight checks: this tool's and Node's versions, and the images `up` deploys
 * (as configured, so a config file or flag that changes one shows here). `registryImage` comes from compose/registry.yaml.
 */
export function doctorLines(
  config: Pick<Config, 'opaImage' | 'kubeMgmtImage' | 'trustedImage'>,
  registryImage: string,
  versions: { bootstrap: string; node: string },
): string[] {
  const rows: [string, string][] = [
    ['bootstrap', versions.bootstrap],
    ['Node.js', versions.node],
    ['OPA image', config.opaImage],
    ['kube-mgmt image', config.kubeMgmtImage],
    ['registry image', `${registryImage} (compose/registry.yaml)`],
    ['trusted image', `${config.trustedImage} (copied into the registry for the ok pod)`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`);
}

export async function doctor(ctx: Ctx, io: Io): Promise<void> {
  const { image } = await loadRegistrySpec(ctx.config.registryPort);
  for (const line of doctorLines(ctx.config, image, { bootstrap: packageVersion(), node: process.versions.node })) io.print(line);
  await runTasks([preflightTask()], ctx, io);
}
