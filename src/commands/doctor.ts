import type { Ctx } from '../context.js';
import { preflightTask } from '../steps/preflight.js';
import { runTasks, type Io } from './run.js';

export async function doctor(ctx: Ctx, io: Io): Promise<void> {
  io.print(`Node.js ${process.versions.node}`);
  await runTasks([preflightTask()], ctx, io);
}
