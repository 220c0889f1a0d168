// This machine's packet filter (iptables, raw table), narrowed to the rules that keep the registry's addresses from
// other hosts. Thin: argv comes from pure functions (guardArgv), shared with the dry run's plan and the notes.
import { messages } from '../messages.js';
import { CommandNotFoundError, formatCommand, type CmdRunner } from './cmd.js';

/**
 * One rule: drop packets to `address` (and `port`, when given) that do not come in through `inInterface`. Two kinds:
 * - the registry container's IPv4 on one Docker network, unless through that network's Linux bridge: a container or
 *   node on the same network comes in through the bridge;
 * - 127.0.0.1 and the registry's published port, unless through `lo`: Docker's NAT rule for a port published on
 *   127.0.0.1 matches any interface, so a neighbour's packet to 127.0.0.1 sent to this machine's MAC is forwarded
 *   (where route_localnet is on, as kube-proxy sets it).
 * What this machine sends itself takes the OUTPUT path and is not matched. Docker 28 adds rules of this kind for
 * every container (moby/moby#45610); older engines accept such routed traffic. Rules live until a reboot.
 */
export interface GuardRule {
  /** The registry container's name: each rule says whose it is in its comment, so `down` removes only ours. */
  container: string;
  address: string;
  inInterface: string;
  /** TCP destination port; undefined: any. */
  port?: number;
}

/** The comment that marks our rules: `bootstrap-registry-guard:<container>`. */
export const GUARD_COMMENT_PREFIX = 'bootstrap-registry-guard:';

/** How long iptables waits for the xtables lock that dockerd and kube-proxy also take, in seconds. */
const LOCK_WAIT_SECONDS = '5';

/**
 * iptables argv to check (-C), insert (-I) or delete (-D) the rule, in the raw table's PREROUTING chain (before
 * Docker's NAT and filter), waiting for the xtables lock.
 */
export function guardArgv(op: '-C' | '-I' | '-D', rule: GuardRule): string[] {
  return [
    '-w',
    LOCK_WAIT_SECONDS,
    '-t',
    'raw',
    op,
    'PREROUTING',
    '-d',
    `${rule.address}/32`,
    '!',
    '-i',
    rule.inInterface,
    ...(rule.port === undefined ? [] : ['-p', 'tcp', '--dport', String(rule.port)]),
    '-m',
    'comment',
    '--comment',
    `${GUARD_COMMENT_PREFIX}${rule.container}`,
    '-j',
    'DROP',
  ];
}

/** Our rules among `iptables -t raw -S PREROUTING` lines (iptables prints a rule guardArgv made with -A, `-m tcp`, maybe quotes). */
export function parseGuardRules(listing: string): GuardRule[] {
  const rules: GuardRule[] = [];
  const pattern = new RegExp(
    `^-A PREROUTING -d (\\S+)/32 ! -i (\\S+)(?: -p tcp -m tcp --dport (\\d+))? -m comment --comment "?${GUARD_COMMENT_PREFIX}([^"\\s]+)"? -j DROP$`,
  );
  for (const line of listing.split('\n')) {
    const m = pattern.exec(line.trim());
    if (m) rules.push({ container: m[4]!, address: m[1]!, inInterface: m[2]!, ...(m[3] ? { port: Number(m[3]) } : {}) });
  }
  return rules;
}

/** The packet filter as bootstrap uses it; HostFirewall is the real one, tests use a fake that keeps rules in memory. */
export interface Firewall {
  /**
   * Our rules as they are now; undefined when this process may not manage the packet filter (no iptables binary, or
   * it is refused for want of privilege: not root). Throws with iptables' words for any other failure.
   */
  guardRules(): Promise<GuardRule[] | undefined>;
  /** Inserts the rule; throws with iptables' words when it refuses. */
  addGuard(rule: GuardRule): Promise<void>;
  /** Deletes the rule; false when it was not there; throws with iptables' words for any other failure. */
  removeGuard(rule: GuardRule): Promise<boolean>;
}

/** iptables' words for "not allowed": legacy says "Permission denied (you must be root)", nft "Operation not permitted". */
const NOT_PERMITTED = /permission denied|must be root|operation not permitted/i;
/** -D of a rule that is not there: "Bad rule (does a matching rule exist in that chain?)". */
const NO_SUCH_RULE = /does a matching rule exist|bad rule/i;

export class HostFirewall implements Firewall {
  constructor(
    private readonly cmd: CmdRunner,
    private readonly binary = 'iptables',
  ) {}

  async guardRules() {
    const args = ['-w', LOCK_WAIT_SECONDS, '-t', 'raw', '-S', 'PREROUTING'];
    let listed;
    try {
      listed = await this.run(args);
    } catch (error) {
      if (error instanceof CommandNotFoundError) return undefined;
      throw error;
    }
    if (listed.exitCode === 0) return parseGuardRules(listed.stdout);
    if (NOT_PERMITTED.test(listed.stderr)) return undefined;
    throw this.failure(args, listed.stderr || listed.stdout);
  }

  async addGuard(rule: GuardRule) {
    const args = guardArgv('-I', rule);
    const result = await this.run(args);
    if (result.exitCode !== 0) throw this.failure(args, result.stderr || result.stdout);
  }

  async removeGuard(rule: GuardRule) {
    const args = guardArgv('-D', rule);
    const result = await this.run(args);
    if (result.exitCode === 0) return true;
    if (NO_SUCH_RULE.test(result.stderr)) return false;
    throw this.failure(args, result.stderr || result.stdout);
  }

  /** iptables itself; 15 s covers the 5 s it may wait for the xtables lock. */
  private run(args: string[]) {
    return this.cmd.run(this.binary, args, { timeoutMs: 15_000 });
  }

  private failure(args: string[], said: string): Error {
    return messages.packetFilterFailed(formatCommand(this.binary, args), said.trim());
  }
}
