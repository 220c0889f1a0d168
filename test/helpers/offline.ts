// The CLI with nothing to talk to (shared by the CLI and terminal tests): a private directory as HOME and state
// directory, a PATH that holds node alone (no minikube, docker or kubectl from this machine), and a Docker engine
// address where nothing listens. Every check that needs Docker, minikube or a cluster fails, quickly and alike.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Owner } from './fakes.js';

/** The CLI's entry point (dist/ when built, else the TypeScript source through tsx). */
export const BIN = fileURLToPath(new URL('../../bin/bootstrap.js', import.meta.url));

/** A fresh directory for one test, with `bin/node` in it; removed when the test ends. */
export async function offlineDir(t: Owner): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bootstrap-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'bin'));
  await symlink(process.execPath, path.join(dir, 'bin', 'node'));
  return dir;
}

/** The environment for the CLI in `dir` (from offlineDir): no KUBECONFIG, so kubeconfig is `dir/.kube/config`. */
export function offlineEnv(dir: string): Record<string, string> {
  return {
    PATH: path.join(dir, 'bin'),
    HOME: dir,
    XDG_STATE_HOME: path.join(dir, 'state'),
    DOCKER_HOST: `unix://${path.join(dir, 'no-docker.sock')}`,
  };
}
