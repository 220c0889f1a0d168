// The real-minikube test bed's coordinates, from the file scripts/testbed/minikube-up writes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MinikubeEnv {
  PATH: string;
  MINIKUBE_HOME: string;
  KUBECONFIG: string;
  TESTBED_MINIKUBE_DRIVER: 'docker' | 'none';
  [key: string]: string;
}

/**
 * Reads .testbed/minikube.env (or $TESTBED_DIR/minikube.env) as `set -a; . file` would: `$PATH` in a value
 * is this process's PATH. Throws, naming the fix, when minikube-up has not run.
 */
export function readMinikubeEnv(): MinikubeEnv {
  const dir = process.env.TESTBED_DIR ?? fileURLToPath(new URL('../../.testbed', import.meta.url));
  const file = path.join(dir, 'minikube.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`No minikube test bed at ${file}: run scripts/testbed/minikube-up first (npm run test:full does it for you).`);
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!.replaceAll('$PATH', process.env.PATH ?? '');
  }
  for (const key of ['PATH', 'MINIKUBE_HOME', 'KUBECONFIG', 'TESTBED_MINIKUBE_DRIVER']) {
    if (!values[key]) throw new Error(`${file} lacks ${key}: run scripts/testbed/minikube-up again.`);
  }
  return values as MinikubeEnv;
}
