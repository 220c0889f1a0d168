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
  /** Rules are needed, but this process cannot manage the packet filter (not root, or no iptables). */
  | { unmanageable: GuardRule[] }
  | { desired: GuardRule[]; add: GuardRule[]; remove: GuardRule[] };

export interface GuardInputs {
  /** This machine's platform (process.platform). */
  platform: string;
  engine: EngineFacts;
  container: string;
  /** The registry container's addresses (undefined: not made yet, in a dry run). */
  addresses: { network: string; address: string; bridge?: string }[] | undefined;
  /** Our rules as the packet filter lists them; undefined when it cannot be managed. */
  existing: GuardRule[] | undefined;
}

const sameRule = (a: GuardRule, b: GuardRule) => a.address === b.address && a.bridge === b.bridge && a.container === b.container;

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

/** The rules the registry needs (one per bridge network it is on), against ours that exist: what to add and remove. */
export function planRegistryGuard(input: GuardInputs): GuardPlan {
  const closed = routedAccessClosed(input.platform, input.engine);
  if (closed) return { unneeded: closed };
  const desired = (input.addresses ?? [])
    .filter((a): a is { network: string; address: string; bridge: string } => Boolean(a.bridge))
    .map(({ address, bridge }) => ({ container: input.container, address, bridge }));
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
  const { name } = await desiredRegistrySpec(ctx);
  const docker = await ctx.services.docker();
  const engine = await docker.engine();
  const closed = routedAccessClosed(ctx.services.platform, engine);
  if (closed) return { unneeded: closed };
  const [addresses, existing] = await Promise.all([docker.containerAddresses(name), ctx.services.firewall.guardRules()]);
  return planRegistryGuard({ platform: ctx.services.platform, engine, container: name, addresses, existing });
}

/** down: our rules for the registry container, removed with it. Returns how many; 0 when the packet filter cannot be managed. */
export async function removeRegistryGuard(ctx: Ctx): Promise<number> {
  const { name } = await loadRegistrySpec(ctx.config.registryPort);
  const ours = ((await ctx.services.firewall.guardRules()) ?? []).filter((r) => r.container === name);
  for (const rule of ours) await ctx.services.firewall.removeGuard(rule);
  return ours.length;
}
