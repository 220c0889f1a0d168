// The registry container (compose/registry.yaml, created through dockerode) and the trusted image in it.
import { localRegistryUrl, type Ctx } from '../context.js';
import { plannedTask, type Task } from '../listr.js';
import { messages } from '../messages.js';
import {
  applyRegistryPlan,
  applyTrustedImagePlan,
  describeRegistryPlan,
  describeTrustedImagePlan,
  readRegistryPlan,
  readTrustedImagePlan,
  type RegistryPlan,
  type TrustedImagePlan,
} from '../registry-container.js';

/** Whether the engine has `image` already, for a dry run's plan (no pull then); false when it cannot be asked. */
const imageHere = async (ctx: Ctx, image: string) =>
  (await ctx.services
    .docker()
    .then((docker) => docker.imageExists(image))
    .catch(() => false)) === true;

export function registryTasks(): Task[] {
  return [
    plannedTask<RegistryPlan>('Registry container', (ctx, task) => ({
      read: () => readRegistryPlan(ctx),
      report: async (plan) => {
        // The trusted image's plan builds on this: a registry not running as wanted is not asked what it holds.
        if (plan.action !== 'none') ctx.registryUnread = messages.planRegistryNotRunning(plan.spec.name);
        return describeRegistryPlan(
          plan,
          plan.action === 'create' || plan.action === 'recreate' ? await imageHere(ctx, plan.spec.image) : true,
        );
      },
      apply: async (plan) => {
        const action = await applyRegistryPlan(ctx, plan, task);
        const said: Record<typeof action, string> = {
          none: 'already running',
          start: 'started',
          create: 'created',
          recreate: 'recreated',
        };
        task.title = `Registry container: ${said[action]} on ${localRegistryUrl(ctx)}`;
      },
    })),
    plannedTask<TrustedImagePlan>('Trusted image', (ctx, task) => ({
      read: () => readTrustedImagePlan(ctx),
      report: async (plan) => describeTrustedImagePlan(plan, plan.present || (await imageHere(ctx, plan.source))),
      apply: async (plan) => {
        const pushed = await applyTrustedImagePlan(ctx, plan, task);
        task.title = `Trusted image: ${ctx.config.trustedImage} ${pushed ? 'pushed to' : 'already in'} the registry`;
      },
    })),
  ];
}
