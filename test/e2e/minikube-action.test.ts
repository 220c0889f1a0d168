// The reusable GitHub Action's run steps on real minikube: scripts/action.sh up, verify and down with the inputs as the
// Action passes them (environment variables), exactly the commands action.yml runs after installing minikube and
// `npm ci`. Its outputs (GITHUB_OUTPUT) and the JUnit results are read back.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { execa } from 'execa';
import { parse, type TestSuites } from 'junit2json';
import { readMinikubeEnv } from '../helpers/minikube-env.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const env = readMinikubeEnv();
let work: string;

/** The Action's inputs at their defaults, as action.yml passes them to each run step (empty strings included). */
const DEFAULT_INPUTS = {
  BOOTSTRAP_CONFIG: '',
  BOOTSTRAP_SUITE: 'article',
  BOOTSTRAP_REQUIRE_DIGEST: 'false',
  BOOTSTRAP_TRUST: '',
  BOOTSTRAP_RESULTS_DIR: 'bootstrap-results',
};

async function step(name: 'up' | 'verify' | 'down', inputs: Record<string, string> = {}) {
  const result = await execa('bash', [path.join(repo, 'scripts/action.sh'), name], {
    cwd: work, // the workspace: relative inputs are taken from here, as in a job
    reject: false,
    all: true,
    env: {
      ...env,
      CI: 'true',
      XDG_STATE_HOME: path.join(work, 'state'),
      GITHUB_OUTPUT: path.join(work, 'github-output'),
      ...DEFAULT_INPUTS,
      ...inputs,
    },
  });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}

test.before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'bootstrap-action-'));
});

test.after.always(async () => {
  await step('down');
  await rm(work, { recursive: true, force: true });
});

test.serial('action.sh up: the sandbox on real minikube, each finished step with its duration in the log', async (t) => {
  const up = await step('up');
  t.is(up.exitCode, 0, up.output);
  t.regex(up.output, /✔ Cluster: minikube profile trusted-registry (created|already running|started) \[[\dms.]+\]/);
  t.regex(up.output, /Timings:\n(\s+[\dms.]+ {2}.+\n)+/);
  t.log(
    up.output
      .split('\n')
      .filter((line) => /^✔ [A-Z]/.test(line))
      .join('\n'),
  );
});

test.serial('action.sh verify: outputs passed/failed/junit, and JUnit XML with one test case per check', async (t) => {
  const verify = await step('verify', { BOOTSTRAP_RESULTS_DIR: 'results' });
  t.is(verify.exitCode, 0, verify.output);
  const outputs = Object.fromEntries(
    (await readFile(path.join(work, 'github-output'), 'utf8'))
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  t.is(outputs.passed, '3');
  t.is(outputs.failed, '0');
  t.is(outputs.junit, path.join(work, 'results', 'junit.xml'));
  const suites = (await parse(await readFile(outputs.junit!, 'utf8'))) as TestSuites;
  const cases = suites.testsuite?.[0]?.testcase ?? [];
  t.is(cases.length, 3);
  t.true(cases.every((c) => !c.failure && !c.error));
});

test.serial('action.sh down: removes the sandbox', async (t) => {
  const down = await step('down');
  t.is(down.exitCode, 0, down.output);
  t.regex(down.output, /Cluster: minikube profile trusted-registry deleted/);
});
