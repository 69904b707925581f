// Private network namespaces for tests that talk to the real kernel. Every
// namespace is created here with a per-run unique name (ctt-<pid>-<n>) and
// deleted by destroy(); nothing ever touches the host's own conntrack table.
//
// Missing tools fail the test with the Debian package to install: these
// tests never skip silently.
import { execFileSync, spawn, spawnSync } from 'child_process';
import { accessSync, constants as fsConstants, readdirSync } from 'fs';
import * as path from 'path';

// Tools every namespace needs, with the Debian package that has them.
const TOOLS: Record<string, string> = {
  ip: 'iproute2',
  nft: 'nftables',
  conntrack: 'conntrack',
  sysctl: 'procps',
};
// Other tools tests may ask for.
const PACKAGES: Record<string, string> = { ...TOOLS, setpriv: 'util-linux', python3: 'python3', unshare: 'util-linux', tmux: 'tmux', script: 'bsdutils' };

// Test runners often have a PATH without the sbin directories.
const SEARCH = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter((d) => d !== '');

const resolved = new Map<string, string>();

/** Absolute path of a tool; throws naming the Debian package when it is missing. */
export function tool(name: string): string {
  const hit = resolved.get(name);
  if (hit) return hit;
  for (const dir of SEARCH) {
    const p = path.join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      resolved.set(name, p);
      return p;
    } catch {
      // not in this directory
    }
  }
  const pkg = PACKAGES[name];
  throw new Error(`${name} not found in ${SEARCH.join(':')}${pkg ? `: install the Debian package "${pkg}" (apt-get install ${pkg})` : ''}`);
}

const LONG_TIMEOUTS = [
  'nf_conntrack_udp_timeout', 'nf_conntrack_udp_timeout_stream', 'nf_conntrack_icmp_timeout', 'nf_conntrack_icmpv6_timeout',
  'nf_conntrack_tcp_timeout_close', 'nf_conntrack_tcp_timeout_time_wait', 'nf_conntrack_tcp_timeout_last_ack',
  'nf_conntrack_tcp_timeout_fin_wait', 'nf_conntrack_tcp_timeout_close_wait', 'nf_conntrack_tcp_timeout_syn_sent',
  'nf_conntrack_tcp_timeout_syn_recv',
];

/** Fail early (with package names) unless ip, nft, conntrack and sysctl are installed. */
export function requireNetnsTools(): void {
  const missing: string[] = [];
  for (const name of Object.keys(TOOLS)) {
    try {
      tool(name);
    } catch {
      missing.push(`${name} (Debian package ${TOOLS[name]})`);
    }
  }
  if (missing.length > 0) {
    throw new Error(`kernel tests need: ${missing.join(', ')}; install them with apt-get install ${missing.map((m) => TOOLS[m.split(' ')[0]]).join(' ')}`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error('kernel tests create network namespaces and need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)');
  }
}

function run(file: string, args: string[], input?: string): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${[file, ...args].join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

const NETNS_DIR = '/var/run/netns';
let counter = 0;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Namespaces left behind by runs that were killed before their cleanup: their
// name carries the pid of a process that no longer exists.
function removeOrphans(): void {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^ctt-(\d+)-\d+$/.exec(n);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      try {
        run(tool('ip'), ['netns', 'delete', n]);
      } catch {
        // someone else got there first
      }
    }
  }
}

export class Netns {
  /** ctt-<pid>-<n> */
  readonly name: string;
  /** /var/run/netns/<name> */
  readonly path: string;
  private alive = true;

  private constructor(name: string) {
    this.name = name;
    this.path = path.join(NETNS_DIR, name);
  }

  /**
   * Create a namespace with conntrack active in it: an nft chain with a
   * `ct state` rule makes the kernel load and enable nf_conntrack there, then
   * accounting and timestamps are switched on (net.netfilter.nf_conntrack_acct,
   * net.netfilter.nf_conntrack_timestamp) so dumps carry counters and times.
   */
  static create(): Netns {
    requireNetnsTools();
    removeOrphans();
    const ns = new Netns(`ctt-${process.pid}-${++counter}`);
    run(tool('ip'), ['netns', 'add', ns.name]);
    try {
      ns.exec(tool('ip'), ['link', 'set', 'lo', 'up']);
      ns.exec(tool('nft'), ['add', 'table', 'inet', 't']);
      ns.exec(tool('nft'), ['add', 'chain', 'inet', 't', 'c', '{ type filter hook output priority 0; }']);
      ns.exec(tool('nft'), ['add', 'rule', 'inet', 't', 'c', 'ct', 'state', 'new', 'counter']);
      ns.exec(tool('sysctl'), ['-w', 'net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1']);
      // Entries made by real traffic keep the protocol's default timeout
      // (UDP 30 s, TCP close 10 s): on a loaded machine one can expire between
      // our dump and the oracle's. An hour outlives any test.
      ns.exec(tool('sysctl'), ['-q', '-w', ...LONG_TIMEOUTS.map((n) => `net.netfilter.${n}=3600`)]);
    } catch (e) {
      ns.destroy();
      throw e;
    }
    return ns;
  }

  /** Run a program inside the namespace (ip netns exec); returns its stdout. */
  exec(file: string, args: string[], input?: string): string {
    return run(tool('ip'), ['netns', 'exec', this.name, file, ...args], input);
  }

  /** conntrack-tools inside the namespace, e.g. conntrack('-L', '-o', 'id'). */
  conntrack(...args: string[]): string {
    return this.exec(tool('conntrack'), args);
  }

  /**
   * conntrack-tools inside the namespace as the oracle of a comparison: its
   * stdout, stderr (trimmed) and exit status, whatever the status (it exits 1
   * when it showed nothing, 2 on bad arguments).
   */
  conntrackRun(...args: string[]): { stdout: string; stderr: string; code: number } {
    const r = spawnSync(tool('ip'), ['netns', 'exec', this.name, tool('conntrack'), ...args], { encoding: 'utf8' });
    if (r.error) throw r.error;
    return { stdout: r.stdout, stderr: r.stderr.trim(), code: r.status ?? -1 };
  }

  /**
   * conntrack-tools listening inside the namespace (conntrack ARGS, e.g. '-E',
   * '-o', 'id') until stop(): SIGINT, as Ctrl-C, then its exit.
   */
  conntrackListen(...args: string[]): { out: () => string; stop: () => Promise<void> } {
    const proc = spawn(tool('ip'), ['netns', 'exec', this.name, tool('conntrack'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (b: Buffer) => (out += b));
    const closed = new Promise<void>((r) => proc.on('close', () => r()));
    return {
      out: () => out,
      stop: async () => {
        proc.kill('SIGINT');
        await closed;
      },
    };
  }

  /** Delete the namespace; idempotent. */
  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    run(tool('ip'), ['netns', 'delete', this.name]);
  }
}
