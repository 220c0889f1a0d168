// The real-minikube test bed's coordinates, from the file scripts/testbed/minikube-up writes.
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { readEnvFile } from './env-file.js';

export interface MinikubeEnv {
  PATH: string;
  MINIKUBE_HOME: string;
  KUBECONFIG: string;
  TESTBED_MINIKUBE_DRIVER: 'docker' | 'none';
  [key: string]: string;
}

/** .testbed/minikube.env as `set -a; . .testbed/minikube.env; set +a` reads it. */
export const readMinikubeEnv = () =>
  readEnvFile(
    'minikube.env',
    ['PATH', 'MINIKUBE_HOME', 'KUBECONFIG', 'TESTBED_MINIKUBE_DRIVER'],
    'scripts/testbed/minikube-up',
  ) as MinikubeEnv;

/**
 * The CLI's environment on the test bed as a user in CI has it (plain renderer): the test bed's PATH, MINIKUBE_HOME and
 * KUBECONFIG, `stateHome` for the CLI's state, and the OPA binary (TESTBED_OPA) for the policy checks.
 */
export const minikubeCliEnv = (env: MinikubeEnv, stateHome: string) => ({
  ...env,
  XDG_STATE_HOME: stateHome,
  CI: 'true',
  OPA: env.TESTBED_OPA,
});

/**
 * For the none-driver suites: makes sure the profile `minikube` runs, through the product's main path (`up --driver
 * none`, which passes --insecure-registry and AlwaysPullImages; converged in about a second when it is there). Returns
 * the kubeconfig with the context `minikube` current. Throws with up's output when up fails.
 */
export async function upOnNoneDriver(env: MinikubeEnv, stateHome: string): Promise<KubeConfig> {
  const made = await execa('npx', ['bootstrap', 'up', '--driver', 'none'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    reject: false,
    all: true,
    env: minikubeCliEnv(env, stateHome),
  });
  if (made.exitCode !== 0) throw new Error(`up --driver none failed:\n${made.all}`);
  const kc = new KubeConfig();
  kc.loadFromFile(env.KUBECONFIG);
  kc.setCurrentContext('minikube');
  return kc;
}
