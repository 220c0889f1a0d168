// The test bed's coordinates, from the file scripts/testbed/up writes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TestbedEnv {
  KUBECONFIG: string;
  OPA: string;
  REGISTRY_HOST: string;
  TESTBED_DIR: string;
  [key: string]: string;
}

export function readTestbedEnv(): TestbedEnv {
  const dir = process.env.TESTBED_DIR ?? fileURLToPath(new URL('../../.testbed', import.meta.url));
  const file = path.join(dir, 'env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`No test bed at ${file}: run scripts/testbed/up first (npm run test:full does it for you).`);
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!.replace(/^['"]|['"]$/g, '');
  }
  for (const key of ['KUBECONFIG', 'OPA', 'REGISTRY_HOST']) {
    if (!values[key]) throw new Error(`${file} lacks ${key}: run scripts/testbed/up again.`);
  }
  return values as TestbedEnv;
}
