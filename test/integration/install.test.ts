// The install-script decisions in package.json's allowScripts, tested the way npm 12 will install: a fresh copy of
// the checkout, `npm ci --strict-allow-scripts` (an install script not reviewed in allowScripts fails the install;
// denied ones are skipped). Then: no allow-scripts warning, the denied scripts did not run, and the tool still works
// without what they would have built (native ssh2/cpu-features bindings, esbuild's binary swap).
import test from 'ava';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const versionAtLeast = (version: string, wanted: [number, number]) => {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
};
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

test('allowScripts reviews every dependency install script: a fresh npm ci with scripts blocked installs quietly and the tool works', async (t) => {
  const npmVersion = (await execa('npm', ['--version'])).stdout.trim();
  t.true(versionAtLeast(npmVersion, [11, 16]), `npm ${npmVersion} has no allowScripts (npm ≥ 11.16 needed for this test)`);

  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  t.deepEqual(manifest.allowScripts, { 'cpu-features': false, esbuild: false, protobufjs: false, ssh2: false });

  // A fresh clone: the files git knows (committed or not), nothing built, no node_modules.
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-install-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) if (await exists(path.join(root, file))) await cp(path.join(root, file), path.join(dir, file));

  const install = await execa('npm', ['ci', '--strict-allow-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    all: true,
    reject: false,
    env: { npm_config_loglevel: 'warn' },
    timeout: 150_000,
  });
  t.is(install.exitCode, 0, install.all);
  t.notRegex(install.all, /install-scripts|allowScripts|allow-scripts/i, install.all);
  // Our own `prepare` (the TypeScript build) is not a dependency's script: it still runs.
  t.true(await exists(path.join(dir, 'dist', 'cli.js')), 'prepare built dist/');

  // The denied scripts did not run: no native builds, and esbuild's launcher is still its JS shim.
  const modules = path.join(dir, 'node_modules');
  t.false(await exists(path.join(modules, 'cpu-features', 'build')));
  t.false(await exists(path.join(modules, 'ssh2', 'lib', 'protocol', 'crypto', 'build')));
  t.regex(await readFile(path.join(modules, 'esbuild', 'bin', 'esbuild'), 'utf8'), /^#!\/usr\/bin\/env node/);

  // ssh2 (through dockerode) loads without its native bindings and falls back to JavaScript.
  const loads = await execa(process.execPath, ['-e', "require('ssh2'); require('dockerode'); console.log('ok')"], { cwd: dir });
  t.is(loads.stdout, 'ok');
  // tsx (tests, and the CLI in a checkout without dist/) transforms TypeScript through esbuild's platform package.
  await writeFile(path.join(dir, 'probe.ts'), 'const n: number = 41;\nconsole.log(n + 1);\n');
  t.is((await execa(process.execPath, ['--import', 'tsx', 'probe.ts'], { cwd: dir })).stdout, '42');

  const bin = path.join(dir, 'bin', 'bootstrap.js');
  const version = await execa(process.execPath, [bin, '--version'], { cwd: dir });
  t.is(version.stdout, (JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version);
  // The Docker engine through dockerode/docker-modem, as installed: doctor's first check.
  const doctor = await execa(process.execPath, [bin, 'doctor', '--cluster', 'existing'], {
    cwd: dir,
    all: true,
    reject: false,
    env: { CI: 'true', KUBECONFIG: path.join(dir, 'no-kubeconfig') },
  });
  t.regex(doctor.all, /✔ Docker engine: Docker \d+/, doctor.all);
});

test('allowScripts: with any one entry dropped, npm ci --strict-allow-scripts refuses before installing anything (ESTRICTALLOWSCRIPTS)', async (t) => {
  const npmVersion = (await execa('npm', ['--version'])).stdout.trim();
  t.true(versionAtLeast(npmVersion, [11, 16]), `npm ${npmVersion} has no allowScripts (npm ≥ 11.16 needed for this test)`);
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
  const entries = Object.keys(manifest.allowScripts);
  t.true(entries.length > 0);
  for (const dropped of entries) {
    // The manifest and the lockfile are all npm ci reads before it refuses: its check runs on the tree the lockfile
    // describes, before anything is fetched. --offline and a cache of its own keep it so.
    const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-install-strict-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const { [dropped]: _dropped, ...rest } = manifest.allowScripts;
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ ...manifest, allowScripts: rest }, null, 2));
    await cp(path.join(root, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    const install = await execa(
      'npm',
      ['ci', '--strict-allow-scripts', '--offline', '--no-audit', '--no-fund', '--cache', path.join(dir, 'cache')],
      {
        cwd: dir,
        all: true,
        reject: false,
        timeout: 60_000,
      },
    );
    t.not(install.exitCode, 0, `${dropped}: ${install.all}`);
    t.regex(install.all, /\bESTRICTALLOWSCRIPTS\b/, dropped);
    t.regex(install.all, new RegExp(`not covered by allowScripts:\\n(npm error +\\S+ \\(.*\\)\\n)*npm error +${dropped}@\\d`), dropped);
    t.false(await exists(path.join(dir, 'node_modules')), `${dropped}: nothing installed`);
  }
});
