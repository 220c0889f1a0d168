// The reusable GitHub Action's run steps on real minikube: scripts/action.sh up, verify and down with the inputs as the
// Action passes them (environment variables), exactly the commands action.yml runs after installing minikube and
// `npm ci`. Its outputs (GITHUB_OUTPUT) and the JUnit results are read back. One profile throughout, in order: the
// defaults; then every input set otherwise (up converges the same sandbox); then a verify that misses checks; then
// down, as `if: always()` runs it after that failure.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import { execa } from 'execa';
import { parse, type TestSuites } from 'junit2json';
import { ARTICLE_CASES, loadExtendedCases } from '../../src/admission-checks.js';
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

/** GITHUB_OUTPUT as GitHub reads it: name=value lines, a later value of a name replacing the earlier one. */
async function outputs(): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await readFile(path.join(work, 'github-output'), 'utf8'))
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** The test cases of the JUnit file the verify step wrote. */
async function junitCases(file: string) {
  const suites = (await parse(await readFile(file, 'utf8'))) as TestSuites;
  return suites.testsuite?.[0]?.testcase ?? [];
}

interface VerifyReport {
  passed: number;
  failed: number;
  registryHost: string;
  checks: { name: string; expected: string; actual: string; passed: boolean }[];
}
/** verify's JSON, from the file the verify step names in the output `json` (its first line opening with "{" on). */
async function verifyReport(file: string): Promise<VerifyReport> {
  const text = await readFile(file, 'utf8');
  return JSON.parse(text.slice(text.search(/^\{/m))) as VerifyReport;
}

const kc = new k8s.KubeConfig();
const apiClient = <T extends k8s.ApiType>(api: new (config: k8s.Configuration) => T) => {
  kc.loadFromFile(env.KUBECONFIG);
  kc.setCurrentContext('trusted-registry');
  return kc.makeApiClient(api);
};

/** A server-side dry-run pod creation in namespace default: undefined when admitted, else the API server's message. */
async function dryRunPod(image: string): Promise<string | undefined> {
  const body = { metadata: { name: 'e2e-action-probe' }, spec: { containers: [{ name: 'c', image }] } };
  try {
    await apiClient(k8s.CoreV1Api).createNamespacedPod({ namespace: 'default', body, dryRun: 'All' });
    return undefined;
  } catch (error) {
    const text = (error as { body?: string }).body;
    return (text && (JSON.parse(text) as { message?: string }).message) || String(error);
  }
}

/** Every input set otherwise: a config file (relative to the workspace), two more registries, digests required. */
const STRICT_INPUTS = {
  BOOTSTRAP_CONFIG: 'ci/bootstrap.yaml',
  BOOTSTRAP_SUITE: 'extended',
  BOOTSTRAP_REQUIRE_DIGEST: 'true',
  BOOTSTRAP_TRUST: 'ghcr.io, quay.io', // as an Action user writes it: comma and space
  BOOTSTRAP_RESULTS_DIR: 'strict-results',
};
/** In the config file only, so it shows that up read the file: the webhook's timeout (the default is 10). */
const CONFIG_WEBHOOK_TIMEOUT = 7;
/** Set by the verify that misses checks, for the down after it. */
let missedVerify = false;

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
  const written = await outputs();
  t.is(written.passed, '3');
  t.is(written.failed, '0');
  t.is(written.junit, path.join(work, 'results', 'junit.xml'));
  const cases = await junitCases(written.junit!);
  t.is(cases.length, 3);
  t.true(cases.every((c) => !c.failure && !c.error));
});

test.serial(
  'action.sh up and verify with every input set: config file, trusted-registries, require-digest, suite extended; each changes what the cluster answers',
  async (t) => {
    await mkdir(path.join(work, 'ci'));
    await writeFile(path.join(work, STRICT_INPUTS.BOOTSTRAP_CONFIG), `webhookTimeoutSeconds: ${CONFIG_WEBHOOK_TIMEOUT}\n`);
    const up = await step('up', STRICT_INPUTS); // the sandbox of the tests above, converged to these settings
    t.is(up.exitCode, 0, up.output);
    t.regex(up.output, /PASS {2}trusted and pinned by digest \(pod-ok\.yaml@sha256\) +admitted/);

    const verify = await step('verify', STRICT_INPUTS);
    t.is(verify.exitCode, 0, verify.output);
    const written = await outputs();
    const report = await verifyReport(written.json!);
    // The extended suite under require-digest: the article's three pods, the ok pod pinned by digest, the bypass matrix.
    const expected = ARTICLE_CASES.length + 1 + (await loadExtendedCases(report.registryHost)).length;
    t.is(written.passed, String(expected));
    t.is(written.failed, '0');
    t.is(written.junit, path.join(work, 'strict-results', 'junit.xml'));
    const cases = await junitCases(written.junit!);
    t.is(cases.length, expected);
    t.true(cases.every((c) => !c.failure && !c.error));

    // require-digest: the trusted, tag-only image the default policy admits is denied, in verify's own rows.
    const notPinned = `denied: Image '${report.registryHost}/nginx:1.21.1' is not pinned by digest`;
    for (const name of ['trusted and pinned (pod-ok.yaml)', 'create: article-ok']) {
      const row = report.checks.find((c) => c.name === name);
      t.is(row?.actual, notPinned, name);
      t.true(row?.passed, name);
    }
    // trusted-registries: both registries are trusted, another is not.
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    t.is(await dryRunPod(`ghcr.io/org/app@${digest}`), undefined);
    t.is(await dryRunPod(`quay.io/org/app@${digest}`), undefined);
    t.regex((await dryRunPod(`registry.example.com/org/app@${digest}`)) ?? 'admitted', /comes from untrusted registry$/);
    t.regex((await dryRunPod('ghcr.io/org/app:1.0')) ?? 'admitted', /Image 'ghcr\.io\/org\/app:1\.0' is not pinned by digest$/);
    // config: its setting reached the webhook up registered.
    const webhook = await apiClient(k8s.AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
    t.is(webhook.webhooks?.[0]?.timeoutSeconds, CONFIG_WEBHOOK_TIMEOUT);
  },
);

test.serial(
  'action.sh verify that misses checks: non-zero exit, failed > 0 in the outputs, each miss a JUnit <failure> with expected vs actual',
  async (t) => {
    // The sandbox still has the stricter policy from the test above; this verify expects the default one (the Action's
    // default inputs), as a later verify with other inputs would on a sandbox kept with keep: 'true'.
    const verify = await step('verify', { BOOTSTRAP_RESULTS_DIR: 'missed-results' });
    missedVerify = true;
    t.not(verify.exitCode, 0, verify.output);
    t.regex(verify.output, /verify: 0\/3 checks as expected .*; missed: /);
    const written = await outputs();
    t.is(written.passed, '0');
    t.is(written.failed, String(ARTICLE_CASES.length));
    t.is(written.junit, path.join(work, 'missed-results', 'junit.xml'));
    const report = await verifyReport(written.json!);
    const cases = await junitCases(written.junit!);
    t.is(cases.length, ARTICLE_CASES.length);
    t.true(cases.every((c) => c.failure?.length === 1 && !c.error));
    const okPod = cases.find((c) => c.name === 'trusted and pinned (pod-ok.yaml)')?.failure?.[0];
    const actual = `denied: Image '${report.registryHost}/nginx:1.21.1' is not pinned by digest`;
    t.is(okPod?.message, `expected admitted, got ${actual}`);
    t.is(okPod?.type, 'mismatch');
    t.is(okPod?.inner, `expected: admitted\nactual:   ${actual}`);
  },
);

test.serial('action.sh down: removes the sandbox, after a verify that missed checks too (the Action runs it if: always())', async (t) => {
  t.true(missedVerify, 'runs after the verify that missed checks');
  const down = await step('down');
  t.is(down.exitCode, 0, down.output);
  t.regex(down.output, /Cluster: minikube profile trusted-registry deleted/);
});
