// This machine's packet filter (iptables, raw table), narrowed to the rules that keep the registry's container
// addresses from other hosts. Thin: argv comes from pure functions (guardArgv), shared with the dry run's plan.
import { CommandNotFoundError, type CmdRunner } from './cmd.js';

/**
 * One rule: drop packets to `address` (the registry container's IPv4 on one Docker network) that do not come in
 * through `bridge` (that network's Linux bridge). What this machine sends itself (the 127.0.0.1 publication) takes
 * the OUTPUT path and is not matched; a container or node on the same network comes in through the bridge.
 * Docker 28 adds the same kind of rule for every container (moby/moby#45610); older engines accept routed traffic
 * to a published container port from any interface.
 */
export interface GuardRule {
  /** The registry container's name: each rule says whose it is in its comment, so `down` removes only ours. */
  container: string;
  address: string;
  bridge: string;
}

/** The comment that marks our rules: `bootstrap-registry-guard:<container>`. */
export const GUARD_COMMENT_PREFIX = 'bootstrap-registry-guard:';

/** iptables argv to insert (-I) or delete (-D) the rule, in the raw table's PREROUTING chain (before Docker's NAT and filter). */
export function guardArgv(op: '-I' | '-D', rule: GuardRule): string[] {
  return [
    '-t',
    'raw',
    op,
    'PREROUTING',
    '-d',
    `${rule.address}/32`,
    '!',
    '-i',
    rule.bridge,
    '-m',
    'comment',
    '--comment',
    `${GUARD_COMMENT_PREFIX}${rule.container}`,
    '-j',
    'DROP',
  ];
}

/** Our rules among `iptables -t raw -S PREROUTING` lines (iptables prints the rule as guardArgv wrote it, with -A). */
export function parseGuardRules(listing: string): GuardRule[] {
  const rules: GuardRule[] = [];
  const pattern = new RegExp(`^-A PREROUTING -d (\\S+)/32 ! -i (\\S+) -m comment --comment "?${GUARD_COMMENT_PREFIX}([^"\\s]+)"? -j DROP$`);
  for (const line of listing.split('\n')) {
    const m = pattern.exec(line.trim());
    if (m) rules.push({ address: m[1]!, bridge: m[2]!, container: m[3]! });
  }
  return rules;
}

/** The packet filter as bootstrap uses it; HostFirewall is the real one, tests use a fake that keeps rules in memory. */
export interface Firewall {
  /**
   * Our rules as they are now; undefined when this process cannot manage the packet filter (no iptables binary, or it
   * refuses: not root). Never throws for those.
   */
  guardRules(): Promise<GuardRule[] | undefined>;
  /** Inserts the rule; throws with iptables' words when it refuses. */
  addGuard(rule: GuardRule): Promise<void>;
  /** Deletes the rule; false when it was not there. */
  removeGuard(rule: GuardRule): Promise<boolean>;
}

export class HostFirewall implements Firewall {
  constructor(
    private readonly cmd: CmdRunner,
    private readonly binary = 'iptables',
  ) {}

  async guardRules(): Promise<GuardRule[] | undefined> {
    try {
      const listed = await this.cmd.run(this.binary, ['-t', 'raw', '-S', 'PREROUTING'], { timeoutMs: 10_000 });
      return listed.exitCode === 0 ? parseGuardRules(listed.stdout) : undefined;
    } catch (error) {
      if (error instanceof CommandNotFoundError) return undefined;
      throw error;
    }
  }

  async addGuard(rule: GuardRule): Promise<void> {
    await this.must(guardArgv('-I', rule));
  }

  async removeGuard(rule: GuardRule): Promise<boolean> {
    const result = await this.cmd.run(this.binary, guardArgv('-D', rule), { timeoutMs: 10_000 });
    return result.exitCode === 0;
  }

  private async must(args: string[]): Promise<void> {
    const result = await this.cmd.run(this.binary, args, { timeoutMs: 10_000 });
    if (result.exitCode !== 0) throw new Error(`${this.binary} ${args.join(' ')}: ${(result.stderr || result.stdout).trim()}`);
  }
}
