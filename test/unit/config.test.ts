// Configuration: keys and types checked where they come from, values validated after merging (defaults < file < flags).
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkRawConfig,
  CONFIG_KEYS,
  contextDirName,
  defaultConfig,
  mergeConfig,
  needsCurrentContext,
  readConfigFile,
  validateConfig,
} from '../../src/config.js';
import { BootstrapError } from '../../src/errors.js';
import { isRegistryHost, splitImage } from '../../src/image-ref.js';

const ENV = { XDG_STATE_HOME: '/xdg/state' };

async function tempDir(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('unknown key: names the key, the source, and lists the known keys; exit code 2', (t) => {
  const error = t.throws(() => checkRawConfig({ registryPort: 5000, regsitryHost: 'x' }, 'my.yaml'), { instanceOf: BootstrapError });
  t.is(error!.exitCode, 2);
  t.is(error!.problem, "Unknown setting 'regsitryHost' in my.yaml.");
  t.true(error!.fix.includes(`known settings: ${CONFIG_KEYS.join(', ')}.`));
  t.true(error!.fix.includes('registryHost'));
  t.true(CONFIG_KEYS.length >= 18);
});

test('wrong type: names the key, the expected type and the value', (t) => {
  t.throws(() => checkRawConfig({ registryPort: '5000' }, 'f.yaml'), {
    message: /Setting 'registryPort' in f\.yaml must be number, got "5000"/,
  });
  t.throws(() => checkRawConfig({ requireDigest: 'yes' }, 'f.yaml'), { message: /'requireDigest' .* must be boolean/ });
  t.throws(() => checkRawConfig({ extraTrustedRegistries: ['a', 1] }, 'f.yaml'), { message: /must be string\[\], got \["a",1\]/ });
  t.throws(() => checkRawConfig({ profile: null }, 'f.yaml'), { message: /'profile' .* must be string, got null/ });
});

test('not a mapping; empty is fine; undefined values are dropped', (t) => {
  t.throws(() => checkRawConfig(['a'], 'f.yaml'), { message: /f\.yaml must hold a mapping/ });
  t.throws(() => checkRawConfig('text', 'f.yaml'), { message: /must hold a mapping/ });
  t.deepEqual(checkRawConfig(null, 'f'), {});
  t.deepEqual(checkRawConfig({ profile: undefined, registryPort: 5001 }, 'f'), { registryPort: 5001 });
});

test('isRegistryHost table', (t) => {
  const table: [string, boolean][] = [
    ['host.minikube.internal:5000', true],
    ['192.168.49.1:5000', true],
    ['localhost', true],
    ['registry.example.com', true],
    ['[::1]:5000', true],
    ['x:65535', true],
    ['http://x:5000', false],
    ['x:99999', false],
    ['x:0', false],
    ['Upper:5000', false],
    ['a/b', false],
    ['x:5000/', false],
    ['', false],
    ['-x:5000', false],
    ['x :5000', false],
  ];
  for (const [value, expected] of table) t.is(isRegistryHost(value), expected, value);
});

test('validateConfig: invalid registryHost values are refused naming the key', (t) => {
  for (const registryHost of ['http://x:5000', 'x:99999', 'Upper:5000', 'a/b']) {
    const error = t.throws(() => validateConfig({ ...defaultConfig(ENV), registryHost }), { instanceOf: BootstrapError }, registryHost);
    t.is(error!.problem, `Invalid registryHost: ${JSON.stringify(registryHost)}.`);
    t.is(error!.exitCode, 2);
  }
  t.notThrows(() => validateConfig({ ...defaultConfig(ENV), registryHost: '192.168.49.1:5000' }));
});

test('validateConfig: other values', (t) => {
  const bad: [Partial<ReturnType<typeof defaultConfig>>, RegExp][] = [
    [{ cluster: 'kind' as never }, /Invalid cluster/],
    [{ registryPort: 0 }, /Invalid registryPort/],
    [{ registryPort: 65536 }, /Invalid registryPort/],
    [{ registryPort: 50.5 }, /Invalid registryPort/],
    [{ extraTrustedRegistries: ['ok.example.com', 'https://bad'] }, /Invalid extraTrustedRegistries: "https:\/\/bad"/],
    [{ profile: 'My_Profile' }, /Invalid profile/],
    [{ verifyNamespace: 'Default' }, /Invalid verifyNamespace/],
    [{ webhookFailurePolicy: 'fail' as never }, /Invalid webhookFailurePolicy/],
    [{ webhookTimeoutSeconds: 31 }, /Invalid webhookTimeoutSeconds/],
    [{ webhookTimeoutSeconds: 0 }, /Invalid webhookTimeoutSeconds/],
    [{ waitSeconds: 0 }, /Invalid waitSeconds/],
    [{ trustedImage: 'nginx' }, /Invalid trustedImage/],
    [{ trustedImage: 'nginx@sha256:abc' }, /Invalid trustedImage/],
  ];
  for (const [change, message] of bad)
    t.throws(() => validateConfig({ ...defaultConfig(ENV), ...change }), { message }, JSON.stringify(change));
  t.deepEqual(validateConfig(defaultConfig(ENV)), defaultConfig(ENV));
});

test('mergeConfig: defaults < file < flags', (t) => {
  const merged = mergeConfig(ENV, { registryPort: 5001, profile: 'from-file', waitSeconds: 60 }, { registryPort: 5002 });
  t.is(merged.registryPort, 5002);
  t.is(merged.profile, 'from-file');
  t.is(merged.waitSeconds, 60);
  t.is(merged.trustedImage, 'nginx:1.21.1');
  t.is(merged.stateDir, '/xdg/state/opa-trusted-registry-bootstrap/from-file');
  t.is(mergeConfig(ENV, { profile: 'a' }, { profile: 'b' }).profile, 'b');
});

test('mergeConfig: the state directory follows profile or context unless set', (t) => {
  t.is(mergeConfig(ENV, {}, {}).stateDir, '/xdg/state/opa-trusted-registry-bootstrap/trusted-registry');
  t.is(
    mergeConfig(ENV, {}, { cluster: 'existing', context: 'kind-x' }).stateDir,
    '/xdg/state/opa-trusted-registry-bootstrap/context-kind-x',
  );
  t.is(
    mergeConfig(ENV, { cluster: 'existing' }, {}, 'kind-y').stateDir,
    '/xdg/state/opa-trusted-registry-bootstrap/context-kind-y',
    'the current context names it',
  );
  t.is(
    mergeConfig(ENV, { cluster: 'existing' }, {}).stateDir,
    '/xdg/state/opa-trusted-registry-bootstrap/context-current',
    'no kubeconfig to read: the run fails when it connects',
  );
  t.is(mergeConfig(ENV, { stateDir: '/file/dir' }, { profile: 'p' }).stateDir, '/file/dir');
  t.is(mergeConfig(ENV, { stateDir: '/file/dir' }, { stateDir: '/flag/dir' }).stateDir, '/flag/dir');
});

test('contextDirName table: readable, and one directory per context', (t) => {
  const table: [string, RegExp][] = [
    ['kind-kind', /^context-kind-kind$/],
    ['testbed', /^context-testbed$/],
    ['docker-desktop', /^context-docker-desktop$/],
    ['k3d_dev.1', /^context-k3d_dev\.1$/],
    ['arn:aws:eks:eu-west-1:123456789012:cluster/dev', /^context-arn_aws_eks_eu-west-1_123456789012_cluster_dev-[0-9a-f]{8}$/],
    ['admin@cluster', /^context-admin_cluster-[0-9a-f]{8}$/],
    ['Kind-Kind', /^context-Kind-Kind-[0-9a-f]{8}$/],
    ['../../etc', /^context-\.\._\.\._etc-[0-9a-f]{8}$/],
    ['x'.repeat(300), /^context-x{80}-[0-9a-f]{8}$/],
  ];
  for (const [context, expected] of table) t.regex(contextDirName(context), expected, context);
  // Names that sanitize alike, or differ only in case, still get directories of their own.
  const alike = ['a/b', 'a:b', 'a_b', 'A_B', 'a@b', 'x'.repeat(300), `${'x'.repeat(300)}y`];
  t.is(new Set(alike.map(contextDirName)).size, alike.length);
  for (const context of alike) t.false(contextDirName(context).includes('/'), context);
});

test('mergeConfig: with cluster existing and no context, the current context becomes the run’s context', (t) => {
  const merged = mergeConfig(ENV, {}, { cluster: 'existing' }, 'kind-a');
  t.is(merged.context, 'kind-a');
  t.is(merged.stateDir, '/xdg/state/opa-trusted-registry-bootstrap/context-kind-a');
  t.not(mergeConfig(ENV, {}, { cluster: 'existing' }, 'kind-b').stateDir, merged.stateDir, 'two contexts, two directories');
  // A named context wins, from flags or file; a state directory set by hand stays; minikube ignores contexts.
  t.is(mergeConfig(ENV, {}, { cluster: 'existing', context: 'kind-x' }, 'kind-a').context, 'kind-x');
  t.is(
    mergeConfig(ENV, { context: 'kind-f' }, { cluster: 'existing' }, 'kind-a').stateDir,
    '/xdg/state/opa-trusted-registry-bootstrap/context-kind-f',
  );
  t.is(mergeConfig(ENV, {}, { cluster: 'existing', stateDir: '/mine' }, 'kind-a').stateDir, '/mine');
  const minikube = mergeConfig(ENV, {}, {}, 'kind-a');
  t.is(minikube.context, undefined);
  t.is(minikube.stateDir, '/xdg/state/opa-trusted-registry-bootstrap/trusted-registry');
});

test('needsCurrentContext: only cluster existing without a named context', (t) => {
  t.true(needsCurrentContext({}, { cluster: 'existing' }));
  t.true(needsCurrentContext({ cluster: 'existing' }, {}));
  t.false(needsCurrentContext({ cluster: 'existing' }, { context: 'kind-x' }));
  t.false(needsCurrentContext({ cluster: 'existing', context: 'kind-x' }, {}));
  t.false(needsCurrentContext({}, {}));
  t.false(needsCurrentContext({ cluster: 'existing' }, { cluster: 'minikube' }));
});

test('mergeConfig validates the result', (t) => {
  t.throws(() => mergeConfig(ENV, { registryHost: 'http://x:5000' }, {}), { message: /Invalid registryHost/ });
});

test('readConfigFile: YAML found by its default name', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    path.join(dir, 'bootstrap.config.yaml'),
    'registryPort: 5001\nextraTrustedRegistries:\n  - quay.io\nrequireDigest: true\n',
  );
  t.deepEqual(await readConfigFile(undefined, dir), {
    path: path.join(dir, 'bootstrap.config.yaml'),
    values: { registryPort: 5001, extraTrustedRegistries: ['quay.io'], requireDigest: true },
  });
});

test('readConfigFile: JSON named explicitly, relative to cwd', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'settings.json'), JSON.stringify({ profile: 'json-profile', webhookTimeoutSeconds: 5 }));
  t.deepEqual(await readConfigFile('settings.json', dir), {
    path: path.join(dir, 'settings.json'),
    values: { profile: 'json-profile', webhookTimeoutSeconds: 5 },
  });
});

test('readConfigFile: the JSON default name is found when no YAML is there', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'bootstrap.config.json'), '{"registryPort": 5003}');
  t.deepEqual((await readConfigFile(undefined, dir)).values, { registryPort: 5003 });
});

test('readConfigFile: none present → no values; a named file missing → error', async (t) => {
  const dir = await tempDir(t);
  t.deepEqual(await readConfigFile(undefined, dir), { values: {} });
  const error = await t.throwsAsync(readConfigFile('missing.yaml', dir), { instanceOf: BootstrapError });
  t.true(error!.problem.startsWith(`Cannot read config file ${path.join(dir, 'missing.yaml')}`));
  t.is(error!.exitCode, 2);
});

test('readConfigFile: unparsable file → error naming the file', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'bootstrap.config.yaml');
  await writeFile(file, 'registryPort: [5000\nprofile: x\n');
  const error = await t.throwsAsync(readConfigFile(undefined, dir), { instanceOf: BootstrapError });
  t.true(error!.problem.startsWith(`Config file ${file} is not valid YAML or JSON`), error!.problem);
  t.is(error!.exitCode, 2);
});

test('readConfigFile: an unknown key in the file names the file', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'bootstrap.config.yaml');
  await writeFile(file, 'registry_port: 5000\n');
  await t.throwsAsync(readConfigFile(undefined, dir), {
    message: new RegExp(`Unknown setting 'registry_port' in ${file.replaceAll('.', '\\.')}`),
  });
});

test('splitImage', (t) => {
  t.deepEqual(splitImage('nginx:1.21.1'), { repository: 'nginx', tag: '1.21.1' });
  t.deepEqual(splitImage('localhost:5000/team/app:v2'), { repository: 'localhost:5000/team/app', tag: 'v2' });
});

test('mergeConfig: --driver none uses the one profile minikube allows there, and refuses another name', (t) => {
  const none = mergeConfig({ XDG_STATE_HOME: '/s' }, {}, { minikubeDriver: 'none' });
  t.is(none.profile, 'minikube');
  t.is(none.stateDir, '/s/opa-trusted-registry-bootstrap/minikube');
  t.is(mergeConfig({}, { profile: 'minikube' }, { minikubeDriver: 'none' }).profile, 'minikube');
  const error = t.throws(() => mergeConfig({}, {}, { minikubeDriver: 'none', profile: 'sandbox' }));
  t.regex(error!.message, /Invalid profile: "sandbox"[\s\S]*'minikube' with --driver none/);
  t.is(mergeConfig({}, {}, { minikubeDriver: 'docker' }).profile, 'trusted-registry');
});
