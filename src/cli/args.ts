// Command-line parsing for ctrack, conntrack-tools style: one command flag
// (-L, -G, -E, -S, -C) with an optional table, output options with -o as a
// comma list. Bad input is a UsageError: one line on stderr, exit code 2
// (conntrack-tools' PARAMETER_PROBLEM).
import { Command, CommanderError, Option } from 'commander';
import { entry as entryOf, expectation, filterOf, labelChange, origTuple, labelResolver, type EntryFlagValues } from './flags';
import { UsageError } from './usage';
import { DEFAULT_LABELS_FILE, LIST_TABLES, OUTPUT_FORMATS, type OutputFormat } from './options';

export type CommandName = 'list' | 'get' | 'event' | 'stats' | 'count' | 'create' | 'flush' | 'delete' | 'update';
export type Table = 'conntrack' | 'expect' | 'dying' | 'unconfirmed';

export { OUTPUT_FORMATS, type OutputFormat };
// cliFilter() and labelResolver() live in flags.ts (no commander); re-exported here for existing callers
export { cliFilter, labelResolver } from './flags';

export interface CliArgs {
  command: CommandName;
  table: Table;
  output: Set<OutputFormat>;
  replay?: string;
  labelsFile?: string;
  netns?: string;
  /** -f: layer 3 family filter. */
  family?: 'ipv4' | 'ipv6';
  /** Entry flags (-s -d -p --sport ... -t -m -u -w --state), as given. */
  entry: EntryFlagValues;
  /** --explain: print what the kernel filters and what runs in user space, then exit. */
  explain?: boolean;
  /** --write FILE (-E): record every received datagram into a pcap capture. */
  write?: string;
  /** -z (-L): zero the counters of the listed entries (IPCTNL_MSG_CT_GET_CTRZERO); the listing shows them before. */
  zero?: boolean;
  /** -b BYTES (-E): the socket's receive buffer (SO_RCVBUFFORCE), as conntrack -b. */
  bufferSize?: number;
  /** -e (-E): which events (conntrack -e NEW,UPDATES,DESTROY,ALL); all when absent. */
  eventMask?: EventKind[];
  help?: boolean;
}

/** The conntrack event kinds -e selects (each its multicast group). */
export type EventKind = 'new' | 'update' | 'destroy';

export { UsageError };

const TABLES: readonly Table[] = LIST_TABLES;

// Which tables each command accepts (as conntrack-tools does).
const TABLES_OF: Record<CommandName, readonly Table[]> = {
  list: TABLES,
  get: ['conntrack', 'expect'],
  event: ['conntrack', 'expect'],
  stats: ['conntrack', 'expect'],
  count: ['conntrack', 'expect'],
  create: ['conntrack', 'expect'],
  flush: ['conntrack', 'expect'],
  delete: ['conntrack', 'expect'],
  update: ['conntrack'],
};

const COMMAND_FLAGS: [string, CommandName, string][] = [
  ['-L, --dump [table]', 'list', 'list the table (conntrack, expect, dying, unconfirmed)'],
  ['-G, --get [table]', 'get', 'get one entry'],
  ['-E, --event [table]', 'event', 'show events'],
  ['-S, --stats [table]', 'stats', 'show per-CPU statistics'],
  ['-C, --count [table]', 'count', 'show the table counter'],
  ['-I, --create [table]', 'create', 'create an entry (needs -p, -s, -d, -t; ports or ICMP fields; --state for TCP)'],
  ['-F, --flush [table]', 'flush', 'flush the table (with -f: only that family)'],
  ['-D, --delete [table]', 'delete', 'delete the entries the filter flags select (all with none)'],
  ['-U, --update [table]', 'update', 'set -t / -m / -u on the entries the other filter flags select'],
];

// Entry flags: [commander flags, EntryFlagValues key, help].
const ENTRY_FLAGS: [string, keyof EntryFlagValues, string][] = [
  ['-s, --src <ip>', 'src', 'original source address'],
  ['-d, --dst <ip>', 'dst', 'original destination address'],
  ['-r, --reply-src <ip>', 'replySrc', 'reply source address'],
  ['-q, --reply-dst <ip>', 'replyDst', 'reply destination address'],
  ['-p, --proto <proto>', 'proto', 'layer 4 protocol: tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre or a number'],
  ['--sport <port>', 'sport', 'original source port'],
  ['--dport <port>', 'dport', 'original destination port'],
  ['--reply-port-src <port>', 'replyPortSrc', 'reply source port'],
  ['--reply-port-dst <port>', 'replyPortDst', 'reply destination port'],
  ['--icmp-type <type>', 'icmpType', 'ICMP type'],
  ['--icmp-code <code>', 'icmpCode', 'ICMP code'],
  ['--icmp-id <id>', 'icmpId', 'ICMP id'],
  ['--icmpv6-type <type>', 'icmpv6Type', 'ICMPv6 type'],
  ['--icmpv6-code <code>', 'icmpv6Code', 'ICMPv6 code'],
  ['--icmpv6-id <id>', 'icmpv6Id', 'ICMPv6 id'],
  ['--state <state>', 'state', 'TCP, SCTP or DCCP state (-I)'],
  ['-t, --timeout <seconds>', 'timeout', 'timeout (-I)'],
  ['-m, --mark <mark[/mask]>', 'mark', 'mark (-I)'],
  ['-u, --status <flags>', 'status', 'status flags, comma separated: ASSURED, SEEN_REPLY, ... (-I)'],
  ['-w, --zone <zone>', 'zone', 'conntrack zone'],
  ['--orig-zone <zone>', 'origZone', 'zone of the original tuple'],
  ['--reply-zone <zone>', 'replyZone', 'zone of the reply tuple'],
  ['-n, --src-nat [ip[:port]]', 'srcNat', 'source-NATed entries (optionally: translated to this IPv4 address / port)'],
  ['-g, --dst-nat [ip[:port]]', 'dstNat', 'destination-NATed entries (optionally: translated to this IPv4 address / port)'],
  ['-j, --any-nat [ip[:port]]', 'anyNat', 'source- or destination-NATed entries'],
  ['-l, --label <label[,...]>', 'label', 'entries with all these labels set (connlabel.conf names or bit numbers; repeatable)'],
  ['--orig-vtag <tag>', 'origVtag', '-I -p sctp: verification tag of the original direction'],
  ['--reply-vtag <tag>', 'replyVtag', '-I -p sctp: verification tag of the reply direction'],
  ['--label-add <label[,...]>', 'labelAdd', '-U: set these labels (connlabel.conf names or bit numbers; repeatable)'],
  ['--label-del <label[,...]>', 'labelDel', '-U: clear these labels'],
  ['--mask-src <mask>', 'maskSrc', 'netmask of -s (another way to write -s ADDR/LEN); with -I expect: the source mask of the expectation'],
  ['--mask-dst <mask>', 'maskDst', 'netmask of -d; with -I expect: the destination mask of the expectation'],
  ['--tuple-src <ip>', 'tupleSrc', '-I expect: source address of the expected connection'],
  ['--tuple-dst <ip>', 'tupleDst', '-I expect: destination address of the expected connection'],
  ['--tuple-port-src <port>', 'tuplePortSrc', '-I expect: its source port (default 0)'],
  ['--tuple-port-dst <port>', 'tuplePortDst', '-I expect: its destination port (default 0)'],
  ['--mask-port-src <port>', 'maskPortSrc', '-I expect: mask of the source port (default 0: any)'],
  ['--mask-port-dst <port>', 'maskPortDst', '-I expect: mask of the destination port (default 0: any)'],
];

// conntrack-tools' other long names of entry flags (conntrack -h): accepted,
// not listed in --help. [commander flags, its attribute name, EntryFlagValues key].
const ALIASES: [string, string, keyof EntryFlagValues][] = [
  ['--orig-src <ip>', 'origSrc', 'src'],
  ['--orig-dst <ip>', 'origDst', 'dst'],
  ['--protonum <proto>', 'protonum', 'proto'],
  ['--orig-port-src <port>', 'origPortSrc', 'sport'],
  ['--orig-port-dst <port>', 'origPortDst', 'dport'],
];

export const HELP_EPILOG = `
Commands take an optional table (default conntrack). Without --replay they
read the kernel (root, or CAP_NET_ADMIN, is needed). Output is the same text
conntrack-tools prints for the same table; the summary goes to stderr.

More commands (each has --help):
  ctrack top      live full-screen view of the table: rates, sorting, filters, delete
  ctrack flows    the flow logger: one line per connection start/end with direction, rx/tx, flow id
  ctrack export   flows to IPFIX collectors (UDP/TCP), NDJSON, Prometheus metrics

Examples:
  ctrack -L                                       list this host's table (root)
  ctrack -L --netns blue -o extended              list the table of namespace blue
  ctrack -E -o timestamp                          watch events until Ctrl-C
  ctrack -E -p tcp --write ev.pcap                TCP events (filtered by a kernel BPF), recorded
  ctrack -S / ctrack -C                           per-CPU statistics / entry count
  ctrack -I -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80 -t 120 --state ESTABLISHED
  ctrack -G -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80
  ctrack -F -f ipv6                               delete the IPv6 entries only
  ctrack -L -p tcp --dport 443 -s 10.0.0.0/8      list with filters (evaluated in WASM)
  ctrack -D -p udp -d 192.0.2.53                  delete what the filters select
  ctrack -L -p tcp -s 10.0.0.1 --dport 22 --explain   what the kernel filters, what runs in WASM
  ctrack -L --src-nat                             source-NATed entries (-g dst, -j either)
  ctrack -L -l blocked,audit                      entries with both labels (connlabel.conf)
  ctrack -L --replay dump.pcap                    list a captured dump
  ctrack -L --replay dump.pcap -o extended,id     with layer 3 and ids
  ctrack -L --replay dump.pcap -o json            one JSON object per line
  ctrack -E --replay events.pcap -o timestamp     replay captured events
  ctrack -S --replay stats-cpu.pcap               per-CPU statistics
  ctrack -S expect --replay exp-stats-cpu.pcap    expectation statistics
  ctrack -C --replay stats-global.pcap            table counter

Output formats (-o, comma separated): extended, id, ktimestamp, labels,
timestamp (events), xml, json (ctrack only, schema in docs/json-format.md).

Exit codes: 0 success, 1 operation failed, 2 bad arguments.

ctrack top [options]: a live full-screen view of the table (ctrack top --help).
ctrack <command> --help (e.g. ctrack -L --help): that command's flags and examples.`;

function buildProgram(): Command {
  const program = new Command('ctrack')
    .description('Linux connection tracking: list, watch and replay the conntrack table (conntrack-tools compatible)')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) });
  for (const [flags, , desc] of COMMAND_FLAGS) program.addOption(new Option(flags, desc));
  program
    .option('-o, --output <formats>', 'output formats, comma separated (extended,id,ktimestamp,labels,timestamp,xml,json)')
    .option('--replay <file>', 'read a pcap capture (LINKTYPE_NETLINK) instead of the kernel')
    .option('--labels-file <path>', 'connlabel.conf for -o labels', DEFAULT_LABELS_FILE)
    .option('--netns <name>', 'network namespace (name under /var/run/netns, or a path)')
    .option('-f, --family <family>', 'layer 3 family: ipv4 or ipv6')
    .option('--explain', 'with -L / -D / -E: say which filter conditions the kernel evaluates and which run in user space, then exit')
    .option('--write <file>', 'with -E: also record every received datagram into a pcap capture (LINKTYPE_NETLINK)')
    .option('-z, --zero', 'with -L: zero the counters of the listed entries (the listing shows them before)')
    .option('-e, --event-mask <events>', 'with -E: only these events, comma separated: NEW, UPDATES, DESTROY, ALL')
    .option('-b, --buffer-size <bytes>', 'with -E: the socket receive buffer (default 128 MiB)')
    .option('-c, --secmark <secmark>', 'with -L / -E: accepted and ignored, as conntrack 1.4.7 does (the kernel never reports a secmark)');
  for (const [flags, key, desc] of ENTRY_FLAGS) {
    if (key === 'label' || key === 'labelAdd' || key === 'labelDel') program.option(flags, desc, (v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    else program.option(flags, desc);
  }
  for (const [flags, , key] of ALIASES) program.addOption(new Option(flags, `same as --${key}`).hideHelp());
  program
    .addHelpText('after', HELP_EPILOG);
  return program;
}

function parseOutput(v: string | undefined): Set<OutputFormat> {
  const out = new Set<OutputFormat>();
  if (v === undefined) return out;
  for (const part of v.split(',')) {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(part)) {
      throw new UsageError(`unknown output format '${part}' for -o (valid: ${OUTPUT_FORMATS.join(', ')})`);
    }
    out.add(part as OutputFormat);
  }
  if (out.has('xml') && out.has('json')) throw new UsageError("-o xml and -o json cannot be combined");
  return out;
}

/** Parse argv (without node and script). Throws UsageError; returns { help: true } after printing help. */
export function parseArgs(argv: string[]): CliArgs {
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') {
        return { command: 'list', table: 'conntrack', output: new Set(), entry: {}, help: true };
      }
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  const o = program.opts<Record<string, string | boolean | undefined>>();
  const given = COMMAND_FLAGS.filter(([, name]) => o[optionKey(name)] !== undefined);
  if (given.length === 0) throw new UsageError('no command given: use one of -L, -G, -E, -S, -C (see ctrack --help)');
  if (given.length > 1) throw new UsageError(`only one command at a time (got ${given.map(([f]) => f.slice(0, 2)).join(' and ')})`);
  const [, command] = given[0];
  const raw = o[optionKey(command)];
  const table = (raw === true ? 'conntrack' : raw) as string;
  if (!(TABLES_OF[command] as readonly string[]).includes(table)) {
    throw new UsageError(`unknown table '${table}' for ${given[0][0].slice(0, 2)} (valid: ${TABLES_OF[command].join(', ')})`);
  }
  const family = o.family as string | undefined;
  if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') {
    throw new UsageError(`unknown family '${family}' for -f (valid: ipv4, ipv6)`);
  }
  const entry: EntryFlagValues = {};
  const values = entry as Record<string, unknown>;
  for (const [, key] of ENTRY_FLAGS) if (o[key] !== undefined) values[key] = o[key];
  for (const [flags, attr, key] of ALIASES) {
    if (o[attr] === undefined) continue;
    if (values[key] !== undefined) throw new UsageError(`${flags.split(' ')[0]} and the flag it stands for are both given`);
    values[key] = o[attr];
  }
  const filterOnly = (['srcNat', 'dstNat', 'anyNat', 'label'] as const).filter((k) => entry[k] !== undefined);
  if (filterOnly.length > 0 && command !== 'list' && command !== 'delete' && command !== 'event') {
    throw new UsageError(`${filterOnly.map((k) => ({ srcNat: '--src-nat', dstNat: '--dst-nat', anyNat: '--any-nat', label: '-l' })[k]).join(', ')} only filter -L, -D and -E`);
  }
  if (o.explain === true && command !== 'list' && command !== 'delete' && command !== 'event') throw new UsageError('--explain works with -L, -D and -E');
  if (o.write !== undefined && (command !== 'event' || o.replay !== undefined)) throw new UsageError('--write records a live -E; it cannot be combined with other commands or --replay');
  // as conntrack-tools: -z lists conntrack entries only; -e and -b go with -E
  if (o.zero === true && (command !== 'list' || table !== 'conntrack')) throw new UsageError("-z (--zero) only works with -L on the conntrack table");
  if (o.zero === true && o.replay !== undefined) throw new UsageError('-z changes the kernel\'s counters; it cannot be combined with --replay');
  if (o.eventMask !== undefined && (command !== 'event' || table !== 'conntrack')) throw new UsageError('-e (--event-mask) only works with -E on the conntrack table');
  if (o.bufferSize !== undefined && command !== 'event') throw new UsageError('-b (--buffer-size) only works with -E');
  // conntrack 1.4.7 takes -c on -L and -E and lists every entry anyway (its
  // template's ATTR_SECMARK meets no CTA_SECMARK in the kernel's dumps, which
  // carry CTA_SECCTX at most); elsewhere it is an illegal option, as there.
  if (o.secmark !== undefined && !((command === 'list' && table !== 'expect') || (command === 'event' && table === 'conntrack'))) {
    throw new UsageError('-c (--secmark) only works with -L and -E on the conntrack tables');
  }
  const eventMask = o.eventMask !== undefined ? parseEventMask(o.eventMask as string) : undefined;
  const bufferSize = o.bufferSize !== undefined ? parseBufferSize(o.bufferSize as string) : undefined;
  // conntrack: "Can't use -z with filtering parameters" (the kernel zeroes every
  // entry it dumps); -f is fine (the kernel dumps only that family), and the NAT
  // flags are let through as conntrack does (they filter the lines, not the zeroing)
  if (o.zero === true && (o.secmark !== undefined || Object.keys(entry).some((k) => k !== 'srcNat' && k !== 'dstNat' && k !== 'anyNat'))) {
    throw new UsageError("Can't use -z with filtering parameters (-f is fine: the kernel then dumps and zeroes that family only)");
  }
  const usesEntry = command === 'create' || command === 'get' || command === 'list' || command === 'delete' || command === 'update' || command === 'event';
  if (!usesEntry && Object.keys(entry).length > 0) {
    throw new UsageError(`filter flags (${Object.keys(entry).join(', ')}) are not supported with ${given[0][0].slice(0, 2)}`);
  }
  const oneExpect = table === 'expect' && (command === 'get' || command === 'delete'); // by the expectation's tuple
  const createExpect = command === 'create' && table === 'expect';
  const expectFlags = (['tupleSrc', 'tupleDst', 'tuplePortSrc', 'tuplePortDst', 'maskPortSrc', 'maskPortDst'] as const).filter((k) => entry[k] !== undefined);
  if (expectFlags.length > 0 && !createExpect) throw new UsageError('--tuple-src, --tuple-dst, --tuple-port-* and --mask-port-* only go with -I expect');
  if ((entry.maskSrc !== undefined || entry.maskDst !== undefined) && !createExpect && !((command === 'list' || command === 'delete' || command === 'update' || command === 'event') && table === 'conntrack')) {
    throw new UsageError('--mask-src / --mask-dst go with the filters of -L, -D, -U and -E, or with -I expect');
  }
  if ((command === 'list' || command === 'delete' || command === 'event') && !oneExpect && Object.keys(entry).length > 0) {
    if (table !== 'conntrack') throw new UsageError(`filter flags work on the conntrack table only, not '${table}'`);
    filterOf(entry, family as CliArgs['family'], labelResolver(o.labelsFile as string | undefined, entry)); // bad values: exit 2 before any kernel access
  }
  if (command === 'delete' && o.replay !== undefined) throw new UsageError('-D changes the kernel\'s table; it cannot be combined with --replay');
  if ((entry.labelAdd !== undefined || entry.labelDel !== undefined) && command !== 'update') throw new UsageError('--label-add and --label-del go with -U');
  if ((entry.origVtag !== undefined || entry.replyVtag !== undefined) && command !== 'create') throw new UsageError('--orig-vtag and --reply-vtag go with -I');
  if (command === 'update') {
    if (o.replay !== undefined) throw new UsageError('-U changes the kernel\'s table; it cannot be combined with --replay');
    if (entry.timeout === undefined && entry.mark === undefined && entry.status === undefined && entry.labelAdd === undefined && entry.labelDel === undefined) {
      throw new UsageError('-U needs a new value: -t, -m, -u, --label-add or --label-del');
    }
    labelChange(entry, labelResolver(o.labelsFile as string | undefined, entry)); // unknown names: exit 2
    const { timeout: _t, mark: _m, status: _u, labelAdd: _a, labelDel: _d, ...selectors } = entry;
    filterOf(selectors, family as CliArgs['family']);
    entryOf({ ...entry, proto: entry.proto ?? 'tcp', src: entry.src ?? '0.0.0.0', dst: entry.dst ?? '0.0.0.0' });
  }
  if (command === 'create') {
    for (const [key, flag] of [['proto', '-p'], ['src', '-s'], ['dst', '-d'], ['timeout', '--timeout']] as const) {
      if (entry[key] === undefined) throw new UsageError(`-I needs the \`${flag}' option`);
    }
  }
  if ((command === 'create' || command === 'flush') && o.replay !== undefined) {
    throw new UsageError(`${given[0][0].slice(0, 2)} changes the kernel's table; it cannot be combined with --replay`);
  }
  if ((command === 'get' && o.replay === undefined) || oneExpect) {
    for (const [key, flag] of [['proto', '-p'], ['src', '-s'], ['dst', '-d']] as const) {
      if (entry[key] === undefined) throw new UsageError(`${given[0][0].slice(0, 2)}${oneExpect ? ' expect' : ''} needs the \`${flag}' option`);
    }
  }
  // bad values are usage errors, found before anything reaches the kernel
  if (command === 'create') {
    if (createExpect) expectation(entry);
    else entryOf(entry);
  }
  if (command === 'get' || oneExpect) origTuple(entry);
  return {
    entry,
    family: family as CliArgs['family'],
    command,
    table: table as Table,
    output: parseOutput(o.output as string | undefined),
    replay: o.replay as string | undefined,
    labelsFile: o.labelsFile as string | undefined,
    netns: o.netns as string | undefined,
    ...(o.explain === true ? { explain: true } : {}),
    ...(o.write !== undefined ? { write: o.write as string } : {}),
    ...(o.zero === true ? { zero: true } : {}),
    ...(eventMask !== undefined ? { eventMask } : {}),
    ...(bufferSize !== undefined ? { bufferSize } : {}),
  };
}

// -e NEW,UPDATES,DESTROY,ALL as conntrack reads it: case-insensitive, each
// token a prefix of a name (conntrack takes "UPDATE", "new", "DEST").
const EVENT_NAMES: [string, EventKind[]][] = [
  ['ALL', ['new', 'update', 'destroy']],
  ['NEW', ['new']],
  ['UPDATES', ['update']],
  ['DESTROY', ['destroy']],
];

function parseEventMask(v: string): EventKind[] {
  const kinds = new Set<EventKind>();
  for (const token of v.split(',')) {
    const hit = token === '' ? undefined : EVENT_NAMES.find(([name]) => name.startsWith(token.toUpperCase()));
    if (!hit) throw new UsageError(`-e: unknown event '${token}' (valid: NEW, UPDATES, DESTROY, ALL)`);
    for (const k of hit[1]) kinds.add(k);
  }
  return (['new', 'update', 'destroy'] as const).filter((k) => kinds.has(k));
}

function parseBufferSize(v: string): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  // SO_RCVBUFFORCE takes an int; the kernel doubles it
  if (!Number.isSafeInteger(n) || n < 1 || n > 0x3fffffff) throw new UsageError(`-b: '${v}' is not a buffer size in bytes (1..1073741823)`);
  return n;
}

function optionKey(command: CommandName): string {
  return { list: 'dump', get: 'get', event: 'event', stats: 'stats', count: 'count', create: 'create', flush: 'flush', delete: 'delete', update: 'update' }[command];
}

/** Help text, for `ctrack --help` and tests. */
export function helpText(): string {
  return buildProgram().helpInformation() + HELP_EPILOG + '\n';
}
