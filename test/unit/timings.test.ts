// How long each step took: the plain renderer's per-step timer (what CI logs show) and the summary at the end.
import test from 'ava';
import { execa } from 'execa';
import { PRESET_TIMER } from 'listr2';
import { fileURLToPath } from 'node:url';
import { makeListr, type Task } from '../../src/listr.js';
import { formatTimings, watchTimings, type StepTiming } from '../../src/timings.js';
import { makeCtx } from '../helpers/fakes.js';
import { silentListr } from '../helpers/run.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/timed-steps.ts', import.meta.url));

test('formatTimings: one line per step, subtasks indented, durations right-aligned, failures marked, skips left out, total', (t) => {
  const steps: StepTiming[] = [
    { title: 'Preflight', depth: 0, state: 'completed', ms: 420 },
    { title: 'Registry, cluster and certificates', depth: 0, state: 'completed', ms: 64_300 },
    { title: 'Cluster: minikube profile trusted-registry started', depth: 1, state: 'completed', ms: 63_900 },
    { title: 'Registry', depth: 1, state: 'skipped', ms: 0 },
    { title: 'Webhook', depth: 0, state: 'completed', ms: 5_000 },
    { title: 'OPA and kube-mgmt\nsecond line', depth: 0, state: 'failed', ms: 180_000 },
  ];
  t.is(
    formatTimings(steps, 250_100),
    [
      'Timings:',
      '   0.4s  Preflight',
      '   1m4s  Registry, cluster and certificates',
      '   1m3s    Cluster: minikube profile trusted-registry started',
      '     5s  Webhook',
      '   3m0s  OPA and kube-mgmt (failed)',
      '  4m10s  total',
    ].join('\n'),
  );
  t.is(formatTimings([{ title: 'x', depth: 0, state: 'skipped', ms: 0 }], 3), '');
});

test('watchTimings: steps and announced subtasks in start order, with the clock given, failed ones too', async (t) => {
  const ctx = makeCtx(t);
  const clock = ctx.services.fakes.clock;
  const tasks: Task[] = [
    { title: 'one', task: () => clock.sleep(1500) },
    {
      title: 'two',
      task: (_c, task) =>
        task.newListr([
          { title: 'two.a', task: () => clock.sleep(100) },
          { title: 'two.b', skip: () => true, task: () => {} },
        ]),
    },
    {
      title: 'three',
      task: async (_c, task) => {
        await clock.sleep(2000);
        task.title = 'three: renamed while running';
        throw new Error('no');
      },
    },
    { title: 'never', task: () => {} },
  ];
  const listr = silentListr(tasks, ctx);
  const timings = watchTimings(listr.tasks, () => clock.now().getTime());
  await t.throwsAsync(listr.run());
  t.deepEqual(timings(), [
    { title: 'one', depth: 0, state: 'completed', ms: 1500 },
    { title: 'two', depth: 0, state: 'completed', ms: 100 },
    { title: 'two.a', depth: 1, state: 'completed', ms: 100 },
    { title: 'two.b', depth: 1, state: 'skipped', ms: 0 },
    { title: 'three: renamed while running', depth: 0, state: 'failed', ms: 2000 },
  ]);
});

test('makeListr: the live renderer and the plain one both carry the timer', (t) => {
  const ctx = makeCtx(t);
  const options = (isTTY: boolean, env: NodeJS.ProcessEnv) =>
    (
      makeListr([], ctx, { env, isTTY, print: () => {}, warn: () => {} }) as unknown as {
        options: { renderer: string; rendererOptions: { timer?: unknown }; fallbackRendererOptions: { timer?: unknown } };
      }
    ).options;
  const live = options(true, {});
  t.is(live.renderer, 'default');
  t.is(live.rendererOptions.timer, PRESET_TIMER);
  t.is(live.fallbackRendererOptions.timer, PRESET_TIMER);
  const plain = options(false, { CI: 'true' });
  t.is(plain.renderer, 'simple');
  t.is(plain.rendererOptions.timer, PRESET_TIMER);
});

test('the plain renderer (CI) prints each finished step with its duration, and the summary names the slow one', async (t) => {
  const { stdout, stderr } = await execa(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { CI: 'true', NO_COLOR: '1' },
    timeout: 60_000,
  });
  const log = `${stdout}\n${stderr}`;
  t.regex(log, /^✔ Quick step \[0\.[12]s\]$/m, log);
  t.regex(log, /^✔ Slow subtask \[1s\]$/m, log);
  t.regex(log, /^✔ Group \[1s\]$/m, log);
  t.regex(log, /^✖ Failing step \[FAILED: boom\]$/m, log);
  t.regex(
    log,
    /^Timings:\n {2}0\.[12]s {2}Quick step\n {4}1s {2}Group\n {4}1s {4}Slow subtask\n {2}0\.[23]s {2}Failing step \(failed\)\n {4}1s {2}total$/m,
    log,
  );
});
