// The per-profile state directory: certificates, keys (0600), the kube-mgmt token, and the record of what `up` created.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What `up` created, so that `down` removes exactly that. */
export interface StateRecord {
  /** `up` created the minikube profile (rather than finding the user's). */
  createdProfile?: boolean;
  registryHost?: string;
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

  /** Private material: created 0600, and put back to 0600 if someone widened it. */
  async writeSecret(name: string, content: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.file(name), content, { mode: 0o600 });
    await chmod(this.file(name), 0o600);
  }

  async readRecord(): Promise<StateRecord> {
    const text = await this.read('state.json');
    return text ? (JSON.parse(text) as StateRecord) : {};
  }

  async updateRecord(change: Partial<StateRecord>): Promise<void> {
    await this.write('state.json', `${JSON.stringify({ ...(await this.readRecord()), ...change }, null, 2)}\n`);
  }

  async purge(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
