#!/usr/bin/env node
// ctrack: conntrack-tools compatible command line over this library.
import type { CliArgs } from './args';
import { quickListArgs } from './quickargs';
import { UsageError } from './usage';
import { ConntrackError } from '../errors';
import { setDecoderTieringBudget } from '../wasm';
import { errorLine, Output, runExplain, runLive, runReplay, type RunIo } from './run';
import { writeStdoutBytes } from './stdout';
import { commandHelp } from './help';

/**
 * The WASM tiering budget ctrack's decoder module is compiled with: a
 * listing's time goes mostly into the text formatter (the same WASM module),
 * whose functions should reach TurboFan within the first ~50k lines; the
 * library's larger default keeps them in Liftoff for ~40% of a 1M-line
 * listing. Small listings still finish before anything is recompiled.
 */
const CLI_TIERING_BUDGET = 200_000_000;

export async function main(argv: string[], io?: Partial<RunIo>): Promise<number> {
  setDecoderTieringBudget(CLI_TIERING_BUDGET);
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
  let args: CliArgs;
  try {
    // plain listings without commander (start-up time); everything else through it
    args = quickListArgs(argv) ?? (require('./args') as typeof import('./args')).parseArgs(argv);
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
