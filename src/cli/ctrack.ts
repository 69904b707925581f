#!/usr/bin/env node
// ctrack: conntrack-tools compatible command line over this library.
import { parseArgs, UsageError } from './args';
import { ConntrackError } from '../errors';
import { errorLine, Output, runExplain, runLive, runReplay, type RunIo } from './run';
import { writeStdoutBytes } from './stdout';
import { commandHelp } from './help';

export async function main(argv: string[], io?: Partial<RunIo>): Promise<number> {
  const out = io?.out ?? new Output((s) => process.stdout.write(s), writeStdoutBytes);
  const err = io?.err ?? ((line: string) => process.stderr.write(line + '\n'));
  const run: RunIo = { out, err };
  // Subcommands, not conntrack flags. Loaded on demand: their modules (the
  // exporters pull in prom-client) would add ~100 ms to every `ctrack -L`.
  if (argv[0] === 'export') return (await import('./export')).runExport(argv.slice(1), run);
  if (argv[0] === 'top') return (await import('./top')).runTop(argv.slice(1)); // the live view (src/cli/top)
  if (argv[0] === 'flows') return (await import('./flows')).flowsMain(argv.slice(1), run); // the flow logger
  const help = commandHelp(argv); // ctrack -L --help: one command's help
  if (help !== undefined) {
    out.line(help.trimEnd());
    out.flush();
    return 0;
  }
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`ctrack: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (args.help) return 0;
  try {
    if (args.explain) return runExplain(args, run);
    return args.replay !== undefined ? await runReplay(args, run) : await runLive(args, run);
  } catch (e) {
    out.flush();
    err(errorLine(e));
    // a value the encoder refused is a bad argument, like conntrack's PARAMETER_PROBLEM
    return e instanceof ConntrackError && e.code === 'ERR_CT_INVALID_ARGUMENT' ? 2 : 1;
  }
}

if (require.main === module) {
  // A closed pipe (ctrack -L | head) ends the program quietly, like C tools.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`ctrack: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
