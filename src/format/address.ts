// Address text exactly as glibc prints it.
//
// libnetfilter_conntrack prints IPv4 tuple addresses with inet_ntoa() and
// IPv6 ones with inet_ntop(AF_INET6) (src/conntrack/snprintf_default.c,
// __snprintf_address_ipv4 / __snprintf_address_ipv6), so the strings must be
// glibc's: inet/inet_ntoa.c ("%d.%d.%d.%d") and resolv/inet_ntop.c
// (inet_ntop6, the BIND-derived algorithm).
//
// Hot path: the decoder calls these for every tuple address. No regex, no
// arrays built per call; decimal and hex digits come from precomputed tables.

/** "0".."255": one string per byte value (inet_ntoa prints each byte with %d). */
const DEC: readonly string[] = buildDecimalTable();

function buildDecimalTable(): string[] {
  const t: string[] = new Array<string>(256);
  for (let i = 0; i < 256; i++) t[i] = String(i);
  return t;
}

/** "0".."ff": one string per byte value, lowercase, no leading zeros. */
const HEX: readonly string[] = buildHexTable();

function buildHexTable(): string[] {
  const t: string[] = new Array<string>(256);
  for (let i = 0; i < 256; i++) t[i] = i.toString(16);
  return t;
}

/** "00".."ff": the low byte of a 16-bit word whose high byte is non-zero. */
const HEX2: readonly string[] = buildHex2Table();

function buildHex2Table(): string[] {
  const t: string[] = new Array<string>(256);
  for (let i = 0; i < 256; i++) t[i] = (i < 16 ? '0' : '') + i.toString(16);
  return t;
}

/**
 * Dotted-quad text of the 4 bytes at `off` (network byte order), exactly
 * like glibc inet_ntoa(): "%d.%d.%d.%d", no zero padding.
 *
 * @param bytes buffer holding the address
 * @param off   offset of the first (most significant) byte
 */
export function formatIPv4(bytes: Uint8Array, off: number): string {
  return DEC[bytes[off]] + '.' + DEC[bytes[off + 1]] + '.' + DEC[bytes[off + 2]] + '.' + DEC[bytes[off + 3]];
}

/** One 16-bit word as "%x": lowercase hex without leading zeros. */
function hexWord(hi: number, lo: number): string {
  return hi === 0 ? HEX[lo] : HEX[hi] + HEX2[lo];
}

/**
 * Text of the 16-byte IPv6 address at `off`, exactly like glibc
 * inet_ntop(AF_INET6) (resolv/inet_ntop.c, inet_ntop6):
 *
 * - the longest run of two or more all-zero 16-bit words becomes "::"; on a
 *   tie the first run wins (a later run must be strictly longer);
 * - a single zero word is printed as "0", never compressed;
 * - words are lowercase hex without leading zeros;
 * - the last 32 bits are printed as a dotted quad when the compressed run
 *   starts at word 0 and is either 6 words long ("::a.b.c.d", which includes
 *   glibc's reading of e.g. ::2:3 as ::0.2.0.3) or 5 words long followed by
 *   0xffff ("::ffff:a.b.c.d"). "::" and "::1" (runs of 8 and 7) stay hex.
 *
 * @param bytes buffer holding the address
 * @param off   offset of the first byte (network byte order)
 */
export function formatIPv6(bytes: Uint8Array, off: number): string {
  // Find the longest zero-word run (words are big-endian byte pairs).
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    const p = off + 2 * i;
    if (bytes[p] === 0 && bytes[p + 1] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  return bestBase === -1 ? ipv6NoRun(bytes, off) : ipv6WithRun(bytes, off, bestBase, bestLen);
}

/** All eight words, colon separated (no zero run of length >= 2). */
function ipv6NoRun(bytes: Uint8Array, off: number): string {
  let s = hexWord(bytes[off], bytes[off + 1]);
  for (let i = 1; i < 8; i++) {
    const p = off + 2 * i;
    s += ':' + hexWord(bytes[p], bytes[p + 1]);
  }
  return s;
}

/** The words around the compressed run [base, base+len). */
function ipv6WithRun(bytes: Uint8Array, off: number, base: number, len: number): string {
  const end = base + len;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i >= base && i < end) {
      if (i === base) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && base === 0 && (len === 6 || (len === 5 && bytes[off + 10] === 0xff && bytes[off + 11] === 0xff))) {
      // Embedded IPv4 (inet_ntop4 on the last 4 bytes); nothing follows.
      return s + formatIPv4(bytes, off + 12);
    }
    const p = off + 2 * i;
    s += hexWord(bytes[p], bytes[p + 1]);
  }
  if (end === 8) s += ':';
  return s;
}
