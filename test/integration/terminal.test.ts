// What a person sees in a real terminal: the CLI in tmux (110 columns), the screen read back with capture-pane
// (test/helpers/tmux.ts). The live renderer must redraw in place: each check once, no stale spinner frames left
// behind, also in the scrollback. No Docker, minikube or cluster is needed: the offline sandbox has none of them.
import test from 'ava';
import { BIN, offlineDir, offlineEnv } from '../helpers/offline.js';
import { runInTmux, TMUX } from '../helpers/tmux.js';

const tmuxTest = TMUX ? test : test.skip;

/** `bootstrap ARGS` in tmux, in an offline sandbox (no Docker engine, no minikube, no kubeconfig). */
async function offlineScreen(t: Parameters<typeof offlineDir>[0] & { log(...values: unknown[]): void }, args: string[]) {
  const dir = await offlineDir(t);
  const run = await runInTmux([process.execPath, BIN, ...args], { cwd: dir, env: offlineEnv(dir) });
  t.log(run.screen);
  const lines = run.screen.split('\n');
  return { ...run, count: (pattern: RegExp) => lines.filter((l) => pattern.test(l)).length };
}

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

tmuxTest('doctor with a failing preflight: each check once, no stale spinner lines', async (t) => {
  const { screen, exitCode, count } = await offlineScreen(t, ['doctor']);
  t.is(exitCode, 1);
  t.is(count(/^ *❯ Preflight$/), 1, 'the tree is drawn once');
  t.is(count(/^ +✖ Cannot reach the Docker engine/), 1, 'each failed check once');
  t.is(count(/^ +✖ minikube is not installed/), 1);
  t.is(count(SPINNER), 0, 'no spinner frame left on the screen');
  t.regex(screen, /Timings:\n +[\d.]+s +Preflight \(failed\)/);
});

tmuxTest('up with a failing preflight: the tree redrawn in place, ✖ on the failed checks, then the problem and its fix', async (t) => {
  const { screen, exitCode, count } = await offlineScreen(t, ['up']);
  t.is(exitCode, 1);
  t.is(count(SPINNER), 0, 'no spinner frame left, in the scrollback either');
  t.is(count(/^ *❯ Preflight$/), 1, 'the tree is drawn once');
  for (const failed of [/^ +✖ Cannot reach the Docker engine/, /^ +✖ minikube is not installed/])
    t.is(count(failed), 1, `each failed check once, with ✖: ${failed}`);
  // Every other step once, not started.
  for (const title of [
    'Registry, cluster and certificates',
    'Namespace opa and secrets',
    'OPA and kube-mgmt',
    'Admission webhook',
    'Verify',
  ])
    t.is(count(new RegExp(`^ *◼ ${title}$`)), 1, title);
  // The closing message: the first failure's problem, and under it the fix.
  t.regex(screen, /\n✖ Cannot reach the Docker engine \(connect ENOENT [^\n]*\)\.\n +→ Start Docker/);
  t.regex(screen, /Timings:\n +[\d.]+s +Preflight \(failed\)/);
});

tmuxTest('verify with no cluster: one line saying so, with the fix; no table, no spinner', async (t) => {
  const { screen, exitCode, count } = await offlineScreen(t, ['verify']);
  t.is(exitCode, 1);
  t.is(count(/^✖ Nothing to verify: there is no kubeconfig context for minikube profile 'trusted-registry'\.$/), 1, screen);
  t.is(count(/^ +→ Run `bootstrap up` \(with the same flags\), then verify again/), 1);
  t.is(count(/^✖ /), 1, 'one problem');
  t.is(count(SPINNER), 0);
  t.notRegex(screen, /check +outcome|checks as expected/);
});
