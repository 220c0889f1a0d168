// What a person sees in a real terminal: the CLI in tmux (110 columns), the screen read back with capture-pane.
// The live renderer must redraw in place: each check once, no stale spinner frames left behind.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { execa } from 'execa';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const hasTmux = (await execa('tmux', ['-V'], { reject: false }).catch(() => undefined))?.exitCode === 0;

/** Runs `bootstrap ARGS` in a detached tmux session of 110×40 and returns the screen once the command has ended. */
async function screen(args: string[], env: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-tmux-'));
  const session = `bootstrap-${process.pid}-${Date.now()}`;
  const done = path.join(dir, 'done');
  const exports = Object.entries(env).map(([k, v]) => `${k}='${v}'`);
  const command = `cd '${repo}' && env -u CI ${exports.join(' ')} node bin/bootstrap.js ${args.join(' ')}; touch '${done}'; sleep 60`;
  await execa('tmux', ['new-session', '-d', '-s', session, '-x', '110', '-y', '40', command]);
  try {
    for (let i = 0; i < 120; i++) {
      if ((await execa('test', ['-e', done], { reject: false })).exitCode === 0) break;
      await delay(250);
    }
    return (await execa('tmux', ['capture-pane', '-p', '-t', session])).stdout;
  } finally {
    await execa('tmux', ['kill-session', '-t', session], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
}

(hasTmux ? test : test.skip)('a failing preflight in a real terminal: each check once, no stale spinner lines', async (t) => {
  const stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-tmux-state-'));
  t.teardown(() => rm(stateHome, { recursive: true, force: true }));
  // No Docker engine and no minikube here: every check fails, quickly and the same way each time.
  const text = await screen(['doctor'], {
    DOCKER_HOST: `unix://${stateHome}/no-docker.sock`,
    PATH: path.dirname(process.execPath),
    XDG_STATE_HOME: stateHome,
    TERM: 'xterm-256color',
  });
  t.log(text);
  const lines = text.split('\n');
  const count = (pattern: RegExp) => lines.filter((l) => pattern.test(l)).length;
  t.is(count(/^ *❯ Preflight$/), 1, 'the tree is drawn once');
  t.is(count(/^ +✖ Cannot reach the Docker engine/), 1, 'each failed check once');
  t.is(count(/^ +✖ minikube is not installed/), 1);
  t.is(count(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/), 0, 'no spinner frame left on the screen');
  t.regex(text, /Timings:\n +[\d.]+s +Preflight \(failed\)/);
});
