// Assembles the real side-effect boundaries. Heavy modules load only when a command first needs them.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execaRunner } from './adapters/cmd.js';
import type { DockerClient } from './adapters/docker.js';
import { HostFirewall } from './adapters/firewall.js';
import type { KubeClient } from './adapters/kube.js';
import { Minikube } from './adapters/minikube.js';
import { portInUse, registryApi } from './adapters/net.js';
import { writeTextFile } from './adapters/files.js';
import { StateStore } from './adapters/state.js';
import type { Config } from './config.js';
import type { Services } from './context.js';

export function createServices(config: Config, env: NodeJS.ProcessEnv = process.env): Services {
  let docker: Promise<DockerClient> | undefined;
  const kubes = new Map<string, Promise<KubeClient>>();
  return {
    cmd: execaRunner,
    minikube: new Minikube(execaRunner, env.MINIKUBE_BINARY || 'minikube'),
    docker() {
      docker ??= import('./adapters/docker.js').then((m) => m.createDockerClient());
      return docker;
    },
    kube(contextName) {
      const key = contextName ?? '';
      if (!kubes.has(key)) {
        kubes.set(
          key,
          import('./adapters/kube.js').then(async (m) => m.createKubeClient(await m.loadKubeConfig(contextName))),
        );
      }
      return kubes.get(key)!;
    },
    registryApi,
    firewall: new HostFirewall(execaRunner, env.IPTABLES_BINARY || 'iptables'),
    platform: process.platform,
    state: new StateStore(config.stateDir),
    portInUse,
    writeFile: writeTextFile,
    now: () => new Date(),
    sleep: (ms) => delay(ms),
    async opaBinary() {
      const candidates = [env.OPA, ...(env.PATH ?? '').split(path.delimiter).map((dir) => dir && path.join(dir, 'opa'))];
      for (const candidate of candidates) {
        if (!candidate) continue;
        try {
          await access(candidate);
          return candidate;
        } catch {
          /* next */
        }
      }
      return undefined;
    },
  };
}
