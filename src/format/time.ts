// Time helpers shared by the printers: ctime()-style dates, the integer
// second arithmetic of libnetfilter_conntrack, and the -o timestamp prefixes
// of conntrack(8).

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const NSEC_PER_SEC = 1000000000n;
const TWO_POW_64 = 1n << 64n;

/** Two-digit zero-padded ("%.2d"). */
function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Broken-down time (struct tm fields that the printers use). */
export interface BrokenDownTime {
  readonly year: number;
  /** 0..11 */
  readonly month: number;
  /** 1..31 */
  readonly day: number;
  /** 0 = Sunday */
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/**
 * localtime() (process time zone, i.e. the TZ environment variable like the
 * C library) or gmtime() of a time_t.
 */
export function brokenDownTime(sec: number, utc: boolean): BrokenDownTime {
  const d = new Date(sec * 1000);
  return utc
    ? {
        year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), weekday: d.getUTCDay(),
        hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(),
      }
    : {
        year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), weekday: d.getDay(),
        hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds(),
      };
}

/**
 * ctime(&t) without its trailing newline: asctime's
 * "%.3s %.3s%3d %.2d:%.2d:%.2d %d", e.g. "Sun Nov 22 01:51:07 2026" or
 * "Thu Jan  1 00:00:00 1970". Local time zone unless `utc`.
 */
export function ctimeText(sec: number, utc = false): string {
  const t = brokenDownTime(sec, utc);
  const day = t.day < 10 ? '  ' + t.day : ' ' + t.day;
  return (
    DAYS[t.weekday] + ' ' + MONTHS[t.month] + day + ' ' +
    pad2(t.hour) + ':' + pad2(t.minute) + ':' + pad2(t.second) + ' ' + t.year
  );
}

/** (time_t)(ns / NSEC_PER_SEC): whole seconds of a u64 nanosecond stamp. */
export function nsToSec(ns: bigint): number {
  return Number(BigInt.asUintN(64, ns) / NSEC_PER_SEC);
}

/** "%llu" of a signed 64-bit value: negative values wrap to 2^64 + v. */
export function ullText(v: number): string {
  return v >= 0 ? String(v) : String(TWO_POW_64 + BigInt(v));
}

/** "%llu" of ((a - b) mod 2^64) / 1e9 (snprintf_xml.c __snprintf_deltatime). */
export function u64DeltaSecText(stop: bigint, start: bigint): string {
  return String(BigInt.asUintN(64, stop - start) / NSEC_PER_SEC);
}

/** Current time in whole seconds, like time(NULL). */
export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** Zero-pads a non-negative integer to `width` digits ("%.Nld"). */
function zeroPad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
}

/** Space-pads a value on the right to `width` ("%-Nld"). */
function rightPad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

/** A receive time: seconds and microseconds (struct timeval). */
export interface TimeVal {
  /** Seconds since the epoch. */
  readonly sec: number;
  /** Microseconds, 0..999999. */
  readonly usec: number;
}

/**
 * The `-o timestamp` prefix conntrack 1.4.7 prints before each conntrack
 * event line: printf("[%-.8ld.%-.6ld]\t") — the precision zero-pads, so
 * microseconds always have 6 digits ("[1795312138.017850]\t").
 */
export function flowEventPrefix(tv: TimeVal): string {
  return '[' + zeroPad(tv.sec, 8) + '.' + zeroPad(tv.usec, 6) + ']\t';
}

/**
 * The `-o timestamp` prefix conntrack 1.4.7 prints before expectation lines
 * (dump_exp_cb / event_exp_cb): printf("[%-8ld.%-6ld]\t") — left-justified
 * and space-padded, so .052613 prints as "52613 " ("[1795310943.52613 ]\t").
 */
export function expectEventPrefix(tv: TimeVal): string {
  return '[' + rightPad(tv.sec, 8) + '.' + rightPad(tv.usec, 6) + ']\t';
}
