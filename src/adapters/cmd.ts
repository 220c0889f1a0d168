// The one way bootstrap runs another program. Tests swap in a fake that records argv.
export interface CmdResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CmdOptions {
  /** Stream output lines (e.g. into a listr task's output) while the command runs. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface CmdRunner {
  /** Runs `file args…`; resolves with the exit code (never throws for a non-zero exit), rejects if it cannot start. */
  run(file: string, args: readonly string[], options?: CmdOptions): Promise<CmdResult>;
}

export class CommandNotFoundError extends Error {
  constructor(readonly file: string) {
    super(`${file}: command not found`);
  }
}

export const execaRunner: CmdRunner = {
  async run(file, args, options = {}) {
    const { execa } = await import('execa');
    const subprocess = execa(file, args, {
      reject: false,
      stdin: 'ignore',
      timeout: options.timeoutMs,
      env: options.env,
      lines: false,
    });
    if (options.onLine) {
      const onLine = options.onLine;
      const forward = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) onLine(line.trimEnd());
      };
      subprocess.stdout?.on('data', forward);
      subprocess.stderr?.on('data', forward);
    }
    const result = await subprocess;
    if ((result as { code?: string }).code === 'ENOENT') throw new CommandNotFoundError(file);
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? 1 };
  },
};

/** The command line as a user would type it, for dry-run output and error messages. */
export function formatCommand(file: string, args: readonly string[]): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
  return [file, ...args].map(quote).join(' ');
}
