// Capture files: classic libpcap with link type LINKTYPE_NETLINK (253).
//
// This is the format `nlmon` + tcpdump/Wireshark use for netlink traffic, so a
// capture written here opens in Wireshark/tshark and a capture taken with
// nlmon can be replayed by this library.
//
// File layout (all pcap header fields in the byte order given by the magic):
//
//   file header (24 bytes)
//     u32 magic        0xa1b2c3d4 (µs time stamps) or 0xa1b23c4d (ns)
//     u16 version_major 2
//     u16 version_minor 4
//     i32 thiszone      0
//     u32 sigfigs       0
//     u32 snaplen       262144
//     u32 network       253 = LINKTYPE_NETLINK
//   per record
//     record header (16 bytes): u32 ts_sec, u32 ts_usec|ts_nsec, u32 incl_len, u32 orig_len
//     pseudo-header (16 bytes, always big endian, the Linux "cooked" SLL layout):
//       0  be16 packet type        (we write 4, the reader ignores it)
//       2  be16 ARPHRD type        824 = ARPHRD_NETLINK
//       4  be16 link-layer addr len 0
//       6  8 bytes link-layer address, zeros
//       14 be16 netlink protocol   12 = NETLINK_NETFILTER
//     the datagram exactly as recvmsg() returned it (incl_len - 16 bytes)
//
// Readers never trust a length before checking it against a fixed cap, so a
// hostile file cannot make them allocate more than one record (≤ 16 MiB) plus
// one read chunk, and they always make progress or stop.

import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConntrackError } from './errors';

/** LINKTYPE_NETLINK: the pcap link type for netlink captures (tcpdump.org link-layer header types). */
export const LINKTYPE_NETLINK = 253;
/** ARPHRD_NETLINK (include/uapi/linux/if_arp.h): the hardware type nlmon devices report. */
export const ARPHRD_NETLINK = 824;
/** NETLINK_NETFILTER (include/uapi/linux/netlink.h): the netlink family ctnetlink lives in. */
export const NETLINK_NETFILTER = 12;
/** Snapshot length written into new captures; libpcap's default maximum (MAXIMUM_SNAPLEN). */
export const PCAP_SNAPLEN = 262144;
/** Size of the classic pcap file header. */
export const PCAP_FILE_HEADER_LEN = 24;
/** Size of a classic pcap record header. */
export const PCAP_RECORD_HEADER_LEN = 16;
/** Size of the LINKTYPE_NETLINK pseudo-header in front of every datagram. */
export const NETLINK_PSEUDO_HEADER_LEN = 16;
/**
 * Hard cap on one record's incl_len, whatever the file's snaplen claims. It
 * bounds the memory a hostile or corrupt file can make a reader allocate.
 */
export const PCAP_MAX_RECORD_LEN = 16 * 1024 * 1024;

/** Packet type we write into the pseudo-header (PACKET_OUTGOING, as nlmon captures show). */
const PSEUDO_PACKET_TYPE = 4;
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const MAGIC_USEC_SWAPPED = 0xd4c3b2a1;
const MAGIC_NSEC_SWAPPED = 0x4d3cb2a1;
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
/** Upper bound for the caller's read chunk size; larger only wastes memory. */
const MAX_HIGH_WATER_MARK = 64 * 1024 * 1024;
/** Size of the writer's batch buffers: records are copied in and handed to the stream per batch. */
const WRITE_BATCH_LEN = 64 * 1024;

/** What the 24-byte file header says, as returned by {@link readPcapHeader}. */
export interface PcapHeader {
  /** Byte order of every pcap header field (not of the datagrams, which are in the capturing host's order). */
  byteOrder: 'le' | 'be';
  /** True for the 0xa1b23c4d variant: the record's second time stamp field holds nanoseconds. */
  nanosecond: boolean;
  /** Declared snapshot length; 0 means "not given" and only the 16 MiB cap applies. */
  snaplen: number;
  /** Link type; always {@link LINKTYPE_NETLINK} for a header that parsed. */
  linkType: number;
  /** Format major version; always 2 for a header that parsed. */
  versionMajor: number;
  /** Format minor version (4 in practice; any value is accepted). */
  versionMinor: number;
}

/** One captured datagram, as yielded by {@link readPcapBuffer} and {@link readPcapFile}. */
export interface PcapRecord {
  /** Receive time, whole seconds since the Unix epoch. */
  tsSec: number;
  /** Receive time, microseconds within the second (from ns files: truncated). */
  tsUsec: number;
  /** Receive time, nanoseconds within the second (from µs files: tsUsec × 1000). */
  tsNsec: number;
  /** Netlink protocol from the pseudo-header; 12 = NETLINK_NETFILTER for ctnetlink. */
  protocol: number;
  /** ARPHRD type from the pseudo-header; 824 = ARPHRD_NETLINK in any sane capture. */
  arphrd: number;
  /** The datagram, WITHOUT the 16-byte pseudo-header. See the reader for how long the view stays valid. */
  data: Uint8Array;
  /**
   * Original length of the datagram (the record's orig_len minus the 16-byte
   * pseudo-header). Larger than `data.length` only when the capturing tool
   * truncated the datagram to its snaplen; our writer never does below 256 KiB.
   */
  origLen: number;
  /** File offset of this record's 16-byte record header. */
  fileOffset: number;
}

/** Options for {@link readPcapFile}. */
export interface ReadPcapFileOptions {
  /** Read chunk size in bytes (default 64 KiB). Memory use is about this plus the largest record. */
  highWaterMark?: number;
}

/** Options for {@link PcapWriter.write}. */
export interface PcapWriteOptions {
  /** Seconds since the Unix epoch; default: now. */
  tsSec?: number;
  /** Microseconds within the second, 0..999999; 0 when only tsSec is given; not allowed without tsSec. */
  tsUsec?: number;
  /** Netlink protocol for the pseudo-header; default 12 (NETLINK_NETFILTER). */
  protocol?: number;
}

/** One record for {@link encodePcap}. */
export interface PcapEncodeRecord {
  /** The datagram exactly as received; the pseudo-header is added. */
  data: Uint8Array;
  /** Seconds since the Unix epoch. */
  tsSec: number;
  /** Microseconds within the second, 0..999999. */
  tsUsec: number;
  /** Netlink protocol for the pseudo-header; default 12 (NETLINK_NETFILTER). */
  protocol?: number;
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

function captureError(message: string, offset: number, cause?: unknown): ConntrackError {
  return new ConntrackError('ERR_CT_CAPTURE', message, { offset, cause });
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex32(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/**
 * Parse and validate the 24-byte pcap file header at the start of `buf`.
 *
 * @throws ConntrackError `ERR_CT_CAPTURE` if the buffer is shorter than 24
 *   bytes, the magic is not one of the four classic pcap magics, the major
 *   version is not 2, or the link type is not LINKTYPE_NETLINK (253).
 */
export function readPcapHeader(buf: Uint8Array): PcapHeader {
  if (buf.length < PCAP_FILE_HEADER_LEN) {
    throw captureError(
      `capture is too short for the ${PCAP_FILE_HEADER_LEN}-byte pcap file header: ` +
        `${buf.length} bytes at file offset 0`,
      0,
    );
  }
  const dv = viewOf(buf);
  // Reading the magic little endian tells us both the byte order and the resolution.
  const magic = dv.getUint32(0, true);
  let le: boolean;
  let nanosecond: boolean;
  switch (magic) {
    case MAGIC_USEC: le = true; nanosecond = false; break;
    case MAGIC_NSEC: le = true; nanosecond = true; break;
    case MAGIC_USEC_SWAPPED: le = false; nanosecond = false; break;
    case MAGIC_NSEC_SWAPPED: le = false; nanosecond = true; break;
    default:
      throw captureError(
        `not a classic pcap file: magic ${hex32(dv.getUint32(0, false))} at file offset 0 ` +
          `(pcapng and other formats are not supported)`,
        0,
      );
  }
  const versionMajor = dv.getUint16(4, le);
  const versionMinor = dv.getUint16(6, le);
  if (versionMajor !== 2) {
    throw captureError(
      `unsupported pcap version ${versionMajor}.${versionMinor} at file offset 4 (expected 2.x)`,
      4,
    );
  }
  const snaplen = dv.getUint32(16, le);
  const linkType = dv.getUint32(20, le);
  if (linkType !== LINKTYPE_NETLINK) {
    throw captureError(
      `capture link type is ${linkType} at file offset 20, expected ${LINKTYPE_NETLINK} (LINKTYPE_NETLINK)`,
      20,
    );
  }
  return { byteOrder: le ? 'le' : 'be', nanosecond, snaplen, linkType, versionMajor, versionMinor };
}

/** The largest incl_len we accept for this file: its snaplen, never above the hard cap. */
function recordLimit(hdr: PcapHeader): number {
  // libpcap treats snaplen 0 as "unknown"; then only our own cap applies.
  return hdr.snaplen === 0 ? PCAP_MAX_RECORD_LEN : Math.min(hdr.snaplen, PCAP_MAX_RECORD_LEN);
}

/**
 * The error for an incl_len above the file's limit or below the pseudo-header
 * size (callers test `inclLen > limit || inclLen < NETLINK_PSEUDO_HEADER_LEN`
 * inline: a call per record on the hot path costs an allocation).
 */
function badInclLen(inclLen: number, limit: number, snaplen: number, fileOffset: number): ConntrackError {
  if (inclLen > limit) {
    return captureError(
      `record at file offset ${fileOffset}: incl_len ${inclLen} exceeds the limit of ${limit} bytes ` +
        `(snaplen ${snaplen}, hard cap ${PCAP_MAX_RECORD_LEN})`,
      fileOffset,
    );
  }
  return captureError(
    `record at file offset ${fileOffset}: incl_len ${inclLen} is shorter than the ` +
      `${NETLINK_PSEUDO_HEADER_LEN}-byte LINKTYPE_NETLINK pseudo-header`,
    fileOffset,
  );
}

function recordHeaderCutShort(fileOffset: number, have: number): ConntrackError {
  return captureError(
    `record header at file offset ${fileOffset} is cut short: ${have} of ${PCAP_RECORD_HEADER_LEN} bytes`,
    fileOffset,
  );
}

function recordBodyCutShort(fileOffset: number, inclLen: number, have: number): ConntrackError {
  return captureError(
    `record at file offset ${fileOffset} is cut short: incl_len ${inclLen} but only ${have} bytes follow the record header`,
    fileOffset,
  );
}

/** A plain Uint8Array view on the same memory (a Buffer input would otherwise leak through subarray). */
function plainView(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Fields of a cursor's current record, as in {@link PcapRecord}, and how they
 * are read from a record header: shared by {@link PcapCursor} (a capture in
 * memory) and {@link PcapFileCursor} (a file read through a window), which
 * differ only in where the bytes are and what happens when they run out.
 *
 * @internal
 */
abstract class RecordFields {
  /** The bytes the current record's datagram is in (see dataStart/dataEnd). */
  abstract bytes: Uint8Array;
  /** Fields of the current record, as in {@link PcapRecord}. */
  tsSec = 0;
  tsUsec = 0;
  tsNsec = 0;
  protocol = 0;
  arphrd = 0;
  origLen = 0;
  fileOffset = 0;
  /** The current record's datagram (without the pseudo-header) is bytes[dataStart, dataEnd). */
  dataStart = 0;
  dataEnd = 0;

  // Set the fields from the record header at `at` in `dv`, whose incl_len
  // (already validated, body present) is `inclLen`.
  protected readFields(dv: DataView, at: number, le: boolean, nanosecond: boolean, inclLen: number, fileOffset: number): void {
    const bodyAt = at + PCAP_RECORD_HEADER_LEN;
    const frac = dv.getUint32(at + 4, le);
    this.tsSec = dv.getUint32(at, le);
    this.tsNsec = nanosecond ? frac : frac * 1000;
    this.tsUsec = nanosecond ? Math.floor(frac / 1000) : frac;
    // The pseudo-header is big endian whatever the file's byte order (it mirrors the SLL header).
    this.protocol = dv.getUint16(bodyAt + 14, false);
    this.arphrd = dv.getUint16(bodyAt + 2, false);
    const origLen = dv.getUint32(at + 12, le) - NETLINK_PSEUDO_HEADER_LEN;
    this.origLen = origLen > 0 ? origLen : 0;
    this.fileOffset = fileOffset;
    this.dataStart = bodyAt + NETLINK_PSEUDO_HEADER_LEN;
    this.dataEnd = bodyAt + inclLen;
  }

  /** The current record as a new {@link PcapRecord}; `data` is a view into `bytes`. */
  record(): PcapRecord {
    return {
      tsSec: this.tsSec,
      tsUsec: this.tsUsec,
      tsNsec: this.tsNsec,
      protocol: this.protocol,
      arphrd: this.arphrd,
      data: this.bytes.subarray(this.dataStart, this.dataEnd),
      origLen: this.origLen,
      fileOffset: this.fileOffset,
    };
  }
}

/**
 * Walks the records of a capture in memory without allocating anything per
 * record: `next()` moves to the next record and sets the fields of this one
 * reused object; the datagram is `bytes[dataStart, dataEnd)`. Same checks,
 * errors and order as {@link readPcapBuffer}, which is built on it. The
 * header is checked by the constructor.
 *
 * @internal the allocation-free path of replayRecords(); the public API is readPcapBuffer.
 */
export class PcapCursor extends RecordFields {
  /** The capture as a plain Uint8Array (a Buffer input is re-viewed, not copied). */
  readonly bytes: Uint8Array;
  /** The parsed file header. */
  readonly header: PcapHeader;
  private readonly dv: DataView;
  private readonly le: boolean;
  private readonly nanosecond: boolean;
  private readonly limit: number;
  private at = PCAP_FILE_HEADER_LEN;

  constructor(buf: Uint8Array) {
    super();
    this.bytes = plainView(buf);
    this.header = readPcapHeader(this.bytes);
    this.dv = viewOf(this.bytes);
    this.le = this.header.byteOrder === 'le';
    this.nanosecond = this.header.nanosecond;
    this.limit = recordLimit(this.header);
  }

  /**
   * Move to the next record; false at the end of the capture.
   *
   * @throws ConntrackError `ERR_CT_CAPTURE` as {@link readPcapBuffer} does.
   */
  next(): boolean {
    const at = this.at;
    const size = this.bytes.length;
    if (at >= size) return false;
    const left = size - at;
    if (left < PCAP_RECORD_HEADER_LEN) throw recordHeaderCutShort(at, left);
    const dv = this.dv;
    const le = this.le;
    const inclLen = dv.getUint32(at + 8, le);
    if (inclLen > this.limit || inclLen < NETLINK_PSEUDO_HEADER_LEN) throw badInclLen(inclLen, this.limit, this.header.snaplen, at);
    const bodyAt = at + PCAP_RECORD_HEADER_LEN;
    if (size - bodyAt < inclLen) throw recordBodyCutShort(at, inclLen, size - bodyAt);
    this.readFields(dv, at, le, this.nanosecond, inclLen, at);
    this.at = bodyAt + inclLen;
    return true;
  }

}

/**
 * Iterate over the records of a capture that is already in memory.
 *
 * Each yielded record is a new object the caller may keep; its `data` is a
 * zero-copy view into `buf`: it stays valid as long as `buf` is not modified.
 *
 * @throws ConntrackError `ERR_CT_CAPTURE` (thrown from the iterator) for a bad
 *   file header, a record header or body cut short, or an incl_len that is
 *   above the snaplen / 16 MiB or below the 16-byte pseudo-header. Records
 *   before the fault have been yielded by then.
 */
export function* readPcapBuffer(buf: Uint8Array): Generator<PcapRecord, void, undefined> {
  const cur = new PcapCursor(buf);
  while (cur.next()) yield cur.record();
}

/** Turn a Node system error into ERR_CT_CAPTURE, keeping errno/syscall for callers. */
function ioError(what: string, path: string, offset: number, err: unknown): ConntrackError {
  const e = err as NodeJS.ErrnoException;
  const msg = e && typeof e.message === 'string' ? e.message : String(err);
  return new ConntrackError('ERR_CT_CAPTURE', `cannot ${what} capture file ${path} (file offset ${offset}): ${msg}`, {
    offset,
    cause: err,
    ...(typeof e?.errno === 'number' ? { errno: Math.abs(e.errno) } : {}),
    ...(typeof e?.syscall === 'string' ? { syscall: e.syscall } : {}),
  });
}

/**
 * A sliding window over a file: bytes [start, end) of `buf` are the file
 * bytes at [offset, offset + available). `need(n)` makes n bytes contiguous,
 * reading more and compacting or growing the buffer only as far as n.
 */
class FileWindow {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  /** File position of buf[end], i.e. where the next read continues. */
  private readPos = 0;
  private eof = false;

  constructor(private readonly fh: FileHandle, private readonly path: string, private readonly chunk: number) {
    this.buf = Buffer.allocUnsafe(chunk);
  }

  /** The current buffer (replaced when a record needs a bigger one) and where its unconsumed bytes start. */
  get buffer(): Buffer {
    return this.buf;
  }

  get position(): number {
    return this.start;
  }

  /** Consume `n` available bytes without a view of them. */
  skip(n: number): void {
    this.start += n;
  }

  /** File offset of the first unconsumed byte. */
  get offset(): number {
    return this.readPos - (this.end - this.start);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Make `n` bytes available; resolves false if the file ends first. Callers bound n beforehand. */
  async need(n: number): Promise<boolean> {
    if (this.available >= n) return true;
    this.makeRoom(n);
    while (this.available < n && !this.eof) await this.readMore();
    return this.available >= n;
  }

  /** Consume `n` available bytes and return a view of them, valid until the next `need()`. */
  take(n: number): Uint8Array {
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.start, n);
    this.start += n;
    return view;
  }

  /** Ensure buf can hold n bytes from `start`: move the tail to the front, or grow to exactly what is needed. */
  private makeRoom(n: number): void {
    if (this.start + n <= this.buf.length) return;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.chunk));
      this.buf.copy(bigger, 0, this.start, this.end);
      this.buf = bigger;
    } else {
      // Overwrites bytes handed out by take(): that is the "valid until the next step" contract.
      this.buf.copyWithin(0, this.start, this.end);
    }
    this.end -= this.start;
    this.start = 0;
  }

  private async readMore(): Promise<void> {
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.fh.read(this.buf, this.end, this.buf.length - this.end, this.readPos));
    } catch (err) {
      throw ioError('read', this.path, this.readPos, err);
    }
    if (bytesRead === 0) this.eof = true;
    this.end += bytesRead;
    this.readPos += bytesRead;
  }
}

function checkHighWaterMark(hwm: number | undefined): number {
  if (hwm === undefined) return DEFAULT_HIGH_WATER_MARK;
  if (!Number.isInteger(hwm) || hwm < 1 || hwm > MAX_HIGH_WATER_MARK) {
    throw new ConntrackError(
      'ERR_CT_INVALID_ARGUMENT',
      `highWaterMark must be an integer from 1 to ${MAX_HIGH_WATER_MARK}, got ${String(hwm)}`,
    );
  }
  return hwm;
}

/**
 * The file counterpart of {@link PcapCursor}: streams a capture file through
 * one reused window buffer of `highWaterMark` bytes (grown only for a larger
 * record) and moves to the next record without allocating anything when that
 * record is already buffered whole. Use:
 *
 *   while (cur.next() || (await cur.fill()) && cur.next()) { ... }
 *
 * The current record's datagram is `bytes[dataStart, dataEnd)`, valid until
 * the next fill(). {@link readPcapFile} is built on it.
 *
 * @internal the allocation-free path of replayRecords(); the public API is readPcapFile.
 */
export class PcapFileCursor extends RecordFields {
  /** The window's buffer as a plain Uint8Array; may be a different one after fill(). */
  bytes: Uint8Array;
  private bound: Buffer;
  private dv: DataView;
  private readonly le: boolean;
  private readonly nanosecond: boolean;
  private readonly limit: number;
  private closing: Promise<void> | undefined;

  private constructor(private readonly fh: FileHandle, private readonly win: FileWindow, readonly header: PcapHeader) {
    super();
    this.bound = win.buffer;
    this.bytes = plainView(this.bound);
    this.dv = viewOf(this.bytes);
    this.le = header.byteOrder === 'le';
    this.nanosecond = header.nanosecond;
    this.limit = recordLimit(header);
  }

  /**
   * Open `path` and read its file header.
   *
   * @throws ConntrackError as {@link readPcapFile} does for the open and the file header.
   */
  static async open(path: string, opts: ReadPcapFileOptions = {}): Promise<PcapFileCursor> {
    const chunk = checkHighWaterMark(opts.highWaterMark);
    let fh: FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (err) {
      throw ioError('open', path, 0, err);
    }
    try {
      const win = new FileWindow(fh, path, chunk);
      await win.need(PCAP_FILE_HEADER_LEN);
      const hdr = readPcapHeader(win.take(Math.min(win.available, PCAP_FILE_HEADER_LEN)));
      return new PcapFileCursor(fh, win, hdr);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Move to the next record if it is buffered whole and return true; false
   * when {@link fill} has to read first. Allocates nothing.
   *
   * @throws ConntrackError `ERR_CT_CAPTURE` for a bad incl_len.
   */
  next(): boolean {
    const win = this.win;
    const avail = win.available;
    if (avail < PCAP_RECORD_HEADER_LEN) return false;
    if (win.buffer !== this.bound) this.rebind();
    const at = win.position;
    const dv = this.dv;
    const le = this.le;
    const inclLen = dv.getUint32(at + 8, le);
    if (inclLen > this.limit || inclLen < NETLINK_PSEUDO_HEADER_LEN) throw badInclLen(inclLen, this.limit, this.header.snaplen, win.offset);
    if (avail - PCAP_RECORD_HEADER_LEN < inclLen) return false;
    this.readFields(dv, at, le, this.nanosecond, inclLen, win.offset);
    win.skip(PCAP_RECORD_HEADER_LEN + inclLen);
    return true;
  }

  /**
   * Read until the next record is buffered whole: true, then {@link next}
   * returns it; false at the end of the file. The bytes of the current
   * record may be overwritten.
   *
   * @throws ConntrackError `ERR_CT_CAPTURE` for a record cut short, a bad
   *   incl_len (checked before its body is read) or a read error.
   */
  async fill(): Promise<boolean> {
    const win = this.win;
    const at = win.offset;
    if (!(await win.need(PCAP_RECORD_HEADER_LEN))) {
      if (win.available === 0) return false;
      throw recordHeaderCutShort(at, win.available);
    }
    if (win.buffer !== this.bound) this.rebind();
    // Validate incl_len before asking for the body, so a hostile length never reaches an allocation.
    const inclLen = this.dv.getUint32(win.position + 8, this.le);
    if (inclLen > this.limit || inclLen < NETLINK_PSEUDO_HEADER_LEN) throw badInclLen(inclLen, this.limit, this.header.snaplen, at);
    if (!(await win.need(PCAP_RECORD_HEADER_LEN + inclLen))) throw recordBodyCutShort(at, inclLen, win.available - PCAP_RECORD_HEADER_LEN);
    return true;
  }


  /** Close the file (once; later calls return the same promise). */
  close(): Promise<void> {
    this.closing ??= this.fh.close();
    return this.closing;
  }

  private rebind(): void {
    this.bound = this.win.buffer;
    this.bytes = plainView(this.bound);
    this.dv = viewOf(this.bytes);
  }
}

/**
 * Stream the records of a capture file without loading it whole: the file is
 * read in chunks of `highWaterMark` bytes into one reused buffer, so memory
 * use stays around the chunk size plus the largest record (at most 16 MiB).
 *
 * IMPORTANT: each yielded record's `data` is a view into that reused buffer.
 * It is valid only until the iterator is advanced again (the next `for await`
 * step). Copy it (`data.slice()`) if you need to keep it longer.
 *
 * The file is closed when iteration ends, fails, or is abandoned with `break`.
 *
 * @throws ConntrackError `ERR_CT_CAPTURE` for the same format faults as
 *   {@link readPcapBuffer} (records before the fault are yielded first), and
 *   when the file cannot be opened or read (with errno and syscall set).
 * @throws ConntrackError `ERR_CT_INVALID_ARGUMENT` for a bad highWaterMark.
 */
export async function* readPcapFile(
  path: string,
  opts: ReadPcapFileOptions = {},
): AsyncGenerator<PcapRecord, void, undefined> {
  const cur = await PcapFileCursor.open(path, opts);
  try {
    while (cur.next() || ((await cur.fill()) && cur.next())) yield cur.record();
  } finally {
    await cur.close();
  }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

function invalidArgument(message: string): ConntrackError {
  return new ConntrackError('ERR_CT_INVALID_ARGUMENT', message);
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalidArgument(`${name} must be an integer from 0 to ${max}, got ${String(value)}`);
  }
}

function checkRecordFields(data: Uint8Array, tsSec: number, tsUsec: number, protocol: number): void {
  if (!(data instanceof Uint8Array)) throw invalidArgument('datagram must be a Uint8Array');
  checkUint('tsSec', tsSec, 0xffffffff);
  checkUint('tsUsec', tsUsec, 999999);
  checkUint('protocol', protocol, 0xffff);
}

/** The 24-byte file header we always write: LE, µs, v2.4, snaplen 262144, LINKTYPE_NETLINK. */
function encodeFileHeader(): Buffer {
  const b = Buffer.alloc(PCAP_FILE_HEADER_LEN);
  b.writeUInt32LE(MAGIC_USEC, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // thiszone: time stamps are UTC
  b.writeUInt32LE(0, 12); // sigfigs: always 0 in practice
  b.writeUInt32LE(PCAP_SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_NETLINK, 20);
  return b;
}

/** Bytes of the datagram that fit under our snaplen together with the pseudo-header. */
function storedLen(data: Uint8Array): number {
  return Math.min(data.length, PCAP_SNAPLEN - NETLINK_PSEUDO_HEADER_LEN);
}

/** Size of the whole record (record header + pseudo-header + stored datagram bytes). */
function recordSize(data: Uint8Array): number {
  return PCAP_RECORD_HEADER_LEN + NETLINK_PSEUDO_HEADER_LEN + storedLen(data);
}

/**
 * Write one record into `out` at `at` and return the offset after it. A
 * datagram longer than the snaplen is cut, with orig_len keeping the real
 * size, as libpcap does; ctnetlink datagrams stay far below 256 KiB.
 */
function encodeRecordInto(out: Buffer, at: number, data: Uint8Array, tsSec: number, tsUsec: number, protocol: number): number {
  const stored = storedLen(data);
  out.writeUInt32LE(tsSec, at);
  out.writeUInt32LE(tsUsec, at + 4);
  out.writeUInt32LE(NETLINK_PSEUDO_HEADER_LEN + stored, at + 8);
  // orig_len can exceed u32 only for absurd inputs; clamp instead of throwing from a capture path.
  out.writeUInt32LE(Math.min(NETLINK_PSEUDO_HEADER_LEN + data.length, 0xffffffff), at + 12);
  const p = at + PCAP_RECORD_HEADER_LEN;
  out.writeUInt16BE(PSEUDO_PACKET_TYPE, p);
  out.writeUInt16BE(ARPHRD_NETLINK, p + 2);
  out.writeUInt16BE(0, p + 4); // no link-layer address
  out.fill(0, p + 6, p + 14);
  out.writeUInt16BE(protocol, p + 14);
  out.set(data.subarray(0, stored), p + NETLINK_PSEUDO_HEADER_LEN);
  return p + NETLINK_PSEUDO_HEADER_LEN + stored;
}

/**
 * Build a whole LINKTYPE_NETLINK capture in memory: file header, then one
 * record per entry, byte-for-byte what {@link PcapWriter} writes.
 *
 * @throws ConntrackError `ERR_CT_INVALID_ARGUMENT` if a time stamp or
 *   protocol is out of range.
 */
export function encodePcap(records: ReadonlyArray<PcapEncodeRecord>): Buffer {
  let total = PCAP_FILE_HEADER_LEN;
  for (const r of records) {
    checkRecordFields(r.data, r.tsSec, r.tsUsec, r.protocol ?? NETLINK_NETFILTER);
    total += recordSize(r.data);
  }
  const out = Buffer.allocUnsafe(total);
  encodeFileHeader().copy(out, 0);
  let at = PCAP_FILE_HEADER_LEN;
  for (const r of records) at = encodeRecordInto(out, at, r.data, r.tsSec, r.tsUsec, r.protocol ?? NETLINK_NETFILTER);
  return out;
}

/**
 * Current wall-clock time with microsecond resolution. Date.now() alone has
 * only milliseconds; performance.timeOrigin + now() has more but can drift
 * from the wall clock (suspend, clock steps), so it is used only while it
 * agrees with Date.now().
 */
function nowSecUsec(): { tsSec: number; tsUsec: number } {
  const wall = Date.now();
  const fine = performance.timeOrigin + performance.now();
  const ms = Math.abs(fine - wall) < 2 ? fine : wall;
  const usecTotal = Math.floor(ms * 1000);
  return { tsSec: Math.floor(usecTotal / 1e6), tsUsec: usecTotal % 1e6 };
}

/**
 * Writes a LINKTYPE_NETLINK capture file record by record, e.g. while
 * listening on a ctnetlink socket. The output opens in Wireshark/tshark and
 * reads back with {@link readPcapFile}.
 *
 * `write()` copies the datagram at once (the caller may reuse its buffer) into
 * 64 KiB batches that go to an fs.WriteStream. `write()` never blocks; to
 * respect backpressure, check {@link PcapWriter.needsDrain} and `await
 * drain()` when it is true (or simply `await drain()` every so often).
 * Data still in the current batch reaches the file on `drain()` or `close()`.
 */
export class PcapWriter {
  private batch: Buffer = Buffer.allocUnsafe(WRITE_BATCH_LEN);
  private batchLen = 0;
  private error: ConntrackError | undefined;
  private closing: Promise<void> | undefined;
  /** Settles when the most recent chunk given to the stream is written; chunks complete in order. */
  private lastWrite: Promise<void> = Promise.resolve();

  private constructor(private readonly stream: WriteStream, private readonly path: string) {
    // Without a listener a write error would crash the process; keep it for the next call instead.
    stream.on('error', (err) => {
      this.error ??= ioError('write', path, stream.bytesWritten, err);
    });
  }

  /**
   * Create (or truncate) the file at `path` and write the pcap file header.
   *
   * @throws ConntrackError `ERR_CT_CAPTURE` if the file cannot be opened.
   */
  static async open(path: string): Promise<PcapWriter> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(path, 'w');
    } catch (err) {
      throw ioError('open', path, 0, err);
    }
    // autoClose (the default) closes the handle when the stream finishes or fails.
    const writer = new PcapWriter(fh.createWriteStream({ highWaterMark: WRITE_BATCH_LEN * 4 }), path);
    writer.append(encodeFileHeader(), PCAP_FILE_HEADER_LEN);
    return writer;
  }

  /**
   * True when the stream holds more than its high-water mark of unwritten
   * data; the caller should `await drain()` before writing much more.
   */
  get needsDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  /**
   * Append one datagram as a record. The bytes are copied before returning.
   *
   * @param datagram the datagram exactly as recvmsg() returned it.
   * @param opts time stamp (default: now) and netlink protocol (default 12, NETLINK_NETFILTER).
   * @throws ConntrackError `ERR_CT_CLOSED` after `close()`, `ERR_CT_CAPTURE`
   *   after a failed write, `ERR_CT_INVALID_ARGUMENT` for out-of-range options.
   */
  write(datagram: Uint8Array, opts: PcapWriteOptions = {}): void {
    this.checkUsable();
    if (opts.tsSec === undefined && opts.tsUsec !== undefined) throw invalidArgument('tsUsec given without tsSec');
    const now = opts.tsSec === undefined ? nowSecUsec() : { tsSec: opts.tsSec, tsUsec: opts.tsUsec ?? 0 };
    const protocol = opts.protocol ?? NETLINK_NETFILTER;
    checkRecordFields(datagram, now.tsSec, now.tsUsec, protocol);
    const size = recordSize(datagram);
    if (size > this.batch.length - this.batchLen) this.flushBatch();
    if (size > this.batch.length) {
      // A record larger than a batch gets its own buffer rather than growing the batch for good.
      const own = Buffer.allocUnsafe(size);
      encodeRecordInto(own, 0, datagram, now.tsSec, now.tsUsec, protocol);
      this.push(own);
      return;
    }
    this.batchLen = encodeRecordInto(this.batch, this.batchLen, datagram, now.tsSec, now.tsUsec, protocol);
  }

  /**
   * Hand the current batch to the stream and wait until everything written
   * so far has reached the file (one write() system call per batch). Use it
   * for backpressure when {@link PcapWriter.needsDrain} is true, or to make a
   * live capture visible to other readers.
   *
   * @throws ConntrackError `ERR_CT_CLOSED` after `close()`, `ERR_CT_CAPTURE`
   *   if a write failed.
   */
  async drain(): Promise<void> {
    this.checkUsable();
    this.flushBatch();
    await this.lastWrite;
    if (this.error) throw this.error;
  }

  /**
   * Flush everything and close the file. Safe to call more than once: later
   * calls return the same promise.
   *
   * @throws ConntrackError `ERR_CT_CAPTURE` if a write or the close failed.
   */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (!this.error) this.flushBatch();
    await new Promise<void>((resolve) => {
      // 'close' comes after 'finish' (autoClose) and also after an error, so it always settles.
      if (this.stream.closed) resolve();
      else this.stream.once('close', () => resolve());
      this.stream.end();
    });
    if (this.error) throw this.error;
  }

  private checkUsable(): void {
    if (this.closing) throw new ConntrackError('ERR_CT_CLOSED', `capture file ${this.path} is closed`);
    if (this.error) throw this.error;
  }

  /** Copy `bytes` into the batch (used for the file header). */
  private append(bytes: Buffer, len: number): void {
    bytes.copy(this.batch, this.batchLen, 0, len);
    this.batchLen += len;
  }

  /** Give the filled part of the batch to the stream and start a fresh batch (the stream keeps the old one). */
  private flushBatch(): void {
    if (this.batchLen === 0) return;
    this.push(this.batch.subarray(0, this.batchLen));
    this.batch = Buffer.allocUnsafe(WRITE_BATCH_LEN);
    this.batchLen = 0;
  }

  /** Write a chunk and remember when it completes. Node calls the callback even if the stream fails. */
  private push(chunk: Buffer): void {
    this.lastWrite = new Promise<void>((resolve) => {
      this.stream.write(chunk, (err) => {
        if (err) this.error ??= ioError('write', this.path, this.stream.bytesWritten, err);
        resolve();
      });
    });
  }
}
