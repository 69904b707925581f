// connlabel.conf parsing and label printing, following libnetfilter_conntrack
// 1.0.9 src/conntrack/labels.c (__labelmap_new) and snprintf_default.c
// (__snprintf_connlabels / __snprintf_clabels).
//
// What the real parser accepts, line by line (each fgets() read of at most
// 1023 bytes counts as a "line", so an overlong line is read in pieces):
// - a line whose first byte is '#' is a comment ('#' after blanks is not a
//   comment, it just fails to parse and is skipped);
// - the line must start with a number read by strtoul(s, &end, 0): leading
//   white space, optional sign, 0x.. hex, 0.. octal or decimal; no digits or
//   a value >= 1024 (MAX_BITS) skips the line;
// - the rest of the line, with blanks (space \t \f \r \v) trimmed on both
//   sides and cut at '\n', is the name; no separator after the number is
//   required ("1foo" names bit 1 "foo");
// - a name may only contain [A-Za-z0-9 -] (label_is_sane), otherwise the
//   line is skipped;
// - the first line that successfully names a bit wins; a name already used by
//   an earlier bit is rejected (and that bit stays free for a later line);
// - a file without any valid line yields no map at all (NULL, errno 0).
//
// What conntrack(8) 1.4.7 does with it: `-o labels` (and -l/--label-add/
// --label-del) call nfct_labelmap_new(NULL), i.e. /etc/xtables/connlabel.conf.
// When that returns NULL, conntrack prints perror("nfct_labelmap_new") to
// stderr ("nfct_labelmap_new: No such file or directory" for a missing file,
// "nfct_labelmap_new: Success" for a file without valid labels) and carries
// on WITHOUT a map: no labels= field is printed at all. tryLoadLabelMap()
// returns that warning text; loadLabelMap() only the map.

import { readFileSync } from 'node:fs';
import { ConntrackError } from '../errors';

/** Path conntrack(8) reads (CONNLABEL_CFG in labels.c). */
export const DEFAULT_CONNLABEL_PATH = '/etc/xtables/connlabel.conf';

/** MAX_BITS in labels.c: label bits 0..1023. */
export const MAX_LABEL_BITS = 1024;

/** fgets() buffer in __labelmap_new: char label[1024]. */
const FGETS_BUFFER = 1024;

/**
 * A parsed connlabel.conf (struct nfct_labelmap): bit -> name and back.
 * `byBit.length` is the highest named bit + 1 (namecount); unnamed bits
 * below it are `undefined`.
 */
export interface LabelMap {
  /** bit -> name (bit_to_name[]); undefined for bits without a name */
  readonly byBit: ReadonlyArray<string | undefined>;
  /** name -> bit (map_name hash) */
  readonly byName: ReadonlyMap<string, number>;
}

/** Result of {@link tryLoadLabelMap}. */
export interface LabelMapLoadResult {
  /** The map, or undefined when nfct_labelmap_new() would return NULL. */
  readonly map?: LabelMap;
  /**
   * The line conntrack(8) writes to stderr when it gets no map
   * (perror("nfct_labelmap_new")), e.g. "nfct_labelmap_new: No such file or directory".
   */
  readonly warning?: string;
}

/** C isspace() in the C locale, as strtoul() skips it. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** is_space_posix() in labels.c: like isspace() but without '\n'. */
function isPosixBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** Value of an ASCII digit in `base`, or -1. */
function digitValue(c: number, base: number): number {
  let v = -1;
  if (c >= 0x30 && c <= 0x39) v = c - 0x30;
  else if (c >= 0x61 && c <= 0x7a) v = c - 0x61 + 10;
  else if (c >= 0x41 && c <= 0x5a) v = c - 0x41 + 10;
  return v >= 0 && v < base ? v : -1;
}

/**
 * strtoul(s, &end, 0) semantics reduced to what the caller needs:
 * returns [bit or -1, end index]. -1 means "no number" or ">= MAX_BITS"
 * (xtables_parse_connlabel_numerical).
 */
function parseLabelNumber(s: string, start: number): [number, number] {
  let i = start;
  while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
  let negative = false;
  const sign = s.charCodeAt(i);
  if (sign === 0x2b || sign === 0x2d) {
    negative = sign === 0x2d;
    i++;
  }
  let base = 10;
  if (s.charCodeAt(i) === 0x30) {
    const x = s.charCodeAt(i + 1);
    if ((x === 0x78 || x === 0x58) && digitValue(s.charCodeAt(i + 2), 16) >= 0) {
      base = 16;
      i += 2;
    } else {
      base = 8;
    }
  }
  const digitsStart = i;
  let value = 0;
  for (; i < s.length; i++) {
    const d = digitValue(s.charCodeAt(i), base);
    if (d < 0) break;
    if (value < MAX_LABEL_BITS * 16) value = value * base + d; // saturate: anything this big is rejected
  }
  if (i === digitsStart) return [-1, start]; // no conversion: end = s
  // A negated non-zero value wraps to a huge unsigned long: rejected.
  if (negative && value !== 0) return [-1, i];
  return [value < MAX_LABEL_BITS ? value : -1, i];
}

/** trim_label(): the name part of a line, or undefined when empty. */
function trimLabel(line: string, from: number): string | undefined {
  let a = from;
  while (a < line.length && isPosixBlank(line.charCodeAt(a))) a++;
  let b = line.indexOf('\n', a);
  if (b < 0) b = line.length;
  while (b - 1 > a && isPosixBlank(line.charCodeAt(b - 1))) b--;
  return b > a ? line.slice(a, b) : undefined;
}

/** label_is_sane(): only [A-Za-z0-9 -]. */
function labelIsSane(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20 || c === 0x2d;
    if (!ok) return false;
  }
  return true;
}

/**
 * The pieces fgets(buf, 1024, fp) returns: up to 1023 bytes, ending after a
 * '\n' when one comes first. Each piece is cut at its first NUL byte, as the
 * C string functions that follow stop there.
 */
function fgetsPieces(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    const lineEnd = nl < 0 ? text.length : nl + 1;
    const end = Math.min(lineEnd, i + FGETS_BUFFER - 1);
    let piece = text.slice(i, end);
    const nul = piece.indexOf('\0');
    if (nul >= 0) piece = piece.slice(0, nul);
    out.push(piece);
    i = end;
  }
  return out;
}

/**
 * Parses connlabel.conf text like __labelmap_new(). Returns undefined when
 * no line names a label (the library returns NULL then).
 *
 * @param text file content; bytes are taken as latin1 characters
 */
export function parseLabelMap(text: string): LabelMap | undefined {
  const byName = new Map<string, number>();
  const byBit: (string | undefined)[] = [];
  for (const line of fgetsPieces(text)) {
    if (line.charCodeAt(0) === 0x23) continue; // '#'
    const [bit, end] = parseLabelNumber(line, 0);
    if (bit < 0 || byBit[bit] !== undefined) continue;
    const name = trimLabel(line, end);
    if (name === undefined || !labelIsSane(name) || byName.has(name)) continue;
    byName.set(name, bit);
    byBit[bit] = name;
  }
  if (byName.size === 0) return undefined;
  const dense: (string | undefined)[] = new Array<string | undefined>(byBit.length);
  for (let i = 0; i < byBit.length; i++) dense[i] = byBit[i];
  return { byBit: dense, byName };
}

/** strerror() text of the errors fopen() can report here. */
function perrorText(code: string | undefined, message: string): string {
  switch (code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'ENOTDIR': return 'Not a directory';
    case 'ELOOP': return 'Too many levels of symbolic links';
    case 'ENAMETOOLONG': return 'File name too long';
    case 'EMFILE': return 'Too many open files';
    case 'ENOMEM': return 'Cannot allocate memory';
    // fopen() of a directory succeeds and the read fails; labels.c then
    // resets errno to 0 because nothing was added.
    case 'EISDIR': return 'Success';
    default: return message;
  }
}

/**
 * Loads a connlabel.conf like nfct_labelmap_new(path) and reports what
 * conntrack(8) would print to stderr when that yields no map.
 *
 * @param path defaults to /etc/xtables/connlabel.conf
 * @throws ConntrackError ERR_CT_INVALID_ARGUMENT when `path` is not a non-empty string
 */
export function tryLoadLabelMap(path: string = DEFAULT_CONNLABEL_PATH): LabelMapLoadResult {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'label map path must be a non-empty string');
  }
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { warning: 'nfct_labelmap_new: ' + perrorText(err.code, String(err.message)) };
  }
  const map = parseLabelMap(text);
  return map ? { map } : { warning: 'nfct_labelmap_new: Success' };
}

/**
 * Loads a connlabel.conf; undefined in every case where conntrack(8) ends up
 * without a label map (missing/unreadable file, no valid line). Use
 * {@link tryLoadLabelMap} to also get the stderr line the real tool prints.
 *
 * @param path defaults to /etc/xtables/connlabel.conf
 * @throws ConntrackError ERR_CT_INVALID_ARGUMENT when `path` is not a non-empty string
 */
export function loadLabelMap(path: string = DEFAULT_CONNLABEL_PATH): LabelMap | undefined {
  return tryLoadLabelMap(path).map;
}

/** nfct_labelmap_get_bit(): the bit of a label name, or -1. */
export function labelBit(map: LabelMap, name: string): number {
  const bit = map.byName.get(name);
  return bit === undefined ? -1 : bit;
}

/** Whether bit `bit` is set in a CTA_LABELS bitmap (bit n = byte n>>3, bit n&7). */
function testBit(bits: Uint8Array, bit: number): boolean {
  return (bits[bit >> 3] & (1 << (bit & 7))) !== 0;
}

/**
 * Calls `visit` with the name of every set bit that has a non-empty name in
 * `map`, lowest bit first (__snprintf_connlabels skips unnamed bits and bits
 * beyond the map).
 */
export function forEachLabelName(bits: Uint8Array, map: LabelMap, visit: (name: string) => void): void {
  const names = map.byBit;
  const limit = Math.min(bits.length * 8, names.length);
  for (let bit = 0; bit < limit; bit++) {
    if (!testBit(bits, bit)) continue;
    const name = names[bit];
    if (name) visit(name);
  }
}

/** Numbers of the set bits of a CTA_LABELS bitmap, lowest first. */
export function labelBits(bits: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if (b === 0) continue;
    for (let j = 0; j < 8; j++) if (b & (1 << j)) out.push(i * 8 + j);
  }
  return out;
}

/**
 * The text printer's labels field, trailing blank included
 * (__snprintf_clabels): "labels=a,b ". Quirk kept: when no set bit has a
 * name, the routine still removes one character for the "last comma" and so
 * eats the '=' — the output is "labels " (then the line's final blank is
 * dropped, leaving "... labels" at the end of the line).
 */
export function formatLabelsText(bits: Uint8Array, map: LabelMap): string {
  let s = 'labels=';
  forEachLabelName(bits, map, (name) => {
    s += name + ',';
  });
  return s.slice(0, -1) + ' ';
}

/** The XML printer's labels element (__snprintf_clabels_xml). */
export function formatLabelsXml(bits: Uint8Array, map: LabelMap): string {
  let s = '<labels>';
  forEachLabelName(bits, map, (name) => {
    s += '<label>' + name + '</label>';
  });
  return s + '</labels>';
}
