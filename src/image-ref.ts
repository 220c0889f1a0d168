// Image references and registry addresses, as Docker reads them: what config validation, the registry step, verify
// and status agree on.

const HOST_PORT = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/;

/** A registry address as it appears in an image reference: lowercase host or IP, optional port. */
export function isRegistryHost(value: string): boolean {
  const match = HOST_PORT.exec(value);
  if (!match) return false;
  const port = match[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/** repository:tag with an explicit tag (a registry port is not a tag) and no digest. */
export function hasExplicitTag(image: string): boolean {
  const colon = image.lastIndexOf(':');
  return !/[\s@]/.test(image) && colon > image.lastIndexOf('/') && /^\w[\w.-]{0,127}$/.test(image.slice(colon + 1));
}

/**
 * Where the trusted image lives in our registry: its repository without the registry it came from and without
 * Docker Hub's `library/` (nginx:1.21.1, docker.io/library/nginx:1.21.1 and ghcr.io/x/nginx:1.21.1 → nginx:1.21.1, x/nginx:1.21.1).
 */
export function trustedImagePath(image: string): { repository: string; tag: string; ref: string } {
  const { repository, tag } = splitImage(image);
  // Docker's rule: the first component names a registry when it has a dot or a colon, or is localhost.
  const [first, ...rest] = repository.split('/');
  const withoutRegistry = rest.length && (/[.:]/.test(first!) || first === 'localhost') ? rest.join('/') : repository;
  const path = withoutRegistry.replace(/^library\//, '');
  return { repository: path, tag, ref: `${path}:${tag}` };
}

/** Splits `repository:tag` (validated above). */
export function splitImage(image: string): { repository: string; tag: string } {
  const at = image.lastIndexOf(':');
  return { repository: image.slice(0, at), tag: image.slice(at + 1) };
}
