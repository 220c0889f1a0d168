// The per-profile state directory: certificates, keys (0600), the kube-mgmt token, and the record of what `up` created.
import { chmod, mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What `up` created, so that `down` removes exactly that. */
/** The certificate and key files in the state directory (keys written 0600). */
export const CERTIFICATE_FILES = { caKey: 'ca.key', caCert: 'ca.crt', serverKey: 'tls.key', serverCert: 'tls.crt' } as const;
export const TOKEN_FILE = 'kube-mgmt.token';
/** The record of what `up` created (StateRecord). */
export const STATE_RECORD = 'state.json';
/** Every file `up` writes into the state directory (besides its record), for `down --purge`. */
export const STATE_FILES = [...Object.values(CERTIFICATE_FILES), TOKEN_FILE];

export interface StateRecord {
  /** `up` created the minikube profile (rather than finding the user's). */
  createdProfile?: boolean;
  registryHost?: string;
  /** VM drivers: the host address the node reaches the registry at, found from the node (src/registry-access.ts). */
  registryNodeAddress?: string;
}

export class StateStore {
  constructor(readonly dir: string) {}

  file(name: string): string {
    return path.join(this.dir, name);
  }

  async read(name: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(name: string, content: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.file(name), content, { mode: 0o644 });
  }

  /**
   * Private material: written to a new 0600 file, then renamed over the old one, so the secret is never in a file
   * someone widened, not even for a moment.
   */
  async writeSecret(name: string, content: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temporary = this.file(`.${name}.${process.pid}.tmp`);
    await rm(temporary, { force: true });
    await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600); // whatever the umask
    await rename(temporary, this.file(name));
  }

  async readRecord(): Promise<StateRecord> {
    const text = await this.read(STATE_RECORD);
    return text ? (JSON.parse(text) as StateRecord) : {};
  }

  async updateRecord(change: Partial<StateRecord>): Promise<void> {
    await this.write(STATE_RECORD, `${JSON.stringify({ ...(await this.readRecord()), ...change }, null, 2)}\n`);
  }

  /** Removes the files bootstrap writes, and the directory if that leaves it empty: never anything else in it. */
  async purge(names: readonly string[]): Promise<void> {
    await Promise.all([...names, STATE_RECORD].map((name) => rm(this.file(name), { force: true })));
    try {
      await rmdir(this.dir);
    } catch (error) {
      if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
}
