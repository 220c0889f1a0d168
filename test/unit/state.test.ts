// The state directory adapter on a real temporary directory.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { StateStore } from '../../src/adapters/state.js';
import { STATE_FILES } from '../../src/adapters/state.js';

async function store(t: { teardown: (fn: () => Promise<void>) => void }) {
  const root = await mkdtemp(path.join(tmpdir(), 'state-test-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return new StateStore(path.join(root, 'state'));
}

test('writeSecret: 0600 even over a file someone widened, and no temporary file left', async (t) => {
  const state = await store(t);
  await state.write('tls.key', 'old');
  t.is((await stat(state.file('tls.key'))).mode & 0o777, 0o644);
  await state.writeSecret('tls.key', 'new');
  t.is((await stat(state.file('tls.key'))).mode & 0o777, 0o600);
  t.is(await state.read('tls.key'), 'new');
  t.deepEqual(await readdir(state.dir), ['tls.key']);
});

test('purge removes the files bootstrap writes, never anything else in the directory', async (t) => {
  const state = await store(t);
  for (const name of STATE_FILES) await state.writeSecret(name, 'x');
  await state.updateRecord({ createdProfile: true });
  await writeFile(state.file('notes.txt'), 'the user’s');
  await state.purge(STATE_FILES);
  t.deepEqual(await readdir(state.dir), ['notes.txt']);

  await rm(state.file('notes.txt'));
  await state.writeSecret('ca.key', 'x');
  await state.purge(STATE_FILES);
  t.false(existsSync(state.dir), 'an emptied directory goes too');
  await t.notThrowsAsync(state.purge(STATE_FILES), 'purging nothing is fine');
});
