import type { Config } from '../config.js';
import type { Ctx } from '../context.js';
import { messages } from '../messages.js';
import { loadRegistrySpec } from '../registry-spec.js';
import { preflightTask } from '../steps/preflight.js';
import { packageVersion } from '../version.js';
import { runTasks, type Io } from '../listr.js';

/**
 * What doctor prints before the preflight checks: this tool's and Node's versions, then the images `up` deploys, as
 * configured (a config file or flag that changes one shows here); under a heading that says so, since doctor reads no
 * cluster and a running one may hold others. `registryImage` comes from compose/registry.yaml.
 */
export function doctorLines(
  config: Pick<Config, 'opaImage' | 'kubeMgmtImage' | 'trustedImage'>,
  registryImage: string,
  versions: { bootstrap: string; node: string },
): string[] {
  const label = messages.doctorImageLabels;
  const versionRows: [string, string][] = [
    ['bootstrap', versions.bootstrap],
    ['Node.js', versions.node],
  ];
  const imageRows: [string, string][] = [
    [`  ${label.opa}`, config.opaImage],
    [`  ${label.kubeMgmt}`, config.kubeMgmtImage],
    [`  ${label.registry}`, messages.doctorRegistrySource(registryImage)],
    [`  ${label.trusted}`, messages.doctorTrustedImage(config.trustedImage)],
  ];
  const width = Math.max(...[...versionRows, ...imageRows].map(([name]) => name.length));
  const row = ([name, value]: [string, string]) => `${name.padEnd(width)}  ${value}`;
  return [...versionRows.map(row), messages.doctorImagesHeading, ...imageRows.map(row)];
}

export async function doctor(ctx: Ctx, io: Io): Promise<void> {
  const { image } = await loadRegistrySpec(ctx.config.registryPort);
  for (const line of doctorLines(ctx.config, image, { bootstrap: packageVersion(), node: process.versions.node })) io.print(line);
  await runTasks([preflightTask()], ctx, io);
}
