// The command line: parse flags, assemble config and services, run one command. Commands load lazily,
// so `bootstrap --help` stays fast.
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { mergeConfig, needsCurrentContext, readConfigFile, type Config } from './config.js';
import { defaultRunOptions, newContext, type Ctx, type RunOptions } from './context.js';
import { debugFromEnv, formatError, isBootstrapError, rootError } from './errors.js';
import { messages } from './messages.js';
import { takeInterrupt } from './interrupt.js';
import type { Io } from './listr.js';
import { packageVersion } from './version.js';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port number from 1 to 65535');
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('a positive number');
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

interface Flags {
  config?: string;
  cluster?: Config['cluster'];
  profile?: string;
  context?: string;
  registryPort?: number;
  registryHost?: string;
  registryListenAddress?: string;
  stateDir?: string;
  trust?: string[];
  requireDigest?: boolean;
  trustedImage?: string;
  opaImage?: string;
  kubeMgmtImage?: string;
  kubernetesVersion?: string;
  driver?: string;
  policyFile?: string;
  waitSeconds?: number;
  verifyNamespace?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  recreateRegistry?: boolean;
  recreateCluster?: boolean;
  keepCluster?: boolean;
  keepRegistry?: boolean;
  purge?: boolean;
  create?: boolean;
  suite?: RunOptions['suite'];
  junit?: string;
}

/** Flags that are settings, in Config's terms (undefined where not given, so the config file shows through). */
export function configFromFlags(flags: Flags): Partial<Config> {
  const values: Partial<Config> = {
    cluster: flags.cluster,
    profile: flags.profile,
    context: flags.context,
    registryPort: flags.registryPort,
    registryHost: flags.registryHost,
    registryListenAddress: flags.registryListenAddress,
    stateDir: flags.stateDir,
    extraTrustedRegistries: flags.trust,
    requireDigest: flags.requireDigest,
    trustedImage: flags.trustedImage,
    opaImage: flags.opaImage,
    kubeMgmtImage: flags.kubeMgmtImage,
    kubernetesVersion: flags.kubernetesVersion,
    minikubeDriver: flags.driver,
    policyFile: flags.policyFile,
    waitSeconds: flags.waitSeconds,
    verifyNamespace: flags.verifyNamespace,
  };
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<Config>;
}

/** Run options from the flags; `cwd` resolves relative paths (--junit). */
export function optionsFromFlags(flags: Flags, cwd = process.cwd()): RunOptions {
  const defaults = defaultRunOptions();
  return {
    ...(flags.junit ? { junit: path.resolve(cwd, flags.junit) } : {}),
    dryRun: flags.dryRun ?? defaults.dryRun,
    yes: flags.yes ?? defaults.yes,
    recreateRegistry: flags.recreateRegistry ?? defaults.recreateRegistry,
    recreateCluster: flags.recreateCluster ?? defaults.recreateCluster,
    keepCluster: flags.keepCluster ?? defaults.keepCluster,
    keepRegistry: flags.keepRegistry ?? (flags.cluster === 'existing' ? false : defaults.keepRegistry),
    purge: flags.purge ?? defaults.purge,
    create: flags.create ?? defaults.create,
    suite: flags.suite ?? defaults.suite,
    json: flags.json ?? defaults.json,
  };
}

type CommandName = 'up' | 'verify' | 'audit' | 'watch' | 'down' | 'status' | 'doctor';

async function execute(name: CommandName, flags: Flags, io: Io, cwd: string): Promise<number> {
  const file = await readConfigFile(flags.config, cwd);
  const flagValues = configFromFlags(flags);
  // --cluster existing without --context: the context in use now names the state directory (one per cluster).
  const current = needsCurrentContext(file.values, flagValues)
    ? await (await import('./adapters/kube.js')).currentContextName()
    : undefined;
  const config = mergeConfig(io.env, file.values, flagValues, current);
  const { createServices } = await import('./services.js');
  const ctx = newContext(config, optionsFromFlags(flags, cwd), createServices(config, io.env));
  try {
    return await dispatch(name, ctx, io);
  } finally {
    // Last, after the results (or before the error message): how long each step took. On stderr, so --json stays pure.
    // (Loaded only when steps ran: it imports listr2, which --help and --version do without.)
    if (!ctx.options.dryRun && ctx.timings.steps.length) {
      const { formatTimings } = await import('./timings.js');
      io.warn(`\n${formatTimings(ctx.timings.steps, ctx.timings.totalMs)}`);
    }
  }
}

async function dispatch(name: CommandName, ctx: Ctx, io: Io): Promise<number> {
  switch (name) {
    case 'up':
      await (await import('./commands/up.js')).up(ctx, io);
      return 0;
    case 'verify':
      await (await import('./commands/verify.js')).verify(ctx, io);
      return 0;
    case 'audit':
      await (await import('./commands/audit.js')).audit(ctx, io);
      return 0;
    case 'watch':
      await (await import('./commands/watch.js')).watch(ctx, io);
      return 0;
    case 'down':
      await (await import('./commands/down.js')).down(ctx, io);
      return 0;
    case 'status':
      return (await (await import('./commands/status.js')).status(ctx, io)) ? 0 : 1;
    case 'doctor':
      await (await import('./commands/doctor.js')).doctor(ctx, io);
      return 0;
  }
}

/** The options every command but init-policy takes; `dryRunHelp`: what --dry-run does for this one (watch refuses it). */
function commonOptions(command: Command, dryRunHelp = 'print every command and object, change nothing'): Command {
  return command
    .option('-c, --config <file>', 'config file (default: ./bootstrap.config.yaml|yml|json if present)')
    .addOption(
      new Option('--cluster <mode>', 'minikube: a dedicated minikube profile; existing: the current kubeconfig context').choices([
        'minikube',
        'existing',
      ]),
    )
    .option('-p, --profile <name>', 'minikube profile (default: trusted-registry; minikube with --driver none)')
    .option('--driver <driver>', 'minikube --driver (default: minikube chooses; the same for up, verify and down)')
    .option('--context <name>', 'kubeconfig context for --cluster existing (default: current)')
    .option('--registry-port <port>', 'host port of the registry (default: 5000)', port)
    .option('--registry-host <host:port>', 'address the cluster reaches the registry at (default: host.minikube.internal:<port>)')
    .option(
      '--registry-listen-address <ip>',
      'also publish the registry on this address (default: 127.0.0.1 only, plus what the node needs; 0.0.0.0: every address)',
    )
    .option('--state-dir <dir>', 'where certificates and keys are kept')
    .option('--verify-namespace <name>', 'namespace the verification pods are sent to (default: default)')
    .option('--yes', 'accept a context that does not look local')
    .option('--dry-run', dryRunHelp);
}

/**
 * The command line. `writeErr` takes what goes to stderr outside the tasks' own output: commander's errors and the
 * closing message of a failed run.
 */
export function buildProgram(
  io: Io,
  cwd: string,
  setExitCode: (code: number) => void,
  writeErr: (text: string) => void = (text) => process.stderr.write(text),
): Command {
  const program = new Command('bootstrap')
    .description('A local Kubernetes sandbox where only images from a trusted registry may run, enforced by OPA.')
    .version(packageVersion(), '-V, --version', "print bootstrap's version")
    // A program option: accepted before or after the command's name (bootstrap --debug up, bootstrap up --debug).
    .option('--debug', 'when a run fails, also print the cause chain and the stack (or set BOOTSTRAP_DEBUG=1)')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .configureOutput({ writeErr })
    // Bad flags are bad input, like a bad config file: exit 2 (help and --version stay 0).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

  // The closing message of a failed run, the same for every command; --debug adds the cause chain and the stack.
  const fail = (thrown: unknown) => {
    const error = rootError(thrown);
    const debug = Boolean(program.opts<{ debug?: boolean }>().debug) || debugFromEnv(io.env);
    writeErr(`\n${formatError(error, { debug })}\n`);
    setExitCode(isBootstrapError(error) ? error.exitCode : 1);
  };
  const action = (name: CommandName) => async (flags: Flags) => {
    try {
      setExitCode(await execute(name, flags, io, cwd));
    } catch (thrown) {
      fail(thrown);
    }
  };

  commonOptions(program.command('up').description('start the registry, the cluster and OPA, register the webhook, run the checks'))
    .option('--recreate-registry', 'recreate the registry container if its settings differ (images are kept)')
    .option('--recreate-cluster', 'delete and recreate the minikube profile if it lacks --insecure-registry or AlwaysPullImages')
    .option('--trust <host:port>', 'also trust this registry (repeatable)', collect)
    .option('--require-digest', 'stricter policy: every image must be pinned by digest')
    .option('--trusted-image <repo:tag>', 'image copied into the registry for the ok pod (default: nginx:1.21.1)')
    .option('--opa-image <image>', 'OPA image')
    .option('--kube-mgmt-image <image>', 'kube-mgmt image')
    .option('--kubernetes-version <version>', 'minikube --kubernetes-version')
    .option('--policy-file <file>', 'use this Rego file instead of templates/policy/image-policy.rego')
    .option('--wait-seconds <n>', 'how long to wait for OPA and the policy (default: 180)', positive)
    .addOption(new Option('--suite <suite>', 'checks to run at the end').choices(['article', 'extended']))
    .option('--create', 'also create the ok pod for real and wait until it runs')
    .action(action('up'));

  commonOptions(program.command('verify').description("send the article's pods through the webhook and compare with what is expected"))
    .addOption(new Option('--suite <suite>', 'article: the three pods; extended: also the bypass matrix').choices(['article', 'extended']))
    .option('--create', 'also create the ok pod for real and wait until it runs')
    .option('--require-digest', 'expect the stricter policy up --require-digest installs (and check a digest-pinned pod)')
    .option('--json', 'print the results as JSON')
    .option('--junit <file>', 'also write the results as JUnit XML to this file (one test case per check)')
    .option('--wait-seconds <n>', 'how long to wait for the ok pod with --create', positive)
    .action(action('verify'));

  commonOptions(
    program
      .command('audit')
      .description('list the existing pods and workloads the installed policy would deny, as the running OPA decides'),
  )
    .option('--json', 'print the findings as JSON')
    .action(action('audit'));

  commonOptions(
    program
      .command('watch')
      .description('follow the policy file: on each save, compile it, apply it, and print the decisions that changed'),
    'refused: every save is applied to the cluster (opa test checks a policy without one)',
  )
    .option('--policy-file <file>', 'the Rego file to follow (start from a copy: bootstrap init-policy)')
    .option('--wait-seconds <n>', 'how long to wait for kube-mgmt to load each save (default: 180)', positive)
    .action(action('watch'));

  program
    .command('init-policy')
    .description('copy the shipped policy and its tests into DIR (default: ./policy) to adapt them')
    .argument('[dir]', 'where to put image-policy.rego and image_policy_test.rego', 'policy')
    .action(async (dir: string) => {
      try {
        await (await import('./commands/watch.js')).initPolicy(path.resolve(cwd, dir), io);
        setExitCode(0);
      } catch (thrown) {
        fail(thrown);
      }
    });

  commonOptions(
    program.command('down').description('remove the webhook, namespace opa, the cluster and the registry (only what up created)'),
  )
    .option('--keep-cluster', 'keep the minikube profile')
    .option('--keep-registry', 'keep the registry container')
    .option('--purge', 'also remove the registry volume and the state directory')
    .action(action('down'));

  commonOptions(program.command('status').description("each component's state")).option('--json', 'print as JSON').action(action('status'));

  commonOptions(program.command('doctor').description('check the prerequisites and show the versions found')).action(action('doctor'));

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const io: Io = {
    env: process.env,
    isTTY: process.stdout.isTTY,
    // Read when a table is printed: the terminal may have been resized during the run.
    get columns() {
      return process.stdout.columns;
    },
    print: (text) => process.stdout.write(`${text}\n`),
    warn: (text) => process.stderr.write(`${text}\n`),
  };
  const program = buildProgram(io, process.cwd(), (code) => (process.exitCode = code));
  let finished = false;
  // A cancelled run leaves nothing half-written that the next run cannot converge, so stop at once.
  process.on('SIGINT', () => {
    const own = takeInterrupt();
    if (own) return own();
    if (process.stdout.isTTY) process.stdout.write('\x1B[?25h\n'); // the live renderer hides the cursor
    process.stderr.write(`\n${messages.interrupted}\n`);
    process.exit(130);
  });
  // Node exits with 13 when the event loop empties while a promise is still pending: say so instead of dying silently.
  process.once('exit', (code) => {
    if (!finished && code === 13) process.stderr.write(`\n${messages.stalled}\n`);
  });
  await program.parseAsync(argv);
  finished = true;
}
