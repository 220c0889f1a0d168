// `npm run bench`: bootstrap against the article's manual steps, on real minikube (scripts/testbed/minikube-up, either
// driver), used as an existing cluster so that only the sandbox comes and goes between runs (minikube start alone is
// measured by `npm run bench:minikube`).  npm run bench [-- --runs N | --quick] [--out FILE]
//
// Prints ONE table (stdout; progress goes to stderr) and writes the same figures to bench/results.json.
// Every figure is a median with its spread (min–max over runs, p10–p90 over requests), all from this invocation.
// Per iteration, in this order so drift hits both sides alike:
//   baseline.sh up (timed, rendering excluded) → baseline.sh down → cold `up` (fresh XDG_STATE_HOME, nothing in the
//   cluster) → converged `up` → `verify` → `down --keep-registry` (then wait until namespace opa is gone).
// Then `--help` (hyperfine if installed), the webhook's cost (dry-run pod creations with and without the webhook,
// `rounds` = runs), OPA's own decision time (`opa bench`), and the CLI's peak RSS (from the up runs).
// The registry container and the image push are excluded from both sides: a warm-up `up` makes sure the registry
// runs and holds the trusted image before anything is measured, and `down --keep-registry` keeps it.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { minikubeCliEnv, readMinikubeEnv } from '../../test/helpers/minikube-env.js';
import { startWatch } from '../../test/helpers/watch-process.js';
import { mergeConfig } from '../../src/config.js';
import { renderPolicies } from '../../src/manifests.js';
import {
  boundedLoad,
  formatRatio,
  formatValue,
  goal,
  parseOpaBench,
  percentile,
  ratio,
  row,
  rowsTable,
  type Goal,
  type Row,
} from './stats.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(repo, 'bin/bootstrap.js');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(repo, 'bench/results.json') },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '4' },
    'no-baseline': { type: 'boolean', default: false },
    'audit-pods': { type: 'string', default: '500' },
    /** Only these rows (comma-separated: audit, watch), each on an environment it brings up. */
    only: { type: 'string', default: '' },
  },
});
const runs = args.quick ? 1 : Math.max(1, Number(args.runs));
const requests = args.quick ? 100 : Math.max(10, Number(args.requests));
const concurrency = Math.max(1, Number(args.concurrency));
const helpRuns = args.quick ? 5 : 20;
const LOAD_MAX_MS = 60_000; // per batch of requests
const COMMAND_TIMEOUT_MS = 300_000; // per CLI run

const env = readMinikubeEnv();
/** What minikube maps to this machine on both drivers, and what the profile was made to pull from insecurely. */
const registryHost = 'host.minikube.internal:5000';
/** The profile the product makes on this driver, and so the kubeconfig context the runs use. */
const [profileUp, context] =
  env.TESTBED_MINIKUBE_DRIVER === 'none' ? [['up', '--driver', 'none'], 'minikube'] : [['up'], 'trusted-registry'];
{
  // The cluster, made (or found converged) by the product's main path before anything is measured.
  const made = await execa(process.execPath, [path.join(repo, 'bin/bootstrap.js'), ...profileUp], {
    cwd: repo,
    reject: false,
    all: true,
    env: { ...env, CI: 'true', OPA: env.TESTBED_OPA },
  });
  if (made.exitCode !== 0) throw new Error(`bootstrap ${profileUp.join(' ')} failed:\n${made.all}`);
}
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.KUBECONFIG);
kc.setCurrentContext(context);
const core = kc.makeApiClient(k8s.CoreV1Api);
const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);

const logDir = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-'));
const notes: string[] = [];
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);
const TIME = '/usr/bin/time';
const haveTime = existsSync(TIME);
let logCount = 0;

interface Run {
  ms: number;
  rssMb?: number;
  output: string;
}

async function log(name: string, text: string) {
  await writeFile(path.join(logDir, `${String(++logCount).padStart(3, '0')}-${name}.log`), text);
}

/** Runs a command; every output line carries the time it arrived, so the logs show which step the time went to. */
async function runStamped(name: string, file: string, fileArgs: string[], extraEnv: NodeJS.ProcessEnv) {
  const start = performance.now();
  const child = execa(file, fileArgs, { cwd: repo, reject: false, all: true, timeout: COMMAND_TIMEOUT_MS, env: extraEnv });
  const stamped: string[] = [];
  let pending = '';
  child.all?.on('data', (chunk: Buffer) => {
    const at = (performance.now() - start).toFixed(0).padStart(6);
    const parts = (pending + chunk.toString()).split('\n');
    pending = parts.pop()!;
    for (const line of parts) stamped.push(`+${at} ms  ${line}`);
  });
  const result = await child;
  const ms = performance.now() - start;
  if (pending) stamped.push(`+${ms.toFixed(0).padStart(6)} ms  ${pending}`);
  await log(
    name,
    `$ ${[file, ...fileArgs].join(' ')}\nexit ${result.exitCode}${result.timedOut ? ' (timed out)' : ''} in ${ms.toFixed(0)} ms\n${stamped.join('\n')}\n`,
  );
  return { ms, result, output: result.all ?? '' };
}

/** One CLI run as a user starts it (plain renderer), timed from spawn to exit; peak RSS through /usr/bin/time. */
async function bootstrap(name: string, argv: string[], stateHome: string, opts: { rss?: boolean } = {}): Promise<Run> {
  const rssFile = path.join(logDir, 'rss.txt');
  const [file, fileArgs] =
    opts.rss && haveTime ? [TIME, ['-f', '%M', '-o', rssFile, process.execPath, bin, ...argv]] : [process.execPath, [bin, ...argv]];
  const { ms, result, output } = await runStamped(name, file, fileArgs, minikubeCliEnv(env, stateHome));
  if (result.exitCode !== 0)
    throw new Error(`bootstrap ${argv.join(' ')} exited ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}:\n${output}`);
  const rssKb = opts.rss && haveTime ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop()) : NaN;
  return { ms, output, rssMb: Number.isFinite(rssKb) ? rssKb / 1024 : undefined };
}

const existing = ['--cluster', 'existing', '--context', context, '--registry-host', registryHost];

async function until(what: string, probe: () => Promise<boolean>, ms: number, every = 200): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
    await delay(every);
  }
}

const namespaceGone = () =>
  until(
    'namespace opa to be gone',
    () =>
      core.readNamespace({ name: 'opa' }).then(
        () => false,
        () => true,
      ),
    180_000,
    250,
  );

const okImage = `${registryHost}/nginx:1.21.1`;
const probePod = (image: string): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'bench-probe', namespace: 'default' },
  spec: { containers: [{ name: 'c', image }] },
});
/** Server-side dry-run creation: true when admitted, false when the webhook denied it; throws on anything else. */
async function dryRunCreate(image: string): Promise<boolean> {
  try {
    await core.createNamespacedPod({ namespace: 'default', body: probePod(image), dryRun: 'All' });
    return true;
  } catch (error) {
    const body = String((error as { body?: unknown }).body ?? '');
    if (body.includes('denied the request')) return false;
    throw error;
  }
}

// ----------------------------------------------------------------------------------------------------- machine
function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    nproc: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu: model,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
}

// ----------------------------------------------------------------------------------------------------- phases
const series = {
  baseline: [] as number[],
  baselineDown: [] as number[],
  cold: [] as number[],
  converged: [] as number[],
  verify: [] as number[],
  down: [] as number[],
  coldRss: [] as number[],
  convergedRss: [] as number[],
};

async function haveKubectl(): Promise<boolean> {
  if (args['no-baseline']) return false;
  const r = await execa('kubectl', ['version', '--client'], { reject: false });
  return r.exitCode === 0;
}

async function baselineRun(i: number) {
  const work = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-baseline-'));
  const benv = { KUBECONFIG: env.KUBECONFIG, REGISTRY_HOST: registryHost };
  try {
    const script = path.join(repo, 'scripts/bench/baseline.sh');
    const { ms, result: r, output } = await runStamped(`baseline-up-${i}`, 'bash', [script, 'up', work], benv);
    if (r.exitCode !== 0) throw new Error(`baseline.sh up exited ${r.exitCode}:\n${output}`);
    const excluded = Number(/BENCH_EXCLUDED_MS=(\d+)/.exec(r.stdout)?.[1] ?? 0);
    series.baseline.push(ms - excluded);
    const d = await runStamped(`baseline-down-${i}`, 'bash', [script, 'down', work], benv);
    series.baselineDown.push(d.ms);
    if (d.result.exitCode !== 0) throw new Error(`baseline.sh down exited ${d.result.exitCode}:\n${d.output}`);
    await namespaceGone();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function toolRun(i: number) {
  const stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
  try {
    const cold = await bootstrap(`cold-up-${i}`, ['up', ...existing], stateHome, { rss: true });
    if (!/3\/3 checks as expected/.test(cold.output)) throw new Error(`cold up did not pass its checks:\n${cold.output}`);
    series.cold.push(cold.ms);
    if (cold.rssMb) series.coldRss.push(cold.rssMb);
    const converged = await bootstrap(`converged-up-${i}`, ['up', ...existing], stateHome, { rss: true });
    series.converged.push(converged.ms);
    if (converged.rssMb) series.convergedRss.push(converged.rssMb);
    series.verify.push((await bootstrap(`verify-${i}`, ['verify', ...existing], stateHome)).ms);
    series.down.push((await bootstrap(`down-${i}`, ['down', ...existing, '--keep-registry'], stateHome)).ms);
    await namespaceGone();
  } finally {
    await rm(stateHome, { recursive: true, force: true });
  }
}

async function helpTimes(): Promise<{ times: number[]; how: string }> {
  const which = await execa('hyperfine', ['--version'], { reject: false });
  if (which.exitCode === 0) {
    const out = path.join(logDir, 'hyperfine.json');
    await execa(
      'hyperfine',
      ['--warmup', '3', '--runs', String(helpRuns), '-N', '--export-json', out, `${process.execPath} ${bin} --help`],
      { cwd: repo, timeout: 120_000 },
    );
    const result = JSON.parse(await readFile(out, 'utf8')) as { results: { times: number[] }[] };
    return { times: result.results[0]!.times.map((s) => s * 1000), how: 'hyperfine' };
  }
  const times: number[] = [];
  for (let i = 0; i < helpRuns + 3; i++) {
    const start = performance.now();
    await execa(process.execPath, [bin, '--help'], { cwd: repo, timeout: 30_000 });
    if (i >= 3) times.push(performance.now() - start);
  }
  return { times, how: 'own loop' };
}

async function webhookCost() {
  const stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
  const on = { p50: [] as number[], p99: [] as number[], all: [] as number[] };
  const off = { p50: [] as number[], p99: [] as number[], all: [] as number[] };
  const cost = { p50: [] as number[], p99: [] as number[] };
  let errors = 0;
  let short = 0;
  const batch = async (into: typeof on) => {
    await boundedLoad(10, concurrency, 10_000, () => dryRunCreate(okImage).then(() => undefined)); // warm-up
    const r = await boundedLoad(requests, concurrency, LOAD_MAX_MS, async () => {
      if (!(await dryRunCreate(okImage))) throw new Error('ok pod denied');
    });
    errors += r.errors;
    if (r.stoppedEarly) short++;
    into.p50.push(percentile(r.latencies, 50));
    into.p99.push(percentile(r.latencies, 99));
    into.all.push(...r.latencies);
    return r;
  };
  try {
    await bootstrap('webhook-up', ['up', ...existing], stateHome);
    for (let round = 1; round <= runs; round++) {
      say(`webhook cost: round ${round}/${runs}`);
      // Through the webhook: the API server has it (the bad pod is denied).
      await until('the webhook to deny the bad pod', async () => !(await dryRunCreate('nginx:1.21.1')), 30_000);
      await batch(on);
      await admission.deleteValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
      await until('the API server to drop the webhook', () => dryRunCreate('nginx:1.21.1'), 30_000);
      await batch(off);
      await bootstrap(`webhook-restore-${round}`, ['up', ...existing], stateHome);
      cost.p50.push(on.p50.at(-1)! - off.p50.at(-1)!);
      cost.p99.push(on.p99.at(-1)! - off.p99.at(-1)!);
    }
  } finally {
    await rm(stateHome, { recursive: true, force: true });
  }
  if (errors) notes.push(`webhook cost: ${errors} requests failed (left out of the latencies)`);
  if (short) notes.push(`webhook cost: ${short} batches stopped at the ${LOAD_MAX_MS / 1000}s bound before ${requests} requests`);
  return { on, off, cost };
}

async function opaDecision() {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-opa-'));
  try {
    const config = mergeConfig(process.env, {}, { cluster: 'existing', registryHost });
    const policies = await renderPolicies({ config, registryHost, kubeMgmtToken: 'bench' });
    await writeFile(path.join(dir, 'image-policy.rego'), policies.imagePolicy);
    await writeFile(path.join(dir, 'settings.rego'), policies.settings);
    await writeFile(path.join(dir, 'system-main.rego'), policies.systemMain);
    const review = (image: string) => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        name: 'web-server',
        namespace: 'default',
        operation: 'CREATE',
        userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web-server', namespace: 'default', labels: { run: 'web-server' } },
          spec: { containers: [{ name: 'web-server', image }], dnsPolicy: 'ClusterFirst', restartPolicy: 'Always' },
        },
        oldObject: null,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      },
    });
    const out: Record<string, number[]> = {};
    for (const [name, image, allowed] of [
      ['ok', okImage, true],
      ['bad', 'nginx:1.21.1', false],
    ] as const) {
      const input = path.join(dir, `${name}.json`);
      await writeFile(input, JSON.stringify(review(image)));
      const files = ['image-policy.rego', 'settings.rego', 'system-main.rego'].flatMap((f) => ['-d', path.join(dir, f)]);
      // Sanity: the decision is the one the webhook gives.
      const evaluated = await execa(env.TESTBED_OPA!, [
        'eval',
        '--format=json',
        ...files,
        '-i',
        input,
        'data.system.main.response.allowed',
      ]);
      const got = (JSON.parse(evaluated.stdout) as { result: { expressions: { value: boolean }[] }[] }).result[0]?.expressions[0]?.value;
      if (got !== allowed) throw new Error(`opa eval: ${name} pod allowed=${got}, expected ${allowed}`);
      const bench = await execa(
        env.TESTBED_OPA!,
        ['bench', '--format=json', '--count', String(runs), ...files, '-i', input, 'data.system.main'],
        {
          timeout: 120_000,
        },
      );
      out[name] = parseOpaBench(bench.stdout).map((r) => (r.medianNs ?? r.nsPerOp) / 1000);
    }
    return out as { ok: number[]; bad: number[] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `bootstrap audit` over N pods made before the policy applied to their namespace (made while it was labelled
 * exempt, then unlabelled): half untrusted, half trusted; pending, so that the node's load is not what is timed. Timed from spawn to exit, like every CLI row; the
 * environment must be up (the caller's state home).
 */
async function auditBench(stateHome: string): Promise<{ times: number[]; pods: number; violations: number }> {
  const pods = args.quick ? 50 : Math.max(1, Number(args['audit-pods']));
  const ns = `bench-audit-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: ns, labels: { 'openpolicyagent.org/webhook': 'ignore' } } } });
  try {
    const names = Array.from({ length: pods }, (_, i) => `p${i}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names.slice(i, i + 25).map((name, j) =>
          core.createNamespacedPod({
            namespace: ns,
            // Never scheduled (no node has that label): what is timed is audit, not a 2-core node starting 500
            // containers (more than the kubelet's 110-pod limit anyway); audit reads pods the same either way.
            body: {
              metadata: { name },
              spec: {
                nodeSelector: { 'bootstrap.bench/never': 'scheduled' },
                containers: [{ name: 'c', image: (i + j) % 2 ? okImage : 'nginx:1.21.1' }],
              },
            },
          }),
        ),
      );
    }
    await core.patchNamespace(
      { name: ns, body: { metadata: { labels: { 'openpolicyagent.org/webhook': null } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const times: number[] = [];
    let violations = 0;
    for (let i = 0; i <= runs; i++) {
      const { ms, result, output } = await runStamped(`audit-${i}`, process.execPath, [bin, 'audit', ...existing, '--json'], {
        KUBECONFIG: env.KUBECONFIG,
        XDG_STATE_HOME: stateHome,
        CI: 'true',
      });
      if (result.exitCode !== 1)
        throw new Error(`bootstrap audit exited ${result.exitCode} (1 expected: there are violations):\n${output}`);
      const report = JSON.parse(result.stdout) as { violations: { namespace: string }[] };
      violations = report.violations.filter((v) => v.namespace === ns).length;
      if (violations !== Math.ceil(pods / 2))
        throw new Error(`audit found ${violations} violations in ${ns}, expected ${Math.ceil(pods / 2)}`);
      if (i > 0) times.push(ms); // the first run warms the caches
    }
    return { times, pods, violations };
  } finally {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

/**
 * `bootstrap watch` on a copy of the shipped policy: time from writing a save to the line that prints its changed
 * decisions; alternately the latest rule loosened and the shipped policy back, so every save changes decisions.
 */
async function watchBench(stateHome: string): Promise<number[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-watch-'));
  const file = path.join(dir, 'image-policy.rego');
  const shipped = await readFile(path.join(repo, 'templates/policy/image-policy.rego'), 'utf8');
  const loose = shipped.replace('lower(ref.tag) == "latest"', 'lower(ref.tag) == "no-such-tag"');
  await writeFile(file, shipped);
  const watch = startWatch([...existing, '--policy-file', file], minikubeCliEnv(env, stateHome));
  const { child } = watch;
  const times: number[] = [];
  try {
    await watch.waitFor(/watching /, 0);
    for (let i = 1; i <= runs * 2; i++) {
      const mark = watch.output.length;
      const start = performance.now();
      await writeFile(file, i % 2 ? loose : shipped);
      await watch.waitFor(new RegExp(`save ${i}: \\d+ decisions? changed`), mark);
      times.push(performance.now() - start);
    }
    child.kill('SIGINT');
    if ((await child).exitCode !== 0) throw new Error(`watch did not exit 0 on Ctrl-C:\n${watch.output}`);
    await log('watch', watch.output);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
  return times;
}

const auditRowOf = (audited: Awaited<ReturnType<typeof auditBench>>) => {
  const r = row('audit', `bootstrap audit, ${audited.pods} pods`, audited.times, 'ms', { note: `${audited.violations} violations found` });
  r.goals = [goal('< 2 s', r.summary.median, 2000, formatValue(r.summary.median, 'ms'))];
  return r;
};
const watchRowOf = (times: number[]) => {
  const r = row('watch', 'bootstrap watch: save → changed decisions printed', times, 'ms', {
    note: 'compile, apply, kube-mgmt, article + extended matrix',
  });
  r.goals = [goal('< 3 s', r.summary.median, 3000, formatValue(r.summary.median, 'ms'))];
  return r;
};

if (args.only) {
  const only = new Set(args.only.split(','));
  const state = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
  say(`only ${[...only].join(', ')}: up first`);
  await bootstrap('only-up', ['up', ...existing], state);
  const picked: Row[] = [];
  if (only.has('audit')) picked.push(auditRowOf(await auditBench(state)));
  if (only.has('watch')) picked.push(watchRowOf(await watchBench(state)));
  process.stdout.write(`${rowsTable(picked)}\n\n${new Date().toISOString()} · ${runs} run(s) · ${machine().nproc} CPUs · logs ${logDir}\n`);
  await bootstrap('only-down', ['down', ...existing, '--keep-registry'], state);
  await rm(state, { recursive: true, force: true });
  process.exit(0);
}

// ----------------------------------------------------------------------------------------------------- main
const started = new Date();
const mach = machine();
say(`${runs} run(s); logs in ${logDir}`);
await core.readNamespace({ name: 'default' }).catch((error) => {
  throw new Error(`the minikube cluster does not answer (${String(error)}): run scripts/testbed/minikube-up`);
});
const baselineOn = await haveKubectl();
if (!baselineOn) notes.push(args['no-baseline'] ? 'baseline skipped (--no-baseline)' : 'baseline skipped: kubectl not found');

/** After a failure: take away whatever a half-done run left (baseline objects are not labelled as ours). */
async function cleanUp() {
  say('cleaning up after the failure');
  if (baselineOn)
    await execa('bash', [path.join(repo, 'scripts/bench/baseline.sh'), 'down', logDir], {
      reject: false,
      env: { KUBECONFIG: env.KUBECONFIG },
      timeout: COMMAND_TIMEOUT_MS,
    });
  const last = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
  await bootstrap('cleanup-down', ['down', ...existing], last).catch((error) => say(String(error)));
  await rm(last, { recursive: true, force: true });
}

let help: Awaited<ReturnType<typeof helpTimes>>;
let hook: Awaited<ReturnType<typeof webhookCost>>;
let opa: Awaited<ReturnType<typeof opaDecision>>;
let audited: Awaited<ReturnType<typeof auditBench>>;
let watched: number[];
try {
  // Warm-up: the registry container running and holding the trusted image (excluded from every measured run), caches warm.
  {
    const warm = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
    say('warm-up: up, then down --keep-registry --purge');
    await bootstrap('warmup-up', ['up', ...existing], warm);
    await bootstrap('warmup-down', ['down', ...existing, '--keep-registry', '--purge'], warm);
    await rm(warm, { recursive: true, force: true });
    await namespaceGone();
  }

  for (let i = 1; i <= runs; i++) {
    if (baselineOn) {
      say(`run ${i}/${runs}: baseline`);
      await baselineRun(i);
    }
    say(`run ${i}/${runs}: cold up, converged up, verify, down`);
    await toolRun(i);
  }
  say('bootstrap --help');
  help = await helpTimes();
  say('webhook cost');
  hook = await webhookCost();
  say('opa bench');
  opa = await opaDecision();
  say(`audit of ${args.quick ? 50 : args['audit-pods']} pods`);
  {
    const state = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
    await bootstrap('audit-up', ['up', ...existing], state);
    audited = await auditBench(state);
    say('watch: save → changed decisions printed');
    watched = await watchBench(state);
    await rm(state, { recursive: true, force: true });
  }
  // Nothing of the sandbox left behind (the registry container too; its volume, with the pushed images, stays).
  say('leaving the cluster as it found it: down');
  {
    const last = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-state-'));
    await bootstrap('final-down', ['down', ...existing], last);
    await rm(last, { recursive: true, force: true });
  }
} catch (error) {
  await cleanUp();
  throw error;
}

// ----------------------------------------------------------------------------------------------------- report
const rows: Row[] = [];
const baselineRow = row('baseline', 'Baseline: article by hand (openssl + kubectl)', series.baseline, 'ms', {
  note: baselineOn ? 'rendering excluded' : 'skipped',
});
const coldRow = row('cold-up', 'bootstrap up, cold', series.cold, 'ms');
const convergedRow = row('converged-up', 'bootstrap up, converged', series.converged, 'ms');
const coldRatio = ratio(coldRow.summary, baselineRow.summary);
const convRatio = ratio(convergedRow.summary, coldRow.summary);
coldRow.versus = `${formatRatio(coldRatio)} baseline`;
coldRow.goals = [goal('≤ 0.7× baseline', coldRatio, 0.7, formatRatio(coldRatio), true)];
convergedRow.versus = `${formatRatio(convRatio)} cold`;
convergedRow.goals = [
  goal('< 2 s', convergedRow.summary.median, 2000, formatValue(convergedRow.summary.median, 'ms')),
  goal('≤ 0.2× cold', convRatio, 0.2, formatRatio(convRatio), true),
];
const verifyRow = row('verify', 'bootstrap verify', series.verify, 'ms');
verifyRow.goals = [goal('< 1 s', verifyRow.summary.median, 1000, formatValue(verifyRow.summary.median, 'ms'))];
const helpRow = row('help', 'bootstrap --help', help.times, 'ms', { note: help.how });
helpRow.goals = [goal('< 300 ms', helpRow.summary.median, 300, formatValue(helpRow.summary.median, 'ms'))];
const n = `${requests} req × ${runs} round(s), concurrency ${concurrency}`;
const pooledP99 = percentile(hook.on.all, 99) - percentile(hook.off.all, 99);
const costP99 = row('webhook-cost-p99', 'webhook cost, p99 (with − without)', hook.cost.p99, 'ms', {
  note: `per round; all rounds pooled: ${formatValue(pooledP99, 'ms')}`,
});
costP99.goals = [goal('< 10 ms', costP99.summary.median, 10, formatValue(costP99.summary.median, 'ms'))];
rows.push(
  baselineRow,
  coldRow,
  convergedRow,
  verifyRow,
  row('down', 'bootstrap down --keep-registry', series.down, 'ms', { note: 'incl. waiting for namespace opa to go' }),
  row('baseline-down', 'Baseline teardown (kubectl delete)', series.baselineDown, 'ms', { note: 'for comparison with down' }),
  helpRow,
  row('dry-run-with-webhook', 'dry-run pod create, with webhook (p50)', hook.on.all, 'ms', {
    spread: 'p10-p90',
    note: `${n}; p99 ${formatValue(percentile(hook.on.all, 99), 'ms')}`,
  }),
  row('dry-run-without-webhook', 'dry-run pod create, without webhook (p50)', hook.off.all, 'ms', {
    spread: 'p10-p90',
    note: `p99 ${formatValue(percentile(hook.off.all, 99), 'ms')}`,
  }),
  row('webhook-cost-p50', 'webhook cost, p50 (with − without)', hook.cost.p50, 'ms', { note: 'per round' }),
  costP99,
  row('opa-decision-ok', 'OPA decision, ok pod (opa bench)', opa.ok, 'µs', { note: 'median eval per --count' }),
  row('opa-decision-bad', 'OPA decision, bad-repo pod (opa bench)', opa.bad, 'µs', { note: 'median eval per --count' }),
  row('rss-cold-up', 'peak RSS, bootstrap up cold', series.coldRss, 'MB', { note: haveTime ? '/usr/bin/time %M' : 'no /usr/bin/time' }),
  row('rss-converged-up', 'peak RSS, bootstrap up converged', series.convergedRss, 'MB'),
);
rows.push(auditRowOf(audited), watchRowOf(watched));
const goals: Goal[] = rows.flatMap((r) => r.goals ?? []);
const table = rowsTable(rows);
const machineLine = `${mach.nproc} CPUs (${mach.cpu}), ${mach.memoryGiB} GiB, Node ${mach.node}, Linux ${mach.kernel}`;
const commit = (await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, reject: false })).stdout;
process.stdout.write(`${table}\n\n${started.toISOString()} · ${commit} · ${runs} run(s) · ${machineLine}\n`);
if (notes.length) process.stdout.write(`${notes.map((x) => `note: ${x}`).join('\n')}\n`);

await mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
await writeFile(
  path.resolve(args.out),
  `${JSON.stringify({ date: started.toISOString(), commit, machine: mach, options: { runs, requests, concurrency, quick: args.quick }, rows, goals, notes, logs: logDir }, null, 2)}\n`,
);
say(`wrote ${path.resolve(args.out)}`);
