// net.netfilter.nf_conntrack_acct in the tracker's network namespace: the
// kernel only counts packets and bytes per flow when it is on. netbird turns
// it on at start when counters are wanted and turns it back off at stop, but
// only if it was the one that turned it on.
import { execFileSync } from 'child_process';
import { accessSync, constants as fsConstants, readFileSync, writeFileSync } from 'fs';
import { ConntrackError } from '../errors';

const KEY = 'net.netfilter.nf_conntrack_acct';
const PROC = '/proc/sys/net/netfilter/nf_conntrack_acct';

/** Reads and writes the sysctl; injectable for tests. */
export interface SysctlAccess {
  /** The current value of net.netfilter.nf_conntrack_acct (0 or 1). */
  read(): number;
  /** Set net.netfilter.nf_conntrack_acct. */
  write(value: number): void;
}

function tool(name: string, pkg: string): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    try {
      accessSync(`${dir}/${name}`, fsConstants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  throw new ConntrackError('ERR_CT_SYSTEM', `${name} not found: install the Debian package "${pkg}"`);
}

function inNetns(netns: string, args: string[]): string {
  // a name is what `ip netns` manages; a path (/proc/PID/ns/net) needs nsenter
  const cmd = netns.includes('/')
    ? [tool('nsenter', 'util-linux'), `--net=${netns}`, ...args]
    : [tool('ip', 'iproute2'), 'netns', 'exec', netns, ...args];
  try {
    return execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new ConntrackError('ERR_CT_SYSTEM', `${cmd.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** The sysctl of a namespace (via ip netns exec / nsenter + sysctl), or of our own one via /proc/sys. */
export function acctSysctl(netns?: string): SysctlAccess {
  if (netns === undefined) {
    return {
      read: () => parse(readFileSync(PROC, 'utf8')),
      write: (v) => writeFileSync(PROC, String(v)),
    };
  }
  return {
    read: () => parse(inNetns(netns, [tool('sysctl', 'procps'), '-n', KEY])),
    write: (v) => void inNetns(netns, [tool('sysctl', 'procps'), '-q', '-w', `${KEY}=${v}`]),
  };
}

function parse(text: string): number {
  const v = Number(text.trim());
  if (!Number.isInteger(v)) throw new ConntrackError('ERR_CT_SYSTEM', `${KEY} reads '${text.trim()}', not an integer`);
  return v;
}

/** Turns accounting on, remembering whether it did, and back off on restore. */
export class Accounting {
  private modified = false;

  constructor(private readonly sysctl: SysctlAccess, private readonly warn: (msg: string) => void) {}

  /** Whether enable() changed the setting (and restore() will undo it). */
  get changed(): boolean {
    return this.modified;
  }

  enable(): void {
    if (this.modified) return; // not restored yet
    try {
      if (this.sysctl.read() === 1) return;
      this.sysctl.write(1);
      this.modified = true;
    } catch (e) {
      this.warn(`failed to enable conntrack accounting: ${(e as Error).message}`);
    }
  }

  restore(): void {
    if (!this.modified) return;
    try {
      this.sysctl.write(0);
      this.modified = false;
    } catch (e) {
      this.warn(`failed to restore conntrack accounting: ${(e as Error).message}`);
    }
  }
}
