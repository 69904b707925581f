// Runs the ctrack CLI in-process and captures stdout/stderr.
import { main } from '../../src/cli/ctrack';
import { Output } from '../../src/cli/run';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function ctrack(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    out: new Output((s) => {
      stdout += s;
    }),
    err: (line) => {
      stderr += line + '\n';
    },
  });
  return { code, stdout, stderr };
}
