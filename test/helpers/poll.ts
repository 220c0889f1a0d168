// One poll helper for the end-to-end suites: real clusters settle in their own time.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `probe` every `everyMs` until it returns a truthy value, which it returns; a probe that throws counts as "not
 * yet". Throws `timed out waiting for <what>` after `ms` milliseconds.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 90_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(everyMs);
  }
}
