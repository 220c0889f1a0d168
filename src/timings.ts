// How long each step took: recorded from listr2's task events while a command runs, summarised at its end,
// so a slow step (a cold minikube start, an image pull) is named in a CI log.
import { ListrTaskEventType, ListrTaskState, parseTimer, type ListrTaskObject } from 'listr2';

export interface StepTiming {
  /** The step's title when it ended (titles carry results, e.g. "Docker engine: Docker 27.5.1"). */
  title: string;
  /** 0 for a command's steps, 1 for their subtasks. */
  depth: number;
  state: 'completed' | 'failed' | 'skipped' | 'running';
  /** Milliseconds from start to end (to now, while running). */
  ms: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTask = ListrTaskObject<any, any, any>;

/**
 * Follows `tasks` (a Listr's top-level tasks) and the subtasks they announce, one level down. Returns a function
 * that lists the timings so far, in start order. `now()` is in milliseconds.
 */
export function watchTimings(tasks: AnyTask[], now: () => number): () => StepTiming[] {
  const entries: { task: AnyTask; depth: number; start: number; end?: number }[] = [];
  const follow = (task: AnyTask, depth: number) => {
    task.on(ListrTaskEventType.STATE, (state: ListrTaskState) => {
      if (state === ListrTaskState.STARTED) entries.push({ task, depth, start: now() });
      else if (state === ListrTaskState.COMPLETED || state === ListrTaskState.FAILED || state === ListrTaskState.SKIPPED) {
        const entry = entries.find((e) => e.task === task);
        if (entry && entry.end === undefined) entry.end = now();
      }
    });
    if (depth === 0) task.on(ListrTaskEventType.SUBTASK, (subtasks: AnyTask[]) => subtasks.forEach((sub) => follow(sub, depth + 1)));
  };
  tasks.forEach((task) => follow(task, 0));
  return () =>
    entries
      .filter((e) => e.task.hasTitle())
      .map((e) => ({
        title: e.task.title!,
        depth: e.depth,
        state: e.task.hasFailed() ? 'failed' : e.task.isSkipped() ? 'skipped' : e.end === undefined ? 'running' : 'completed',
        ms: (e.end ?? now()) - e.start,
      }));
}

/** listr2's own duration format (as its timer shows): `0.4s`, `12s`, `1m5s`. */
export const duration = (ms: number) => parseTimer(ms);

/**
 * The summary printed at the end of a command: one line per step (subtasks indented), the duration right-aligned
 * in front, failed steps marked; then the total. Skipped steps are left out (they took no time). Empty when nothing ran.
 */
export function formatTimings(timings: StepTiming[], totalMs: number): string {
  const shown = timings.filter((t) => t.state !== 'skipped');
  if (!shown.length) return '';
  const cells = shown.map((t) => duration(t.ms));
  const width = Math.max(...cells.map((c) => c.length), duration(totalMs).length);
  const lines = shown.map((t, i) => {
    const mark = t.state === 'failed' ? ' (failed)' : t.state === 'running' ? ' (stopped)' : '';
    return `  ${cells[i]!.padStart(width)}  ${'  '.repeat(t.depth)}${t.title.split('\n')[0]}${mark}`;
  });
  return ['Timings:', ...lines, `  ${duration(totalMs).padStart(width)}  total`].join('\n');
}
