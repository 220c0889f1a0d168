// One style for every source file, whoever wrote it: prettier (.prettierrc.json) must have nothing to change.
import test from 'ava';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

test('npm run format:check: every source file is formatted', async (t) => {
  const result = await execa('npm', ['run', '--silent', 'format:check'], { cwd: repo, reject: false, all: true });
  t.is(result.exitCode, 0, `${result.all}\nRun npm run format to fix.`);
});
