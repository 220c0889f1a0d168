// The command line: flags → config and options, and the real binary run end to end where it changes nothing.
import test from 'ava';
import { execa } from 'execa';
import { parse, type TestSuites } from 'junit2json';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildProgram, configFromFlags, optionsFromFlags } from '../../src/cli.js';
import type { Io } from '../../src/listr.js';
import { defaultRunOptions } from '../../src/context.js';
import { formatProblem } from '../../src/errors.js';
import { messages } from '../../src/messages.js';
import { BIN, offlineDir, offlineEnv } from '../helpers/offline.js';

/** Runs the CLI in an offline sandbox (no minikube on PATH, no Docker engine) with a kubeconfig file of its own. */
function cli(dir: string, args: string[]) {
  return execa(process.execPath, [BIN, ...args], {
    cwd: dir,
    reject: false,
    all: true,
    env: { ...offlineEnv(dir), KUBECONFIG: path.join(dir, 'kubeconfig'), CI: '1' },
    extendEnv: false,
    timeout: 60_000,
  });
}

test('configFromFlags: only given flags, in Config terms', (t) => {
  t.deepEqual(configFromFlags({}), {});
  t.deepEqual(
    configFromFlags({ registryPort: 5001, trust: ['quay.io', 'ghcr.io'], driver: 'docker', requireDigest: true, dryRun: true, yes: true }),
    {
      registryPort: 5001,
      extraTrustedRegistries: ['quay.io', 'ghcr.io'],
      minikubeDriver: 'docker',
      requireDigest: true,
    },
  );
  // Flags named as the settings they set pass through as they are.
  const sameNames = {
    cluster: 'existing',
    context: 'kind-x',
    registryHost: 'kind-registry:5000',
    stateDir: '/s',
    verifyNamespace: 'ns',
    waitSeconds: 9,
  } as const;
  t.deepEqual(configFromFlags({ ...sameNames }), sameNames);
});

test('optionsFromFlags: defaults, flags, and keepRegistry', (t) => {
  t.deepEqual(optionsFromFlags({}), defaultRunOptions());
  // Every option given: each one as given.
  const every = {
    dryRun: true,
    yes: true,
    recreateRegistry: true,
    recreateCluster: true,
    keepCluster: true,
    keepRegistry: true,
    purge: true,
    create: true,
    suite: 'extended',
    json: true,
  } as const;
  t.deepEqual(optionsFromFlags({ ...every }), every);
  t.false(optionsFromFlags({ cluster: 'existing' }).keepRegistry);
});

test('bootstrap --help lists the commands', async (t) => {
  const dir = await offlineDir(t);
  const result = await cli(dir, ['--help']);
  t.is(result.exitCode, 0, result.all);
  // Each command starts a line of its own, two spaces in; its description's continuation lines are indented further.
  const listed = result.stdout
    .split('Commands:\n')[1]!
    .split('\n')
    .flatMap((line) => /^ {2}([a-z-]+)/.exec(line)?.[1] ?? []);
  t.deepEqual(listed, ['up', 'verify', 'audit', 'watch', 'init-policy', 'down', 'status', 'doctor', 'help']);
});

test('bootstrap up --dry-run --cluster minikube without minikube: exit 0, the start argv, the webhook, no private key', async (t) => {
  const dir = await offlineDir(t);
  const result = await cli(dir, ['up', '--dry-run', '--cluster', 'minikube']);
  t.is(result.exitCode, 0, result.all);
  const out = result.all;
  t.true(
    out.includes(
      'minikube start --profile=trusted-registry --insecure-registry=host.minikube.internal:5000 --container-runtime=containerd --extra-config=apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,AlwaysPullImages --wait=apiserver',
    ),
    out,
  );
  t.true(out.includes('docker network connect trusted-registry registry'), out);
  t.true(out.includes('kind: ValidatingWebhookConfiguration'));
  t.true(out.includes('apiVersion: admissionregistration.k8s.io/v1'));
  t.true(out.includes('caBundle: '));
  t.regex(out, /name: local-registry-hosting\n\s+namespace: kube-public/);
  t.true(out.includes('hostFromContainerRuntime: host.minikube.internal:5000'), out);
  t.true(out.includes('minikube is not installed'));
  t.false(out.includes('PRIVATE KEY'));
  t.false(out.includes('kube_mgmt_token :='));
  // A dry run writes nothing into the state directory.
  const stateEntries = await readdir(path.join(dir, 'state')).catch(() => []);
  t.deepEqual(stateEntries, []);
});

// Settings refused before anything runs: exit 2, and stderr names the setting and what it takes.
const refusals: { title: string; args: string[]; configFile?: string; stderr: (dir: string) => string[] }[] = [
  {
    title: 'a config file with an unknown key → exit 2 and the message',
    args: ['up', '--dry-run'],
    configFile: 'registryPort: 5001\nregsitryHost: x\n',
    stderr: (dir) => [`Unknown setting 'regsitryHost' in ${path.join(dir, 'bootstrap.config.yaml')}.`, 'known settings: cluster, profile'],
  },
  {
    title: '--registry-port 99999 → exit 2',
    args: ['up', '--dry-run', '--registry-port', '99999'],
    stderr: () => ['--registry-port', 'a port number from 1 to 65535'],
  },
  {
    title: 'an invalid --registry-host → exit 2 naming registryHost',
    args: ['up', '--dry-run', '--registry-host', 'http://x:5000'],
    stderr: () => ['Invalid registryHost: "http://x:5000"'],
  },
];
for (const refusal of refusals) {
  test(refusal.title, async (t) => {
    const dir = await offlineDir(t);
    if (refusal.configFile) await writeFile(path.join(dir, 'bootstrap.config.yaml'), refusal.configFile);
    const result = await cli(dir, refusal.args);
    t.is(result.exitCode, 2, result.all);
    for (const text of refusal.stderr(dir)) t.true(result.stderr.includes(text), result.stderr);
  });
}

test('bootstrap --version and -V print the package version, exit 0', async (t) => {
  const dir = await offlineDir(t);
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  t.regex(version, /^\d+\.\d+\.\d+/);
  for (const flag of ['--version', '-V']) {
    const result = await cli(dir, [flag]);
    t.is(result.exitCode, 0, result.all);
    t.is(result.stdout, version, flag);
  }
});

test('bootstrap doctor: its version, Node, and the images it deploys (as configured), then the preflight', async (t) => {
  const dir = await offlineDir(t);
  await writeFile(path.join(dir, 'bootstrap.config.yaml'), 'opaImage: example.com/opa:9.9.9\n');
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const result = await cli(dir, ['doctor']);
  // No Docker engine in the sandbox: the preflight fails, after the versions were shown.
  t.is(result.exitCode, 1, result.all);
  t.regex(result.stdout, new RegExp(`^bootstrap +${version.replaceAll('.', '\\.')}$`, 'm'));
  t.regex(result.stdout, new RegExp(`^Node\\.js +${process.versions.node.replaceAll('.', '\\.')}$`, 'm'));
  // The images under a heading that says they are the settings, not what a cluster runs.
  t.regex(
    result.stdout,
    new RegExp(
      [
        '^Images `up` deploys, as configured \\(no cluster is read\\):',
        ' {2}OPA +example\\.com/opa:9\\.9\\.9',
        ' {2}kube-mgmt +openpolicyagent/kube-mgmt:11\\.0\\.7',
        ' {2}registry +registry:2\\.7\\.1 \\(compose/registry\\.yaml\\)',
        ' {2}trusted image +nginx:1\\.21\\.1 \\(copied into the registry for the ok pod\\)$',
      ].join('\n'),
      'm',
    ),
  );
  t.true(result.all.includes('Cannot reach the Docker engine'), result.all);
});

test('bootstrap verify --junit FILE (relative): written even when verify cannot reach a cluster, as one errored test case', async (t) => {
  const dir = await offlineDir(t);
  const result = await cli(dir, ['verify', '--cluster', 'existing', '--registry-host', '127.0.0.1:5000', '--junit', 'out/junit.xml']);
  t.is(result.exitCode, 1, result.all);
  const { testsuite } = (await parse(await readFile(path.join(dir, 'out', 'junit.xml'), 'utf8'))) as TestSuites;
  t.is(testsuite?.length, 1);
  t.is(testsuite![0]!.errors, 1);
  const [only] = testsuite![0]!.testcase!;
  t.is(only!.name, 'verify');
  t.regex(only!.error![0]!.message!, /kubeconfig|context|Kubernetes/i);
  t.true(result.stderr.includes(only!.error![0]!.message!), result.stderr);
});

/** A kubeconfig with two clusters that do not answer (port 1 on loopback refuses at once). */
const twoContexts = (current: string) => `apiVersion: v1
kind: Config
clusters:
  - name: a
    cluster: { server: 'https://127.0.0.1:1' }
  - name: b
    cluster: { server: 'https://127.0.0.2:1' }
users:
  - name: u
    user: { token: t }
contexts:
  - name: kind-a
    context: { cluster: a, user: u }
  - name: kind-b
    context: { cluster: b, user: u }
current-context: ${current}
`;

test('--cluster existing: each context has its own state directory; down --purge on one leaves the other’s record alone', async (t) => {
  const dir = await offlineDir(t);
  const root = path.join(dir, 'state', 'opa-trusted-registry-bootstrap');
  // What `up` left on each cluster: its record and its CA, in the directory named after the context.
  for (const name of ['kind-a', 'kind-b']) {
    await mkdir(path.join(root, `context-${name}`), { recursive: true });
    await writeFile(path.join(root, `context-${name}`, 'state.json'), JSON.stringify({ registryHost: `${name}-registry:5000` }));
    await writeFile(path.join(root, `context-${name}`, 'ca.crt'), `CA of ${name}`);
  }
  const down = async (current: string) => {
    await writeFile(path.join(dir, 'kubeconfig'), twoContexts(current));
    return cli(dir, ['down', '--cluster', 'existing', '--keep-registry', '--purge']);
  };

  const first = await down('kind-a');
  t.is(first.exitCode, 0, first.all);
  t.true(first.all.includes(`removed state directory ${path.join(root, 'context-kind-a')}`), first.all);
  t.regex(first.all, /Cluster not reachable/, 'it talked to kind-a’s cluster (which does not answer)');
  t.false(existsSync(path.join(root, 'context-kind-a')));
  t.deepEqual(JSON.parse(await readFile(path.join(root, 'context-kind-b', 'state.json'), 'utf8')), {
    registryHost: 'kind-b-registry:5000',
  });
  t.is(await readFile(path.join(root, 'context-kind-b', 'ca.crt'), 'utf8'), 'CA of kind-b');
  t.false(existsSync(path.join(root, 'context-current')), 'no shared directory');

  const second = await down('kind-b');
  t.is(second.exitCode, 0, second.all);
  t.true(second.all.includes(`removed state directory ${path.join(root, 'context-kind-b')}`), second.all);
  t.deepEqual(await readdir(root), []);
});

/** The program in this process: what it writes to stderr and the exit code it sets. */
async function inProcess(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  let stderr = '';
  let exitCode: number | undefined;
  const io: Io = { env, isTTY: false, print: () => {}, warn: (text) => (stderr += `${text}\n`) };
  const program = buildProgram(
    io,
    dir,
    (code) => (exitCode = code),
    (text) => (stderr += text),
  );
  await program.parseAsync(args, { from: 'user' });
  return { stderr, exitCode };
}

/** The closing message for a config file that is not there, built as the CLI builds it. */
async function missingConfig(dir: string) {
  const file = path.join(dir, 'missing.yaml');
  const cause = await readFile(file, 'utf8').catch((error: unknown) => error);
  const expected = messages.configUnreadable(file, cause);
  return { block: `\n${formatProblem(expected.problem, expected.fix)}\n`, cause: String((cause as Error).message) };
}

test('a failed run ends with the ✖ problem / → fix block from formatProblem, and nothing else without --debug', async (t) => {
  const dir = await offlineDir(t);
  const { block } = await missingConfig(dir);
  const result = await inProcess(dir, ['up', '--config', 'missing.yaml']);
  t.is(result.exitCode, 2);
  t.is(result.stderr, block);
  t.true(block.startsWith(`\n✖ Cannot read config file ${path.join(dir, 'missing.yaml')}: ENOENT`), block);
  t.true(block.endsWith('.\n  → Check the path given to --config.\n'), block);
});

test('--debug (before or after the command) and BOOTSTRAP_DEBUG=1: the same block, then the cause chain and the stacks', async (t) => {
  const dir = await offlineDir(t);
  const { block, cause } = await missingConfig(dir);
  for (const [args, env] of [
    [['up', '--config', 'missing.yaml', '--debug'], {}],
    [['--debug', 'verify', '--config', 'missing.yaml'], {}],
    [['status', '--config', 'missing.yaml'], { BOOTSTRAP_DEBUG: '1' }],
  ] as const) {
    const result = await inProcess(dir, [...args], env);
    const label = args.join(' ');
    t.is(result.exitCode, 2, label);
    t.true(result.stderr.startsWith(`${block}\nCause chain:\n  BootstrapError: Cannot read config file `), `${label}\n${result.stderr}`);
    t.true(result.stderr.includes(`\n  ← Error: ${cause}\n`), `${label}\n${result.stderr}`);
    t.regex(result.stderr, /\nStack:\n  BootstrapError\n {6}at .*messages\.ts:\d+:\d+\)?\n/, label);
    t.regex(result.stderr, /\n  ← Error\n {6}at /, label);
  }
  t.is((await inProcess(dir, ['up', '--config', 'missing.yaml'], { BOOTSTRAP_DEBUG: '0' })).stderr, block, 'BOOTSTRAP_DEBUG=0 is off');
});

test('bootstrap --help, and each command’s --help under Global Options, name --debug', (t) => {
  const program = buildProgram({ env: {}, isTTY: false, print: () => {}, warn: () => {} }, '.', () => {});
  const option = /^\s+--debug\s+when a run fails, also print the cause\s+chain\s+and\s+the\s+stack/m;
  t.regex(program.helpInformation(), option);
  for (const command of program.commands) {
    const help = command.helpInformation();
    t.regex(help, /^Global Options:$/m, command.name());
    t.regex(help, option, command.name());
  }
});
