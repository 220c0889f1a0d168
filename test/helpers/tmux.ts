// What a person sees in a real terminal: a command run in a detached tmux session of a given size, on a tmux server
// of its own (its own socket: no one else's sessions are touched), the screen read back with capture-pane, scrollback
// included, so that frames a live view failed to redraw in place are seen even when they scrolled off the top.
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { until as poll } from './poll.js';

/** tmux's absolute path (the command may run with a PATH that has no tmux), or undefined when it is not installed. */
export const TMUX = (process.env.PATH ?? '')
  .split(path.delimiter)
  .map((dir) => path.join(dir, 'tmux'))
  .find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

export interface TmuxOptions {
  /** The command's environment: this process's, without CI (a person's terminal), with these set; undefined unsets. */
  env?: Record<string, string | undefined>;
  /** The terminal's size (default 110×40; no status line, so the command has every row). */
  cols?: number;
  rows?: number;
  /** Stop once the screen shows this (default: once the command has exited). */
  until?: RegExp | ((screen: string) => boolean);
  /** How long to wait for `until` or the exit before failing with the screen so far (default 60 s). */
  timeoutMs?: number;
  /** Where the command runs (default: this process's working directory). */
  cwd?: string;
}

export interface TmuxRun {
  /** The screen as text, scrollback first; trailing blank lines removed. */
  screen: string;
  /** The command's exit status; undefined when `until` matched while it was still running. */
  exitCode: number | undefined;
}

/**
 * Runs `argv` (as given: no shell parses it) in a fresh tmux server and returns the screen once `until` matches or the
 * command has exited. The session and its server are gone when it returns.
 */
export async function runInTmux(argv: string[], options: TmuxOptions = {}): Promise<TmuxRun> {
  if (!TMUX) throw new Error('tmux is not installed (apt-get install -y tmux)');
  const { cols = 110, rows = 40, timeoutMs = 60_000, cwd = process.cwd() } = options;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, CI: undefined, ...options.env })) if (value !== undefined) env[key] = value;
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-tmux-'));
  const socket = ['-S', path.join(dir, 'socket')];
  const tmux = (...args: string[]) => execa(TMUX!, [...socket, ...args]);
  const screen = async () => (await tmux('capture-pane', '-p', '-S', '-', '-t', 'run')).stdout.replace(/\n+$/, '');
  // The exit status, as the shell wrapped around the command writes it (tmux's own pane_dead_status is lost when a
  // command exits before tmux has recorded its process).
  const statusFile = path.join(dir, 'status');
  const exited = async () => {
    const status = await readFile(statusFile, 'utf8').catch(() => '');
    return /^\d+\n$/.test(status) ? Number(status) : undefined;
  };
  const matches = (text: string) =>
    options.until instanceof RegExp ? options.until.test(text) : options.until ? options.until(text) : false;
  try {
    // The pane stays after the command exits (its screen and exit status can still be read); every row is the pane's.
    await writeFile(
      path.join(dir, 'tmux.conf'),
      ['set -g remain-on-exit on', 'set -g remain-on-exit-format ""', 'set -g status off', 'set -g history-limit 10000', ''].join('\n'),
    );
    // The server is started with the command's environment, which its first session's pane inherits.
    const session = ['new-session', '-d', '-s', 'run', '-x', String(cols), '-y', String(rows), '-c', cwd];
    const wrapped = ['/bin/sh', '-c', '"$@"; echo $? >"$0"', statusFile, ...argv];
    await execa(TMUX!, [...socket, '-f', path.join(dir, 'tmux.conf'), ...session, ...wrapped], { env, extendEnv: false });
    await poll(
      'the command to finish in tmux',
      async () => (await exited()) !== undefined || matches(await screen()),
      timeoutMs,
      100,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; the screen:\n${await screen()}`);
    });
    return { screen: await screen(), exitCode: await exited() };
  } finally {
    await tmux('kill-server').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
