// The files the test bed writes for `set -a; . FILE; set +a`, read the way that shell line would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Reads `$TESTBED_DIR/<name>` (default: the repository's .testbed/): `KEY=value` lines, quotes stripped, `$PATH`
 * replaced by this process's PATH. Throws, naming `setUp` (the script that writes it), when the file is missing or
 * lacks one of `required`.
 */
export function readEnvFile(name: string, required: readonly string[], setUp: string): Record<string, string> {
  const dir = process.env.TESTBED_DIR ?? fileURLToPath(new URL('../../.testbed', import.meta.url));
  const file = path.join(dir, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`No test bed at ${file}: run ${setUp} first (npm run test:full does it for you).`);
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!.replace(/^['"]|['"]$/g, '').replaceAll('$PATH', process.env.PATH ?? '');
  }
  for (const key of required) {
    if (!values[key]) throw new Error(`${file} lacks ${key}: run ${setUp} again.`);
  }
  return values;
}
