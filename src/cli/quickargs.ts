// The plain listing command lines, parsed without commander: `ctrack -L
// [table] [--netns NS] [-o FORMATS] [-f FAMILY]` (and --dump, --output,
// --family), each flag at most once, values as separate arguments. Loading
// commander (and the node:child_process it requires) is ~15-20 ms of every
// `ctrack -L`'s start-up on the bench VM; anything else, including every
// mistake, goes to the full parser (args.ts), which gives the same CliArgs
// for these lines (test/cli-quickargs.test.ts compares the two) and the
// usual error messages.
import type { CliArgs } from './args';
import { DEFAULT_LABELS_FILE, LIST_TABLES, OUTPUT_FORMATS, type OutputFormat } from './options';

const VALUE_FLAGS: Record<string, 'netns' | 'output' | 'family'> = {
  '--netns': 'netns',
  '-o': 'output',
  '--output': 'output',
  '-f': 'family',
  '--family': 'family',
};

/** CliArgs of a plain listing, or undefined when the full parser must look at argv. */
export function quickListArgs(argv: readonly string[]): CliArgs | undefined {
  let listed = false;
  let table = 'conntrack';
  const v: { netns?: string; output?: string; family?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-L' || a === '--dump') {
      if (listed) return undefined;
      listed = true;
      // commander's optional option-argument: the next argument unless it looks like a flag
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        table = next;
        i++;
      }
      continue;
    }
    const key = VALUE_FLAGS[a];
    const value = argv[i + 1];
    if (key === undefined || v[key] !== undefined || value === undefined || value === '' || value.startsWith('-')) return undefined;
    v[key] = value;
    i++;
  }
  if (!listed || !(LIST_TABLES as readonly string[]).includes(table)) return undefined;
  if (v.family !== undefined && v.family !== 'ipv4' && v.family !== 'ipv6') return undefined;
  const output = new Set<OutputFormat>();
  if (v.output !== undefined) {
    for (const part of v.output.split(',')) {
      if (!(OUTPUT_FORMATS as readonly string[]).includes(part)) return undefined;
      output.add(part as OutputFormat);
    }
    if (output.has('xml') && output.has('json')) return undefined;
  }
  return {
    entry: {},
    family: v.family as CliArgs['family'],
    command: 'list',
    table: table as CliArgs['table'],
    output,
    replay: undefined,
    labelsFile: DEFAULT_LABELS_FILE,
    netns: v.netns,
  };
}
