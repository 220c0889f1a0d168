// `bootstrap watch` as a child process whose output is followed: the e2e test of watch and the benchmark's watch row
// both save a policy file and wait for the line that reports the save.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { until } from './poll.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `bootstrap watch ARGS` in the checkout with `env` added to this process's environment. */
export function startWatch(args: string[], env: Record<string, string | undefined>) {
  const child = execa(process.execPath, [path.join(repo, 'bin/bootstrap.js'), 'watch', ...args], {
    cwd: repo,
    reject: false,
    all: true,
    env,
  });
  let output = '';
  child.all!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    /** Everything watch printed so far, stdout and stderr as they came. */
    get output() {
      return output;
    },
    /** Waits until `pattern` shows in what watch printed after the first `from` characters; fails if watch exits first. */
    async waitFor(pattern: RegExp, from: number, ms = 120_000): Promise<void> {
      const seen = await until(
        `watch to print ${pattern}`,
        async () => (pattern.test(output.slice(from)) ? 'printed' : child.exitCode !== null ? 'exited' : undefined),
        ms,
        20,
      );
      if (seen === 'exited') throw new Error(`watch exited before it printed ${pattern}:\n${output}`);
    },
  };
}
