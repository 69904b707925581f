// A bad command line: one line on stderr and exit code 2 (conntrack-tools'
// PARAMETER_PROBLEM).
export class UsageError extends Error {
  readonly exitCode = 2;
}
