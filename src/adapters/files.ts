// The file system as `watch`, `init-policy` and `verify --junit` use it: following a file across editors' saves,
// copying files, and writing results whole.
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface FileWatcher {
  /** Resolves with the file's content after the next save that changed it, or undefined once closed. */
  next(): Promise<string | undefined>;
  close(): void;
}

/**
 * Follows one file. Editors save by writing in place or by writing another file and renaming it over this one, so
 * the directory is watched and events for this name are collected; a burst of events (one save) settles for
 * `settleMs` before the content is read, and a save that did not change the content is not reported.
 */
export function watchFile(file: string, initialContent: string, settleMs = 60): FileWatcher {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  let last = initialContent;
  let waiting: ((value: string | undefined) => void) | undefined;
  let pending: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const read = () => readFile(file, 'utf8').catch(() => undefined);
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const content = await read();
      if (content === undefined || content === last) return; // mid-rename, or the same bytes again
      // A writer that truncates, then writes a moment later (a busy machine), must not be caught in between:
      // the content counts once it reads the same a settle period later.
      await new Promise((r) => setTimeout(r, settleMs));
      if ((await read()) !== content) return settle();
      if (closed || content === last) return;
      last = content;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve(content);
      } else pending = content;
    }, settleMs);
  };
  const watcher: FSWatcher = fsWatch(dir, (_event, name) => {
    if (!name || name === base) settle();
  });
  return {
    next() {
      if (closed) return Promise.resolve(undefined);
      if (pending !== undefined) {
        const content = pending;
        pending = undefined;
        return Promise.resolve(content);
      }
      return new Promise((resolve) => (waiting = resolve));
    },
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
      waiting?.(undefined);
      waiting = undefined;
    },
  };
}

export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function copyInto(files: { from: string; to: string }[]): Promise<void> {
  for (const { from, to } of files) {
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(from, to);
  }
}

/** Runs `use` on a private copy of `content` named like `name` (what a checker reads is what will be applied). */
export async function withTempCopy<T>(name: string, content: string, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-policy-'));
  try {
    const file = path.join(dir, name);
    await writeFile(file, content);
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `content` (UTF-8) to `file`, creating its directory; through a temporary file, so a reader never sees half of it. */
export async function writeTextFile(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, file);
}
