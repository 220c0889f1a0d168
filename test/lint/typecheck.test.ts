// The TypeScript compiler over src/, test/ and scripts/: tests run through tsx, which strips types without checking them.
import test from 'ava';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

test('tsc --noEmit: no type errors anywhere in the project', async (t) => {
  const result = await execa('npx', ['--no-install', 'tsc', '--noEmit', '-p', 'tsconfig.json'], { cwd: repo, reject: false, all: true });
  t.is(result.exitCode, 0, result.all);
});
