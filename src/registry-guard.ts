// Whether other hosts can reach the registry through its container's addresses, and the rules that stop them: a
// pure plan from what Docker and the packet filter report, the read that feeds it, and the removal `down` does.
import type { EngineFacts } from './adapters/docker.js';
import type { GuardRule } from './adapters/firewall.js';
import type { Ctx } from './context.js';
import { desiredRegistrySpec } from './registry-container.js';
import { loadRegistrySpec } from './registry-spec.js';

/** Docker 28 drops routed traffic to containers' addresses itself (moby/moby#45610, "direct routing" protection). */
const PROTECTED_FROM_MAJOR = 28;

export type GuardPlan =
  /** No rule is needed here; why. */
  | { unneeded: string }
  /** The registry container does not run yet (a dry run before the first up): its addresses are not known. */
  | { pending: true }
  /** Rules are needed, but this process may not manage the packet filter (not root, or no iptables). */
  | { unmanageable: GuardRule[] }
  | { desired: GuardRule[]; add: GuardRule[]; remove: GuardRule[] };

export interface GuardInputs {
  /** This machine's platform (process.platform). */
  platform: string;
  engine: EngineFacts;
  container: string;
  /** The port the registry is published on at 127.0.0.1 (the host side of its port mapping). */
  publishedPort: number;
  /** The registry container's addresses (undefined: no such container yet). */
  addresses: { network: string; address: string; bridge?: string }[] | undefined;
  /** Our rules as the packet filter lists them; undefined when it may not be managed. */
  existing: GuardRule[] | undefined;
}

/** A rule as plans and status show it: `172.17.0.3 unless via docker0`, `127.0.0.1:5000 unless via lo`. */
export const describeGuardRule = (r: GuardRule) => `${r.address}${r.port === undefined ? '' : `:${r.port}`} unless via ${r.inInterface}`;

const sameRule = (a: GuardRule, b: GuardRule) =>
  a.address === b.address && a.inInterface === b.inInterface && a.port === b.port && a.container === b.container;

/**
 * Why other hosts cannot route to the container's addresses anyway, or undefined when they can: an engine older than
 * Docker 28 on this Linux machine, whose FORWARD rules accept a published port's traffic from any interface, even
 * when it is published on 127.0.0.1 only.
 */
export function routedAccessClosed(platform: string, engine: EngineFacts): string | undefined {
  if (platform !== 'linux' || engine.desktop) return 'the containers live in a VM that other hosts do not route to';
  if (!engine.local) return "the Docker engine is another machine's (DOCKER_HOST): its own packet filter decides";
  const major = Number.parseInt(engine.version, 10);
  if (major >= PROTECTED_FROM_MAJOR) return `Docker ${engine.version} drops routed traffic to containers itself`;
  return undefined;
}

/**
 * The rules the registry needs (127.0.0.1 at its port unless through lo, and one per bridge network it is on),
 * against ours that exist: what to add and remove.
 */
export function planRegistryGuard(input: GuardInputs): GuardPlan {
  const closed = routedAccessClosed(input.platform, input.engine);
  if (closed) return { unneeded: closed };
  if (!input.addresses) return { pending: true };
  const desired: GuardRule[] = [
    { container: input.container, address: '127.0.0.1', inInterface: 'lo', port: input.publishedPort },
    ...input.addresses
      .filter((a): a is { network: string; address: string; bridge: string } => Boolean(a.bridge))
      .map(({ address, bridge }) => ({ container: input.container, address, inInterface: bridge })),
  ];
  if (!input.existing) return { unmanageable: desired };
  const ours = input.existing.filter((r) => r.container === input.container);
  return {
    desired,
    add: desired.filter((d) => !ours.some((r) => sameRule(r, d))),
    remove: ours.filter((r) => !desired.some((d) => sameRule(r, d))),
  };
}

/**
 * Reads the engine, then (where the engine leaves routed access open) the registry container's addresses and our
 * rules; read-only. Throws when Docker does not answer.
 */
export async function readGuardPlan(ctx: Ctx): Promise<GuardPlan> {
  const spec = await desiredRegistrySpec(ctx);
  const { name } = spec;
  const publishedPort = Object.values(spec.ports)[0]!;
  const docker = await ctx.services.docker();
  const engine = await docker.engine();
  const closed = routedAccessClosed(ctx.services.platform, engine);
  if (closed) return { unneeded: closed };
  const [addresses, existing] = await Promise.all([docker.containerAddresses(name), ctx.services.firewall.guardRules()]);
  return planRegistryGuard({ platform: ctx.services.platform, engine, container: name, publishedPort, addresses, existing });
}

/**
 * down: our rules for the registry container, removed with it. Returns how many went; 0 when the packet filter may
 * not be managed here. Throws with iptables' words when it fails otherwise.
 */
export async function removeRegistryGuard(ctx: Ctx): Promise<number> {
  const { name } = await loadRegistrySpec(ctx.config.registryPort);
  const ours = ((await ctx.services.firewall.guardRules()) ?? []).filter((r) => r.container === name);
  let removed = 0;
  for (const rule of ours) if (await ctx.services.firewall.removeGuard(rule)) removed++;
  return removed;
}
