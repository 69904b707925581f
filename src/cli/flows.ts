// `ctrack flows`: the flow logger (src/flowlog) on the command line. One line
// per connection start and end, with the direction seen from the given
// interface network, rx/tx counters and the flow id.
//
//   ctrack flows [--netns NAME] [--network CIDR]... [--ip ADDR]... [--json]
//                [--counters] [--fwmark-base N] [-c N] [--replay FILE]
import { Command, CommanderError } from 'commander';
import { ConntrackError } from '../errors';
import { ConnTrack } from '../flowlog/tracker';
import { replayDialer } from '../flowlog/listener';
import { netbirdMarks, NETBIRD_FWMARK_BASE } from '../flowlog/marks';
import { parsePrefix } from '../flowlog/config';
import type { FlowEventFields, InterfaceAddress } from '../flowlog/types';
import { errorLine, type RunIo } from './run';

interface FlowsArgs {
  netns?: string;
  iface: InterfaceAddress;
  json: boolean;
  counters: boolean;
  marks: ReturnType<typeof netbirdMarks>;
  count?: number;
  replay?: string;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Parse the arguments after `flows`; UsageError-like failures throw ConntrackError('ERR_CT_INVALID_ARGUMENT'). */
export function parseFlowsArgs(argv: string[]): FlowsArgs | { help: string } {
  let helpText = '';
  const cmd = new Command('ctrack flows')
    .description('log connection starts and ends with their direction relative to an interface network (netbird flow logger)')
    .option('--netns <name>', 'network namespace to listen in (name or /proc/PID/ns/net)')
    .option('--network <cidr>', 'interface network (IPv4 and/or IPv6; repeatable)', collect, [])
    .option('--ip <addr>', 'interface address (IPv4 and/or IPv6; repeatable); addr/len also sets the network', collect, [])
    .option('--json', 'one JSON object per line')
    .option('--counters', 'turn nf_conntrack_acct on in the namespace while running (restored at exit)')
    .option('--fwmark-base <n>', `base of the netbird mark range (default 0x${NETBIRD_FWMARK_BASE.toString(16)})`)
    .option('-c, --count <n>', 'exit after n lines')
    .option('--replay <file>', 'read the events from a capture (pcap) instead of the kernel')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (helpText += s), writeErr: (s) => (helpText += s) })
    .allowExcessArguments(false);
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')) {
      return { help: helpText };
    }
    const msg = e instanceof CommanderError ? e.message.replace(/^error: /, '') : (e as Error).message;
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `flows: ${msg}`);
  }
  const o = cmd.opts<{ netns?: string; network: string[]; ip: string[]; json?: boolean; counters?: boolean; fwmarkBase?: string; count?: string; replay?: string }>();
  const iface: InterfaceAddress = {};
  const put = (list: string[], v4: 'ip' | 'network', v6: 'ipv6' | 'ipv6Network', what: string) => {
    for (const s of list) {
      const key = parsePrefix(s, `--${what}`).family === 2 ? v4 : v6;
      if (iface[key] !== undefined) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `flows: --${what} given twice for the same family`);
      iface[key] = s;
    }
  };
  put(o.network, 'network', 'ipv6Network', 'network');
  put(o.ip, 'ip', 'ipv6', 'ip');
  let base = NETBIRD_FWMARK_BASE;
  if (o.fwmarkBase !== undefined) {
    base = Number(o.fwmarkBase);
    if (!Number.isInteger(base) || base <= 0 || base > 0xffffffff || (base & 0xff) !== 0) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `flows: --fwmark-base must be a 32-bit number with the low byte free, not ${o.fwmarkBase}`);
    }
  }
  let count: number | undefined;
  if (o.count !== undefined) {
    count = Number(o.count);
    if (!Number.isInteger(count) || count <= 0) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `flows: --count must be a positive integer, not ${o.count}`);
  }
  if (o.replay !== undefined && (o.netns !== undefined || o.counters)) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'flows: --replay reads a capture; --netns and --counters need the kernel');
  }
  return { netns: o.netns, iface, json: o.json === true, counters: o.counters === true, marks: netbirdMarks(base), count, replay: o.replay };
}

function endpoint(ip: string, port: number, proto: number): string {
  const p = PROTO_NAMES[proto];
  return p === 'tcp' || p === 'udp' || p === 'sctp' ? `${ip.includes(':') ? `[${ip}]` : ip}:${port}` : ip;
}

/** The text line: `start egress udp 100.64.0.1:7001 -> 10.9.0.2:7001 rx=1/1028 tx=1/128 flow=<uuid>` (packets/bytes). */
export function formatFlowLine(f: FlowEventFields): string {
  const proto = PROTO_NAMES[f.protocol] ?? String(f.protocol);
  const icmp = f.protocol === 1 || f.protocol === 58 ? ` type=${f.icmpType} code=${f.icmpCode}` : '';
  return `${f.type.padEnd(5)} ${f.direction.padEnd(7)} ${proto} ${endpoint(f.sourceIp, f.sourcePort, f.protocol)} -> ${endpoint(f.destIp, f.destPort, f.protocol)}${icmp}` +
    ` rx=${f.rxPackets}/${f.rxBytes} tx=${f.txPackets}/${f.txBytes} id=${f.conntrackId} flow=${f.flowId}`;
}

/** One JSON object; counters as exact JSON integers (no precision lost above 2^53 for non-JS readers). */
export function formatFlowJson(f: FlowEventFields): string {
  return JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000(\d+)"/g, '$1');
}

/** Run `ctrack flows ...` until SIGINT/SIGTERM, --count lines, or the end of a --replay capture. */
export async function runFlows(argv: string[], io: RunIo): Promise<number> {
  const a = parseFlowsArgs(argv);
  if ('help' in a) {
    io.out.line(a.help.trimEnd());
    io.out.flush();
    return 0;
  }
  if (a.iface.network === undefined && a.iface.ipv6Network === undefined && a.iface.ip === undefined && a.iface.ipv6 === undefined) {
    io.err('ctrack flows: no --network or --ip given: only flows with netbird data-plane marks are logged');
  }
  let lines = 0;
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const ct = new ConnTrack(
    {
      storeEvent: (f) => {
        if (a.count !== undefined && lines >= a.count) return;
        io.out.line(a.json ? formatFlowJson(f) : formatFlowLine(f));
        io.out.flush();
        if (++lines === a.count) finish();
      },
    },
    { address: () => a.iface },
    {
      netns: a.netns,
      marks: a.marks,
      dial: a.replay !== undefined ? replayDialer(a.replay, { onEnd: () => finish(), onError: (e) => fail(e) }) : undefined,
      log: (level, msg) => {
        if (level === 'warn') io.err(`ctrack flows: ${msg}`);
      },
    },
  );
  const onSignal = () => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await ct.start(a.counters);
    await finished;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await ct.stop();
    io.out.flush();
  }
  return 0;
}

/** `ctrack flows` with ctrack's error conventions: a message on stderr, exit 2 for bad arguments, 1 otherwise. */
export async function flowsMain(argv: string[], io: RunIo): Promise<number> {
  try {
    return await runFlows(argv, io);
  } catch (e) {
    io.out.flush();
    io.err(errorLine(e));
    return e instanceof ConntrackError && e.code === 'ERR_CT_INVALID_ARGUMENT' ? 2 : 1;
  }
}
