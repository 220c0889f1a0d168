// The registry container (compose/registry.yaml, created through dockerode) and the trusted image in it.
import { formatCommand } from '../adapters/cmd.js';
import { trustedImagePath } from '../config.js';
import { localRegistry, localRegistryUrl, type Ctx } from '../context.js';
import { planRegistryAccess } from '../registry-access.js';
import { convergeRegistry, pushTrustedImage } from '../registry-container.js';
import { dryRunSkip, type Task } from '../listr.js';

const describeCreate = (ctx: Ctx) =>
  `docker compose -f compose/registry.yaml up -d (as dockerode calls; published on ${planRegistryAccess(ctx.config)
    .listenAddresses.map((a) => `${a}:${ctx.config.registryPort}`)
    .join(', ')})`;

export function registryTasks(): Task[] {
  return [
    {
      title: 'Registry container',
      skip: dryRunSkip(describeCreate),
      task: async (ctx, task) => {
        const action = await convergeRegistry(ctx, task);
        const said: Record<typeof action, string> = { none: 'already running', start: 'started', create: 'created', recreate: 'recreated' };
        task.title = `Registry container: ${said[action]} on ${localRegistryUrl(ctx)}`;
      },
    },
    {
      title: 'Trusted image',
      skip: dryRunSkip((ctx) => {
        const target = `${localRegistry(ctx)}/${trustedImagePath(ctx.config.trustedImage).ref}`;
        return [
          formatCommand('docker', ['pull', ctx.config.trustedImage]),
          formatCommand('docker', ['tag', ctx.config.trustedImage, target]),
          formatCommand('docker', ['push', target]),
        ].join(' && ');
      }),
      task: async (ctx, task) => {
        const pushed = await pushTrustedImage(ctx, task);
        task.title = `Trusted image: ${ctx.config.trustedImage} ${pushed ? 'pushed to' : 'already in'} the registry`;
      },
    },
  ];
}
