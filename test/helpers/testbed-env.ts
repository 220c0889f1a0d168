// The test bed's coordinates, from the file scripts/testbed/up writes.
import { readEnvFile } from './env-file.js';

export interface TestbedEnv {
  KUBECONFIG: string;
  OPA: string;
  REGISTRY_HOST: string;
  TESTBED_DIR: string;
  [key: string]: string;
}

export const readTestbedEnv = () => readEnvFile('env', ['KUBECONFIG', 'OPA', 'REGISTRY_HOST'], 'scripts/testbed/up') as TestbedEnv;
