// The real-minikube test bed's coordinates, from the file scripts/testbed/minikube-up writes.
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
