// `npm run bench:minikube`: bootstrap on real minikube (after scripts/testbed/minikube-up; the docker driver by
// default), against `minikube start` alone with the very argv bootstrap passes, so the tool's own overhead shows.
//   npm run bench:minikube [-- --runs N | --quick] [--out FILE]
// Per run: `minikube start` alone (timed) → `minikube delete` → cold `bootstrap up` (includes the start) → converged
// `up` → `verify`. Then the webhook's cost per pod request, with real pod networking (API server → kube-proxy →
// the OPA pod): server-side dry-run creations with and without the webhook, p50 and p99. Finally `down`.
// Prints one table (progress on stderr) and writes the figures to bench/minikube-results.json.
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { readMinikubeEnv } from '../../test/helpers/minikube-env.js';
import { startArgs } from '../../src/adapters/minikube.js';
import { boundedLoad, goal, percentile, row, rowsTable, type Row } from './stats.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    requests: { type: 'string', default: '300' },
    out: { type: 'string', default: path.join(repo, 'bench/minikube-results.json') },
  },
});
const runs = args.quick ? 1 : Math.max(1, Number(args.runs));
const requests = args.quick ? 100 : Math.max(20, Number(args.requests));
const env = readMinikubeEnv();
const PROFILE = 'trusted-registry';
const REGISTRY_HOST = 'host.minikube.internal:5000';
const say = (text: string) => process.stderr.write(`bench:minikube: ${text}\n`);

async function timed(what: string, file: string, argv: string[], extra: NodeJS.ProcessEnv = {}): Promise<number> {
  const start = performance.now();
  const result = await execa(file, argv, { cwd: repo, reject: false, all: true, env: { ...env, CI: 'true', ...extra } });
  const ms = performance.now() - start;
  if (result.exitCode !== 0) throw new Error(`${what} exited ${result.exitCode}:\n${result.all}`);
  say(`${what}: ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

// The very `minikube start` bootstrap runs (src/adapters/minikube.ts startArgs), through the same PATH.
const start = startArgs({ profile: PROFILE, insecureRegistry: REGISTRY_HOST });

const startAlone: number[] = [];
const coldUp: number[] = [];
const overhead: number[] = [];
const converged: number[] = [];
const verify: number[] = [];
const stateHome = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-minikube-'));
// node bin/bootstrap.js, as the test-bed benchmark runs it: npx's own start-up (~0.4 s) is not the tool's.
const bootstrap = (what: string, ...argv: string[]) =>
  timed(what, process.execPath, [path.join(repo, 'bin/bootstrap.js'), ...argv], { XDG_STATE_HOME: stateHome });

try {
  await timed('clean slate', 'minikube', ['delete', `--profile=${PROFILE}`]);
  for (let i = 1; i <= runs; i++) {
    say(`run ${i}/${runs}`);
    startAlone.push(await timed('minikube start alone', 'minikube', start));
    await timed('minikube delete', 'minikube', ['delete', `--profile=${PROFILE}`]);
    coldUp.push(await bootstrap('bootstrap up, cold', 'up'));
    overhead.push(coldUp.at(-1)! - startAlone.at(-1)!);
    converged.push(await bootstrap('bootstrap up, converged', 'up'));
    verify.push(await bootstrap('bootstrap verify', 'verify'));
    if (i < runs) await bootstrap('bootstrap down', 'down', '--keep-registry');
  }

  // The webhook's cost per pod request: the same dry-run creations with and without the webhook.
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.KUBECONFIG);
  kc.setCurrentContext(PROFILE);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const pod: k8s.V1Pod = {
    metadata: { generateName: 'bench-probe-', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: `${REGISTRY_HOST}/nginx:1.21.1` }] },
  };
  const load = async () => {
    const work = () => core.createNamespacedPod({ namespace: 'default', body: pod, dryRun: 'All' }).then(() => undefined);
    await boundedLoad(20, 4, 20_000, work);
    return (await boundedLoad(requests, 4, 60_000, work)).latencies;
  };
  say('webhook cost: with the webhook');
  const on = await load();
  await admission.deleteValidatingWebhookConfiguration({ name: 'opa-validating-webhook' });
  await new Promise((resolve) => setTimeout(resolve, 2000)); // the API server's webhook cache
  say('webhook cost: without it');
  const off = await load();
  await bootstrap('bootstrap up (webhook back)', 'up');
  const cost50 = percentile(on, 50) - percentile(off, 50);
  const cost99 = percentile(on, 99) - percentile(off, 99);

  const rows: Row[] = [
    row('minikube-start', '`minikube start` alone (the argv bootstrap passes)', startAlone, 'ms'),
    row('cold-up', '`bootstrap up`, cold (minikube start included)', coldUp, 'ms'),
    row('overhead', "bootstrap's own overhead (cold up − start alone)", overhead, 'ms', {
      goals: [goal('< 10 s', Math.max(...overhead), 10_000, `${(Math.max(...overhead) / 1000).toFixed(1)} s (worst)`)],
    }),
    row('converged-up', '`bootstrap up`, converged', converged, 'ms', {
      goals: [goal('< 1.5 s', Math.max(...converged), 1500, `${Math.max(...converged).toFixed(0)} ms (worst)`)],
    }),
    row('verify', '`bootstrap verify`', verify, 'ms'),
    row('webhook-on', 'pod request with the webhook (p10–p90)', on, 'ms', { spread: 'p10-p90' }),
    row('webhook-off', 'pod request without it (p10–p90)', off, 'ms', { spread: 'p10-p90' }),
    row('webhook-cost', 'webhook cost per pod request, p50 / p99', [cost50, cost99], 'ms', {
      note: `p50 ${cost50.toFixed(1)} ms, p99 ${cost99.toFixed(1)} ms`,
      goals: [goal('p99 < 10 ms', cost99, 10, `${cost99.toFixed(1)} ms`)],
    }),
  ];
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.versions.node}, minikube --driver=${env.TESTBED_MINIKUBE_DRIVER}`;
  process.stdout.write(`${machine}; ${runs} run(s), ${requests} requests per webhook batch\n\n${rowsTable(rows)}\n`);
  await writeFile(args.out, `${JSON.stringify({ machine, runs, requests, rows }, null, 2)}\n`);
} finally {
  await bootstrap('bootstrap down', 'down').catch((error: Error) => say(error.message));
  await rm(stateHome, { recursive: true, force: true });
}
