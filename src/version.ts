// The package's own version, read from its package.json (beside src/ or dist/, one level below the package root).
import { readFileSync } from 'node:fs';

/** The `version` field of this package's package.json, e.g. `0.1.0`. Throws if the file is missing or has no version. */
export function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || !version) throw new Error('package.json has no version');
  return version;
}
