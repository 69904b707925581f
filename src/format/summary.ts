// The stderr lines of conntrack-tools 1.4.7 (src/conntrack.c: exit_msg[],
// print_stats(), exit_error(), err2str(), event_sighandler(),
// exp_event_sighandler(), the -F branches). Our CLI is not conntrack, but
// scripts parse these lines, so the text is the same; the program prefix is a
// parameter. Every function returns the line WITHOUT its trailing newline.

/** "%s v%s (conntrack-tools)" with PROGNAME conntrack and VERSION 1.4.7. */
export const DEFAULT_PROGRAM = 'conntrack v1.4.7 (conntrack-tools)';

/** The conntrack(8) commands that print a summary or an error. */
export type SummaryCommand =
  | 'list' // -L
  | 'get' // -G
  | 'create' // -I
  | 'add' // -A
  | 'update' // -U
  | 'delete' // -D
  | 'event' // -E
  | 'flush' // -F
  | 'expect-list' // -L expect
  | 'expect-get' // -G expect
  | 'expect-create' // -I expect
  | 'expect-delete' // -D expect
  | 'expect-event' // -E expect
  | 'expect-flush' // -F expect
  | 'count' // -C
  | 'expect-count' // -C expect
  | 'stats' // -S
  | 'expect-stats'; // -S expect

/**
 * exit_msg[] of conntrack.c. Quirk kept: `-D expect` reports
 * "expectations have been shown". Commands without an entry print no
 * summary (-G expect, -I expect, -C, -S, ...).
 */
const EXIT_MSG: Partial<Record<SummaryCommand, string>> = {
  list: ' flow entries have been shown.',
  get: ' flow entries have been shown.',
  create: ' flow entries have been created.',
  update: ' flow entries have been updated.',
  delete: ' flow entries have been deleted.',
  event: ' flow events have been shown.',
  'expect-list': ' expectations have been shown.',
  'expect-delete': ' expectations have been shown.',
  add: ' flow entries have been added.',
};

/**
 * The summary conntrack writes to stderr after a command, e.g.
 * "conntrack v1.4.7 (conntrack-tools): 6 flow entries have been shown."
 * (-L, -G), "... 26 flow events have been shown." (-E, on SIGINT/SIGTERM),
 * "... 2 expectations have been shown." (-L expect),
 * "... 3 expectation events have been shown." (-E expect),
 * "... connection tracking table has been emptied." (-F),
 * "... expectation table has been emptied." (-F expect).
 * Returns undefined for commands that print no summary.
 *
 * Note: conntrack exits with status 1 after the summary when the count is 0,
 * except for -L and -L expect (print_stats()).
 */
export function formatSummary(command: SummaryCommand, count: number, program: string = DEFAULT_PROGRAM): string | undefined {
  if (command === 'expect-event') return program + ': ' + (count | 0) + ' expectation events have been shown.';
  if (command === 'flush') return program + ': connection tracking table has been emptied.';
  if (command === 'expect-flush') return program + ': expectation table has been emptied.';
  const msg = EXIT_MSG[command];
  return msg === undefined ? undefined : program + ': ' + (count | 0) + msg;
}

/** errno values err2str() knows about. */
const EPERM = 1;
const ENOENT = 2;
const ENOMEM = 12;
const EEXIST = 17;
const EINVAL = 22;
const ETIME = 62;
const EAFNOSUPPORT = 97;
/** ENOTSUPP (kernel-internal 524) */
const ENOTSUPP = 524;

/** Commands covered by err2str()'s 0xFFFF mask (enum bits 0..15: all but expect-count, stats, expect-stats, add). */
const LOW_COMMANDS: ReadonlySet<SummaryCommand> = new Set<SummaryCommand>([
  'list', 'create', 'update', 'delete', 'get', 'flush', 'event', 'expect-list', 'expect-create',
  'expect-delete', 'expect-get', 'expect-flush', 'expect-event', 'count',
]);

/** err2str(): conntrack's own wording for some (command, errno) pairs, else strerror(). */
export function errorText(errno: number, command: SummaryCommand): string {
  switch (errno) {
    case ENOTSUPP:
      if (command === 'list') return 'function not implemented';
      break;
    case EINVAL:
      if (LOW_COMMANDS.has(command)) return 'invalid parameters';
      break;
    case EEXIST:
      if (command === 'create') return 'Such conntrack exists, try -U to update';
      break;
    case ENOENT:
      if (command === 'create' || command === 'get' || command === 'delete' || command === 'add') {
        return "such conntrack doesn't exist";
      }
      if (command === 'expect-create') return 'master conntrack not found';
      break;
    case ENOMEM:
      if (command === 'create' || command === 'get' || command === 'add') return 'not enough memory';
      break;
    case EAFNOSUPPORT:
      if (command === 'get') return 'protocol not supported';
      break;
    case ETIME:
      if (command === 'create' || command === 'add') return 'conntrack has expired';
      break;
    case EPERM:
      return 'sorry, you must be root or get CAP_NET_ADMIN capability to do this';
  }
  return strerror(errno);
}

/**
 * The error line for a failed request, e.g.
 * "conntrack v1.4.7 (conntrack-tools): Operation failed: such conntrack doesn't exist"
 * for -G on a missing entry (ENOENT). conntrack exits with status 1 after it.
 */
export function formatOperationFailed(errno: number, command: SummaryCommand, program: string = DEFAULT_PROGRAM): string {
  return program + ': Operation failed: ' + errorText(errno, command);
}

/** glibc strerror() texts of the errnos netlink requests can return. */
const STRERROR: Readonly<Record<number, string>> = {
  0: 'Success',
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  4: 'Interrupted system call',
  5: 'Input/output error',
  7: 'Argument list too long',
  9: 'Bad file descriptor',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  28: 'No space left on device',
  34: 'Numerical result out of range',
  61: 'No data available',
  62: 'Timer expired',
  71: 'Protocol error',
  74: 'Bad message',
  75: 'Value too large for defined data type',
  90: 'Message too long',
  92: 'Protocol not available',
  93: 'Protocol not supported',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  105: 'No buffer space available',
  110: 'Connection timed out',
};

/** glibc strerror(): known texts, "Unknown error N" otherwise. */
export function strerror(errno: number): string {
  return STRERROR[errno] ?? 'Unknown error ' + errno;
}
