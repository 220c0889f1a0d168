// Small network probes: is a TCP port free here, and does the registry's HTTP API answer.
import { createServer } from 'node:net';

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(true);
      else reject(error);
    });
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(false)));
  });
}

export interface RegistryApi {
  /** GET /v2/ answers 200. */
  ping(baseUrl: string): Promise<boolean>;
  /** The manifest repository:tag exists. */
  hasManifest(baseUrl: string, repository: string, tag: string): Promise<boolean>;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export const registryApi: RegistryApi = {
  async ping(baseUrl) {
    try {
      const response = await fetch(`${baseUrl}/v2/`, { signal: AbortSignal.timeout(2000) });
      return response.status === 200;
    } catch {
      return false;
    }
  },
  async hasManifest(baseUrl, repository, tag) {
    const response = await fetch(`${baseUrl}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_TYPES },
      signal: AbortSignal.timeout(5000),
    });
    return response.status === 200;
  },
};
