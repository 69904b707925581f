// ctrack export: conntrack flows to an IPFIX collector, as NDJSON on stdout,
// and/or Prometheus metrics over HTTP, until SIGINT / SIGTERM.
//
//   ctrack export --ipfix HOST:PORT [--tcp] [--json] [--metrics [HOST]:PORT] [--netns NAME] [filters]
import { Command, CommanderError, Option } from 'commander';
import type * as http from 'http';
import { Conntrack } from '../conntrack';
import { IpfixExporter } from '../export/ipfix/exporter';
import { exportFlowLine } from '../export/json';
import { ConntrackMetrics } from '../export/metrics';
import { FlowTracker } from '../export/tracker';
import { filterOf, type EntryFlagValues } from './flags';
import { errorLine, processSignals, type LiveSignals, type RunIo } from './run';
import { UsageError } from './usage';

// Filter flags shared with -L (conntrack-tools names).
const FILTER_FLAGS: [string, keyof EntryFlagValues, string][] = [
  ['-s, --src <ip>', 'src', 'original source address (or net)'],
  ['-d, --dst <ip>', 'dst', 'original destination address (or net)'],
  ['-r, --reply-src <ip>', 'replySrc', 'reply source address'],
  ['-q, --reply-dst <ip>', 'replyDst', 'reply destination address'],
  ['-p, --proto <proto>', 'proto', 'layer 4 protocol'],
  ['--sport <port>', 'sport', 'original source port'],
  ['--dport <port>', 'dport', 'original destination port'],
  ['-m, --mark <mark[/mask]>', 'mark', 'mark'],
  ['-w, --zone <zone>', 'zone', 'conntrack zone'],
  ['-n, --src-nat [ip[:port]]', 'srcNat', 'source-NATed entries'],
  ['-g, --dst-nat [ip[:port]]', 'dstNat', 'destination-NATed entries'],
  ['-j, --any-nat [ip[:port]]', 'anyNat', 'source- or destination-NATed entries'],
];

export interface ExportArgs {
  ipfix?: string;
  tcp: boolean;
  json: boolean;
  metrics?: { host: string; port: number };
  netns?: string;
  family?: 'ipv4' | 'ipv6';
  entry: EntryFlagValues;
  activeTimeout: number;
  mtu: number;
  observationDomainId: number;
  templateRefresh: number;
  help?: boolean;
}

function program(): Command {
  const p = new Command('ctrack export')
    .description('Export conntrack flows: IPFIX (RFC 7011) to a collector, NDJSON on stdout, Prometheus metrics')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined }) // help goes through io
    .option('--ipfix <host:port>', 'IPFIX collector (UDP unless --tcp)')
    .option('--tcp', 'IPFIX over TCP (reconnects, bounded buffer)')
    .option('--json', 'one JSON object per flow record on stdout (schema: docs/export.md)')
    .option('--metrics <[host]:port>', 'serve Prometheus metrics at http://host:port/metrics')
    .option('--netns <name>', 'network namespace to watch')
    .option('-f, --family <family>', 'ipv4 or ipv6 only')
    .option('--active-timeout <seconds>', 'records of long-lived flows every this many seconds', '60')
    .option('--mtu <bytes>', 'path MTU towards the collector', '1500')
    .option('--observation-domain <id>', 'IPFIX observation domain id', '1')
    .option('--template-refresh <seconds>', 'UDP: resend templates every this many seconds (0: never)', '60');
  for (const [flags, , desc] of FILTER_FLAGS) p.addOption(new Option(flags, desc));
  return p;
}

function int(v: string, what: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n >= min && n <= max)) throw new UsageError(`${what} must be a number in ${min}..${max}, not '${v}'`);
  return n;
}

export function parseExportArgs(argv: string[]): ExportArgs {
  const p = program();
  try {
    p.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return { help: true } as ExportArgs;
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  const o = p.opts<Record<string, string | boolean | undefined>>();
  const entry: EntryFlagValues = {};
  for (const [, key] of FILTER_FLAGS) if (o[key] !== undefined) (entry as Record<string, unknown>)[key] = o[key];
  const family = o.family as string | undefined;
  if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') throw new UsageError(`unknown family '${family}' for -f (valid: ipv4, ipv6)`);
  let metrics: ExportArgs['metrics'];
  if (o.metrics !== undefined) {
    const m = /^(.*):(\d+)$/.exec(o.metrics as string);
    if (!m) throw new UsageError(`--metrics needs [HOST]:PORT, not '${String(o.metrics)}'`);
    metrics = { host: m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port: int(m[2], '--metrics port', 0, 65535) };
  }
  if (o.ipfix === undefined && o.json !== true && metrics === undefined) throw new UsageError('export needs --ipfix HOST:PORT, --json and/or --metrics [HOST]:PORT');
  if (o.tcp === true && o.ipfix === undefined) throw new UsageError('--tcp needs --ipfix');
  const a: ExportArgs = {
    ipfix: o.ipfix as string | undefined,
    tcp: o.tcp === true,
    json: o.json === true,
    metrics,
    netns: o.netns as string | undefined,
    family: family as ExportArgs['family'],
    entry,
    activeTimeout: int(o.activeTimeout as string, '--active-timeout', 0.25, 86400),
    mtu: int(o.mtu as string, '--mtu', 256, 65535),
    observationDomainId: int(o.observationDomain as string, '--observation-domain', 0, 0xffffffff),
    templateRefresh: int(o.templateRefresh as string, '--template-refresh', 0, 86400),
  };
  filterOf(entry, a.family); // bad filter values: exit 2 before any kernel access
  return a;
}

export function exportHelp(): string {
  return program().helpInformation();
}

/** Run until stopped; the exit code. */
export async function runExport(argv: string[], io: RunIo, signals: LiveSignals = processSignals): Promise<number> {
  let a: ExportArgs;
  try {
    a = parseExportArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ctrack: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (a.help) {
    io.out.line(exportHelp().trimEnd());
    io.out.flush();
    return 0;
  }
  const ct = await Conntrack.open({ netns: a.netns });
  let exporter: IpfixExporter | undefined;
  let tracker: FlowTracker | undefined;
  let server: http.Server | undefined;
  let failure: unknown;
  try {
    if (a.ipfix !== undefined) {
      exporter = new IpfixExporter({
        collector: a.ipfix, transport: a.tcp ? 'tcp' : 'udp', mtu: a.mtu, observationDomainId: a.observationDomainId,
        activeTimeout: a.activeTimeout, templateRefresh: a.templateRefresh,
      });
      exporter.on('disconnect', ({ delayMs }) => io.err(`ctrack: IPFIX collector ${a.ipfix} unreachable, retrying in ${delayMs} ms`));
    }
    if (exporter || a.json || a.metrics) {
      tracker = new FlowTracker(ct, { activeTimeout: a.activeTimeout, filter: filterOf(a.entry, undefined), family: a.family });
      tracker.on('flow', (f) => {
        exporter?.export(f);
        if (a.json) {
          io.out.line(exportFlowLine(f).trimEnd());
          io.out.flush();
        }
      });
      tracker.on('overflow', ({ total }) => io.err(`ctrack: WARNING: the kernel dropped events (ENOBUFS, ${total} time(s)); resynchronizing from a dump`));
    }
    if (a.metrics) {
      const m = new ConntrackMetrics(ct, { tracker, exporter });
      server = await m.serve(a.metrics.port, a.metrics.host);
    }
    await new Promise<void>((resolve) => {
      const unhook = signals.onStop(() => {
        unhook();
        resolve();
      });
      tracker?.on('error', (e) => {
        failure = e;
        unhook();
        resolve();
      });
    });
  } finally {
    await tracker?.stop().catch(() => undefined);
    await exporter?.close();
    if (server) await new Promise((r) => server?.close(r));
    ct.close();
    io.out.flush();
  }
  if (failure !== undefined) {
    io.err(errorLine(failure));
    return 1;
  }
  return 0;
}
