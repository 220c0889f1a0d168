import type { Ctx } from '../context.js';
import { downTasks } from '../steps/down.js';
import { runTasks, type Io } from '../listr.js';

export async function down(ctx: Ctx, io: Io): Promise<void> {
  await runTasks(downTasks(), ctx, io);
}
