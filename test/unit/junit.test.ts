// verify --junit: the XML is written by junit-report-builder and read back here by junit2json (xml2js), the way
// CI test reporters read it: one test case per check, a missed check as a <failure> carrying expected vs actual.
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, type TestSuite, type TestSuites } from 'junit2json';
import { writeTextFile } from '../../src/adapters/files.js';
import { verify } from '../../src/commands/verify.js';
import type { CheckResult } from '../../src/context.js';
import { BootstrapError } from '../../src/errors.js';
import { junitXml } from '../../src/junit.js';
import { makeCtx, upEnvironment } from '../helpers/fakes.js';
import { recordingIo } from '../helpers/run.js';

const CHECKS: CheckResult[] = [
  {
    name: 'untrusted registry (pod-bad-repo.yaml)',
    expected: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
    actual: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
    passed: true,
  },
  {
    name: 'latest tag (pod-bad-tag.yaml)',
    expected: "denied: Image 'r:5000/nginx:latest' used latest image",
    actual: 'admitted',
    passed: false,
  },
  // Characters XML must escape, in the name and in the texts.
  { name: 'odd <name> & "quotes"', expected: 'admitted', actual: 'denied: (403) a <b> & "c"', passed: false },
];

async function suiteOf(xml: string): Promise<TestSuite> {
  const { testsuite } = (await parse(xml)) as TestSuites;
  if (testsuite?.length !== 1) throw new Error(`expected one <testsuite>, got ${testsuite?.length}`);
  return testsuite[0]!;
}

test('junitXml: one test case per check, counts, time, properties; a miss is a failure with expected vs actual', async (t) => {
  const xml = junitXml({
    checks: CHECKS,
    suite: 'article',
    registryHost: 'r:5000',
    startedAt: new Date('2025-01-02T03:04:05Z'),
    seconds: 1.25,
  });
  t.true(xml.startsWith('<?xml'), xml.slice(0, 80));
  const suite = await suiteOf(xml);
  t.is(suite.name, 'bootstrap verify (article)');
  t.is(suite.tests, 3);
  t.is(suite.failures, 2);
  t.is(suite.errors, 0);
  t.is(suite.time, 1.25);
  t.is(suite.timestamp, '2025-01-02T03:04:05');
  t.deepEqual(suite.properties, [
    { name: 'suite', value: 'article' },
    { name: 'registryHost', value: 'r:5000' },
  ]);
  const cases = suite.testcase!;
  t.deepEqual(
    cases.map((c) => c.name),
    CHECKS.map((c) => c.name),
  );
  t.true(cases.every((c) => c.classname === 'bootstrap.verify.article'));
  t.is(cases[0]!.failure, undefined);
  t.deepEqual(cases[1]!.failure, [
    {
      message: "expected denied: Image 'r:5000/nginx:latest' used latest image, got admitted",
      type: 'mismatch',
      inner: "expected: denied: Image 'r:5000/nginx:latest' used latest image\nactual:   admitted",
    },
  ]);
  t.is(cases[2]!.failure![0]!.message, 'expected admitted, got denied: (403) a <b> & "c"');
  t.is(cases[2]!.failure![0]!.inner, 'expected: admitted\nactual:   denied: (403) a <b> & "c"');
});

test('junitXml: a verify that stopped before judging is one errored test case carrying the message', async (t) => {
  const suite = await suiteOf(
    junitXml({
      checks: [],
      suite: 'extended',
      startedAt: new Date(0),
      seconds: 0.5,
      error: 'Cannot reach the Kubernetes API at https://x: ECONNREFUSED.\n  → Check that the cluster is running',
    }),
  );
  t.is(suite.tests, 1);
  t.is(suite.errors, 1);
  t.is(suite.failures, 0);
  const [only] = suite.testcase!;
  t.is(only!.name, 'verify');
  t.deepEqual(only!.error, [
    {
      message: 'Cannot reach the Kubernetes API at https://x: ECONNREFUSED.',
      type: 'error',
      inner: 'Cannot reach the Kubernetes API at https://x: ECONNREFUSED.\n  → Check that the cluster is running',
    },
  ]);
});

test('verify --junit: the checks of a real run are written to the file asked for, and a miss still fails the command', async (t) => {
  // The fake cluster holds what up makes, but its admission admits everything, so the two denials are missed.
  const ctx = makeCtx(t, { registryHost: 'r.test:5000' }, { json: true, junit: '/results/junit.xml' });
  ctx.services.fakes.kube.seed(...upEnvironment());
  const io = recordingIo();
  const error = await t.throwsAsync(verify(ctx, io), { instanceOf: BootstrapError });
  t.regex(error!.message, /2 of 3 checks did not give the expected result/);
  t.deepEqual([...ctx.services.fakes.files.keys()], ['/results/junit.xml']);
  const suite = await suiteOf(ctx.services.fakes.files.get('/results/junit.xml')!);
  t.is(suite.tests, 3);
  t.is(suite.failures, 2);
  t.deepEqual(suite.properties?.find((p) => p.name === 'registryHost')?.value, 'r.test:5000');
  const json = JSON.parse(io.printed.join('\n')) as { failed: number };
  t.is(json.failed, 2, 'the JSON on stdout says the same');
});

test('verify --dry-run --junit writes no file, and says where the report would go', async (t) => {
  const ctx = makeCtx(t, { registryHost: 'r.test:5000' }, { dryRun: true, junit: '/results/junit.xml' });
  ctx.services.fakes.kube.seed(...upEnvironment());
  const io = recordingIo();
  await verify(ctx, io).catch(() => undefined);
  t.is(ctx.services.fakes.files.size, 0);
  t.true(
    io.warned.some((w) => w.includes('no JUnit report written') && w.includes('/results/junit.xml')),
    io.warned.join('\n'),
  );
});

test('verify without --junit writes no file', async (t) => {
  const ctx = makeCtx(t, { registryHost: 'r.test:5000' }, { json: true });
  await t.throwsAsync(verify(ctx, recordingIo()));
  t.is(ctx.services.fakes.files.size, 0);
});

test('verify --junit: an unwritable file is an error naming the path and the fix', async (t) => {
  const ctx = makeCtx(t, { registryHost: 'r.test:5000' }, { json: true, junit: '/ro/junit.xml' });
  ctx.services.fakes.kube.seed(...upEnvironment());
  // Every check passes here, so the only failure is the write.
  ctx.services.fakes.kube.admission = (_op, pod) => {
    const image = (pod as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image;
    if (image === 'r.test:5000/nginx:1.21.1') return { allowed: true, code: 201, message: '' };
    const reason = image.startsWith('r.test:5000/')
      ? `Image '${image}' used latest image`
      : `Image '${image}' comes from untrusted registry`;
    return {
      allowed: false,
      code: 400,
      message: `admission webhook "validating-webhook.openpolicyagent.org" denied the request: ${reason}`,
    };
  };
  ctx.services.writeFile = async () => {
    throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
  };
  const error = await t.throwsAsync(verify(ctx, recordingIo()), { instanceOf: BootstrapError });
  t.is(error!.problem, 'Cannot write the JUnit results to /ro/junit.xml: EROFS: read-only file system.');
  t.regex(error!.fix, /--junit/);
});

test('writeTextFile: makes the directory and writes the whole content', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a', 'b', 'junit.xml');
  await writeTextFile(file, '<x/>');
  t.is(await readFile(file, 'utf8'), '<x/>');
  await writeTextFile(file, '<y/>');
  t.is(await readFile(file, 'utf8'), '<y/>');
});
