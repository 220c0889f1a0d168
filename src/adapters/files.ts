// Files the user asked for (verify --junit): written whole, parent directories made as needed.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes `content` (UTF-8) to `file`, creating its directory; through a temporary file, so a reader never sees half of it. */
export async function writeTextFile(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, file);
}
