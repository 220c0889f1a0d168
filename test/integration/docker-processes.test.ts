// The Docker adapter's processes in containers against the real engine and the real OPA image: runOnce, how a custom
// policy is compiled when there is no opa binary (preflight's policy check, watch's compile), and exec, how the node
// step writes the containerd mirror into a container node. The OPA image is the one the test bed built
// (scripts/testbed/minikube/images.sh), under a tag of this test's own, removed afterwards.
import test from 'ava';
import Docker from 'dockerode';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDockerClient } from '../../src/adapters/docker.js';

const engine = new Docker();
/** Where minikube-up leaves the OPA image in this engine (it pushes it to the test bed's image registry). */
const SOURCES = ['openpolicyagent/opa:1.22.3', 'localhost:5001/openpolicyagent/opa:1.22.3'];
const IMAGE = 'bootstrap-test/opa-run-once:1.22.3';
let dir: string;
let source: string | undefined;

test.before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-run-once-'));
  for (const ref of SOURCES) {
    if (
      await engine
        .getImage(ref)
        .inspect()
        .then(
          () => true,
          () => false,
        )
    ) {
      source = ref;
      break;
    }
  }
  if (source) await engine.getImage(source).tag({ repo: 'bootstrap-test/opa-run-once', tag: '1.22.3' });
});

test.after.always(async () => {
  await engine
    .getImage(IMAGE)
    .remove()
    .catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

test.serial('runOnce: opa check in a one-off container; exit code and output come back; no container is left', async (t) => {
  if (!source) return t.fail(`no OPA image in this engine (${SOURCES.join(', ')}): run scripts/testbed/minikube-up first`);
  const docker = await createDockerClient();
  const good = path.join(dir, 'good.rego');
  const bad = path.join(dir, 'bad.rego');
  await writeFile(good, 'package ok\n\nallow if input.user == "alice"\n');
  await writeFile(bad, 'package bad\n\nallow if {\n');

  const passed = await docker.runOnce(IMAGE, ['check', '--strict', '/policy/good.rego'], [{ host: good, container: '/policy/good.rego' }]);
  t.is(passed.exitCode, 0, passed.stderr);
  const failed = await docker.runOnce(IMAGE, ['check', '--strict', '/policy/bad.rego'], [{ host: bad, container: '/policy/bad.rego' }]);
  t.is(failed.exitCode, 1);
  t.regex(failed.stderr + failed.stdout, /\/policy\/bad\.rego:\d+: rego_parse_error/);
  const left = await engine.listContainers({ all: true, filters: { ancestor: [IMAGE] } });
  t.deepEqual(left, [], 'the one-off containers are removed');
});

test.serial('runOnce: a missing image throws (the engine refuses), rather than answering as a failed check', async (t) => {
  const docker = await createDockerClient();
  await t.throwsAsync(docker.runOnce('bootstrap-test/no-such-image:0', ['check'], []));
});

test.serial('exec: argv in a running container; exit code, stdout and stderr apart; undefined for no such container', async (t) => {
  if (!source) return t.fail(`no OPA image in this engine (${SOURCES.join(', ')}): run scripts/testbed/minikube-up first`);
  const name = `bootstrap-test-exec-${process.pid}`;
  const container = await engine.createContainer({ name, Image: IMAGE, Cmd: ['run', '--server', '--addr=127.0.0.1:8181'] });
  t.teardown(() => container.remove({ force: true }).catch(() => undefined));
  await container.start();
  const [entrypoint] = (await container.inspect()).Config.Entrypoint as string[];
  const docker = await createDockerClient();

  const version = await docker.exec(name, [entrypoint!, 'version']);
  t.is(version?.exitCode, 0, version?.stderr);
  t.regex(version!.stdout, /^Version: 1\.22\.3$/m);
  const failed = await docker.exec(name, [entrypoint!, 'no-such-command']);
  t.not(failed?.exitCode, 0);
  t.regex(failed!.stderr, /unknown command "no-such-command"/);
  t.is(failed!.stdout, '');
  t.is(await docker.exec('bootstrap-test-no-such-container', ['true']), undefined);
});
