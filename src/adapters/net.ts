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
  /** The digest the registry gives repository:tag (Docker-Content-Digest), if it has it. */
  manifestDigest(baseUrl: string, repository: string, tag: string): Promise<string | undefined>;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/**
 * fetch with a deadline that keeps the process alive until it fires. AbortSignal.timeout's timer does not
 * (it is unref'd): a request stuck on a connection the registry's port proxy accepted and dropped could leave
 * nothing to wait on, and Node would exit (code 13) in the middle of `up`.
 */
export async function fetchWithin(url: string, ms: number, init: RequestInit = {}): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} within ${ms} ms`)), ms);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    // Read to the end under the same deadline: the connection is free again, and nothing is left pending.
    const body = await response.arrayBuffer();
    return new Response(body.byteLength ? body : null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  } finally {
    clearTimeout(timer);
  }
}

const headManifest = (baseUrl: string, repository: string, tag: string) =>
  fetchWithin(`${baseUrl}/v2/${repository}/manifests/${tag}`, 5000, { method: 'HEAD', headers: { Accept: MANIFEST_TYPES } });

export const registryApi: RegistryApi = {
  async ping(baseUrl) {
    try {
      return (await fetchWithin(`${baseUrl}/v2/`, 2000)).status === 200;
    } catch {
      return false;
    }
  },
  async hasManifest(baseUrl, repository, tag) {
    return (await headManifest(baseUrl, repository, tag)).status === 200;
  },
  async manifestDigest(baseUrl, repository, tag) {
    const response = await headManifest(baseUrl, repository, tag);
    return response.status === 200 ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
  },
};
