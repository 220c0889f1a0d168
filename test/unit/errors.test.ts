// How failures are shown: one formatter for every `✖ problem / → fix` block, byte for byte what it was before.
import { ApiException } from '@kubernetes/client-node';
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootstrapError, causeChain, debugDetails, formatError, formatProblem, GroupFailed, rootError } from '../../src/errors.js';
import { messages } from '../../src/messages.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

test('formatProblem: ✖ problem, and the fix on the next line after an arrow; without the mark for messages and notes', (t) => {
  t.is(formatProblem('It broke.', 'Mend it.'), '✖ It broke.\n  → Mend it.');
  t.is(formatProblem('It broke.'), '✖ It broke.');
  t.is(formatProblem('It broke.', 'Mend it.', { mark: false }), 'It broke.\n  → Mend it.');
});

test('formatError: a BootstrapError as problem and fix, anything else as its message; the same text as before', (t) => {
  const error = new BootstrapError('It broke.', 'Mend it.');
  t.is(error.message, 'It broke.\n  → Mend it.');
  t.is(formatError(error), `✖ ${error.message}`);
  t.is(formatError(new Error('socket hang up')), '✖ socket hang up');
  t.is(formatError('a string'), '✖ a string');
  t.is(formatError(rootError(new GroupFailed('Preflight', [error, new Error('other')]))), '✖ It broke.\n  → Mend it.');
});

test('the fixed messages built with formatProblem are byte for byte what they were', (t) => {
  t.is(messages.interrupted, '✖ Interrupted.\n  → Run the command again: every step picks up where it stopped.');
  t.is(
    messages.stalled,
    '✖ bootstrap stopped while a step was still waiting on an answer that never came.\n  → Run the command again: every step picks up where it stopped.',
  );
  t.is(
    messages.registryHostingNotOurs('kind-registry:5000', 'registry:5000'),
    "ConfigMap kube-public/local-registry-hosting exists, but bootstrap did not create it (it lacks the label app.kubernetes.io/managed-by=bootstrap), so it was left unchanged: Tilt and Skaffold will use the registry it names (kind-registry:5000), not ours (registry:5000).\n  → If it is left from another setup (kind's registry script, ctlptl, k3d), delete it (`kubectl -n kube-public delete configmap local-registry-hosting`) and run `bootstrap up` again; bootstrap never changes objects it did not create.",
  );
});

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}

test('no source file but errors.ts writes a ✖ mark or a → fix line itself (status’ ✔/✖ column aside)', async (t) => {
  const offenders: string[] = [];
  for (const file of await sources(SRC)) {
    if (path.relative(SRC, file) === 'errors.ts') continue;
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments
      if (line.includes("c.ok ? '✔' : '✖'")) return; // a status column, not a failure
      if (line.includes('✖') || line.includes('  → ')) offenders.push(`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(offenders, []);
});

test('causeChain: each level once, through Error causes, ending at a non-Error cause or a cycle', (t) => {
  const inner = new Error('inner', { cause: 'a string' });
  const outer = new BootstrapError('Outer.', 'Fix.', { cause: inner });
  t.deepEqual(causeChain(outer), [outer, inner, 'a string']);
  const loop = new Error('loop');
  loop.cause = loop;
  t.deepEqual(causeChain(loop), [loop]);
  t.deepEqual(causeChain(undefined), []);
});

test('formatError with debug: the block unchanged, then each cause’s class and message, then each stack', (t) => {
  const api = new ApiException(403, 'Unsuccessful HTTP Request', '{"message":"forbidden"}', {});
  const error = new BootstrapError('Cannot apply ConfigMap opa/image-policy: 403 Forbidden: forbidden', 'Use cluster-admin.', {
    cause: api,
  });
  const text = formatError(error, { debug: true });
  const block = '✖ Cannot apply ConfigMap opa/image-policy: 403 Forbidden: forbidden\n  → Use cluster-admin.';
  t.is(formatError(error), block);
  t.true(
    text.startsWith(
      `${block}\n\nCause chain:\n  BootstrapError: Cannot apply ConfigMap opa/image-policy: 403 Forbidden: forbidden\n  ← ApiException: HTTP-Code: 403\n    Message: Unsuccessful HTTP Request\n`,
    ),
    text,
  );
  t.regex(text, /\nStack:\n  BootstrapError\n {6}at .*errors\.test\.ts/);
  t.regex(text, /\n  ← ApiException\n {6}at /);
  t.is(debugDetails('just a string'), '\nCause chain:\n  string: just a string\nStack:\n  string (no stack)');
});
