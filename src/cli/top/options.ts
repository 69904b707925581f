// `ctrack top` command line: its own flags (--interval, --fallback-replay,
// --rows) and, through the -L parser, --netns, --replay, -f and every -L
// filter flag, so a filter reads the same here as in `ctrack -L`.
import { parseArgs, cliFilter, UsageError, type CliArgs } from '../args';
import type { FilterBuilder } from '../../filter';

export interface TopOptions {
  /** The -L view of the flags (netns, replay, family, filter flags). */
  cli: CliArgs;
  /** Seconds between refreshes. */
  interval: number;
  /** When the kernel's table cannot be read: replay this capture instead (npm start). */
  fallbackReplay?: string;
  /** Rows of the not-a-TTY snapshot. */
  rows: number;
  help?: boolean;
}

export const TOP_HELP = `Usage: ctrack top [options] [filter flags]

A live, full-screen view of the connection tracking table (like iptstate or
htop): one row per flow with protocol, original source -> destination, state,
age, packets and bytes per direction (TX = original direction, RX = reply) and
the current rate; a header with the table size, new and destroyed flows per
second, entries per protocol and lost events. When stdout is not a terminal it
prints one snapshot and exits.

Options:
  --interval <sec>         seconds between refreshes (default 1; 0.1 .. 3600)
  --netns <name>           watch the table of this network namespace
  --replay <file>          show a capture (pcap of ctnetlink traffic) at its recorded pace
  --fallback-replay <file> replay this capture when the kernel's table cannot be read
                           (no privilege, no conntrack in the kernel); used by npm start
  --rows <n>               flows in the not-a-TTY snapshot (default 50)
  -f, --family <family>    ipv4 or ipv6
  -s -d -r -q -p --sport --dport --state -m -u -w -n -g -j -l ...
                           every filter flag of ctrack -L (see ctrack -L --help)
  -h, --help               show this help

Keys:
  s / S      next sort key (bytes, packets, rate, age, state) / reverse the order
  /          filter, with the flags of ctrack -L (e.g. -p tcp --dport 443); empty clears,
             Ctrl-U clears the input, Esc cancels
  p          pause / resume the refreshes
  d          delete the selected flow (asks y/n)
  j k, arrows, PgUp PgDn, Home End   move the selection
  q, Ctrl-C  quit

Examples:
  ctrack top                               this host's table (root)
  ctrack top --netns blue --interval 2     namespace blue, refresh every 2 s
  ctrack top -p tcp --dport 443            HTTPS flows only
  ctrack top -f ipv6                       IPv6 flows only
  ctrack top --replay fixtures/demo.pcap   a recorded capture, no privilege needed
  ctrack top | head -20                    one snapshot (stdout not a terminal)

Counters (packets, bytes, rates) need nf_conntrack_acct=1 in the watched
namespace; top does not change it and shows "-" while it is off.
Exit codes: 0 success, 1 failure, 2 bad arguments.
`;

/** Removes `--name value` / `--name=value` from argv; returns the value. */
function take(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) {
      if (i + 1 >= argv.length) throw new UsageError(`option '${name} <value>' argument missing`);
      const v = argv[i + 1];
      argv.splice(i, 2);
      return v;
    }
    if (argv[i].startsWith(name + '=')) {
      const v = argv[i].slice(name.length + 1);
      argv.splice(i, 1);
      return v;
    }
  }
  return undefined;
}

function positive(v: string, flag: string, min: number, max: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag}: '${v}' is not a number of ${min} .. ${max}`);
  }
  return n;
}

/** Parse `ctrack top` arguments (after "top"). Throws UsageError (exit 2). */
export function parseTopArgs(argv: readonly string[]): TopOptions {
  const rest = [...argv];
  if (rest.includes('-h') || rest.includes('--help')) {
    return { cli: emptyArgs(), interval: 1, rows: 50, help: true };
  }
  const interval = positive(take(rest, '--interval') ?? '1', '--interval', 0.1, 3600);
  const rows = Math.floor(positive(take(rest, '--rows') ?? '50', '--rows', 1, 1e6));
  const fallbackReplay = take(rest, '--fallback-replay');
  const cli = filterArgs(rest, 'top');
  return { cli, interval, rows, fallbackReplay };
}

/**
 * The -L flags in `tokens` (for the command line and the `/` prompt):
 * anything -L takes except the output options, which top has no use for.
 */
export function filterArgs(tokens: readonly string[], where: string): CliArgs {
  for (const t of tokens) {
    if (/^-[A-Z]/.test(t) || /^--(dump|get|event|stats|count|create|flush|delete|update)\b/.test(t)) {
      throw new UsageError(`${where}: ${t} is a command; top takes only the filter flags of -L`);
    }
  }
  const cli = parseArgs(['-L', ...tokens]);
  if (cli.output.size > 0) throw new UsageError(`${where}: -o is not used by top`);
  if (cli.explain) throw new UsageError(`${where}: --explain works with -L and -D`);
  return cli;
}

/** The filter the flags select (undefined: every flow). */
export function topFilter(cli: CliArgs): FilterBuilder | undefined {
  return cliFilter(cli);
}

function emptyArgs(): CliArgs {
  return { command: 'list', table: 'conntrack', output: new Set(), entry: {} };
}

/** The filter flags as the user gave them, for the header. */
export function filterText(argv: readonly string[]): string {
  const skip = new Set(['--netns', '--replay', '--interval', '--rows', '--fallback-replay', '--labels-file']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].split('=')[0];
    if (skip.has(name)) {
      if (!argv[i].includes('=')) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out.join(' ');
}
