import { execFile, spawnSync } from 'node:child_process';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  encodePcap,
  PcapRecord,
  PcapWriteOptions,
  PcapWriter,
  readPcapBuffer,
  readPcapFile,
  readPcapHeader,
} from '../src/pcap';
import { ConntrackError } from '../src/errors';

const execFileP = promisify(execFile);
const FIXTURES = path.join(__dirname, 'fixtures');

interface Meta {
  datagrams: number;
  datagram_bytes_total: number;
  capture_start_unix: number;
  capture_end_unix: number;
}

/** Every test/fixtures/<scenario>/<name>.pcap, as [label, absolute path]. */
const fixtures: Array<[string, string]> = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(path.join(FIXTURES, d.name))
      .filter((f) => f.endsWith('.pcap'))
      .map((f): [string, string] => [`${d.name}/${f}`, path.join(FIXTURES, d.name, f)]),
  )
  .sort();

function metaFor(pcapPath: string): Meta {
  return JSON.parse(readFileSync(pcapPath.replace(/\.pcap$/, '.meta.json'), 'utf8')) as Meta;
}

/** Records with `data` copied, so file-reader records survive the next iteration step. */
async function collectFile(p: string, hwm?: number): Promise<PcapRecord[]> {
  const out: PcapRecord[] = [];
  for await (const r of readPcapFile(p, hwm === undefined ? {} : { highWaterMark: hwm })) {
    out.push({ ...r, data: r.data.slice() });
  }
  return out;
}

function collectBuffer(buf: Uint8Array): PcapRecord[] {
  return [...readPcapBuffer(buf)].map((r) => ({ ...r, data: r.data.slice() }));
}

/** Records with `data` as hex: jest's deep equality on thousands of typed arrays is very slow. */
function comparable(recs: PcapRecord[]): Array<Omit<PcapRecord, 'data'> & { data: string }> {
  return recs.map((r) => ({ ...r, data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('hex') }));
}

let tmpSeq = 0;
const tmpFiles: string[] = [];
function tmpPath(tag: string): string {
  const p = path.join(os.tmpdir(), `conntrack-pcap-test-${process.pid}-${Date.now()}-${tmpSeq++}-${tag}.pcap`);
  tmpFiles.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(tmpFiles.map((p) => fsp.rm(p, { force: true })));
});

/** Little-endian u16 nlmsg_type of the first netlink message in a datagram (host order: LE here). */
function firstNlmsgType(data: Uint8Array): number {
  return data[4]! | (data[5]! << 8);
}

describe('fixtures', () => {
  test('there are fixtures to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  test.each(fixtures)('%s: counts, bytes, time stamps and protocol match the meta file', async (_label, p) => {
    const meta = metaFor(p);
    const recs = await collectFile(p);
    expect(recs.length).toBe(meta.datagrams);
    expect(recs.reduce((n, r) => n + r.data.length, 0)).toBe(meta.datagram_bytes_total);
    const first = recs[0]!;
    const t = first.tsSec + first.tsUsec / 1e6;
    // The meta times are floats rounded to µs; allow 1 µs either side.
    expect(t).toBeGreaterThanOrEqual(meta.capture_start_unix - 1e-6);
    expect(t).toBeLessThanOrEqual(meta.capture_end_unix + 1e-6);
    // Aggregate per-record facts first: thousands of expect() calls are slow.
    const odd = recs.filter((r) => {
      // Every datagram starts with an nlmsghdr whose length fits inside it.
      const nlLen = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength).getUint32(0, true);
      return (
        r.protocol !== 12 || r.arphrd !== 824 || r.origLen !== r.data.length ||
        r.tsNsec !== r.tsUsec * 1000 || nlLen < 16 || nlLen > r.data.length
      );
    });
    expect(odd).toEqual([]);
  });

  test.each(fixtures)('%s: readPcapHeader', (_label, p) => {
    expect(readPcapHeader(readFileSync(p))).toEqual({
      byteOrder: 'le',
      nanosecond: false,
      snaplen: 262144,
      linkType: 253,
      versionMajor: 2,
      versionMinor: 4,
    });
  });

  test.each(fixtures)('%s: file reader (default and 7-byte chunks) equals buffer reader', async (_label, p) => {
    const fromBuffer = comparable(collectBuffer(readFileSync(p)));
    expect(comparable(await collectFile(p))).toEqual(fromBuffer);
    expect(comparable(await collectFile(p, 7))).toEqual(fromBuffer);
  });

  test('buffer reader yields zero-copy views into the input', () => {
    const buf = readFileSync(path.join(FIXTURES, 'ipv4-basic/events.pcap'));
    const recs = [...readPcapBuffer(buf)];
    expect(recs.length).toBeGreaterThan(0);
    for (const r of recs) {
      expect(r.data.buffer).toBe(buf.buffer);
      expect(r.data.byteOffset).toBe(buf.byteOffset + r.fileOffset + 32);
    }
  });

  test('file reader can be abandoned early', async () => {
    const p = fixtures.find(([l]) => l === 'events-churn/events.pcap')![1];
    let n = 0;
    for await (const r of readPcapFile(p, { highWaterMark: 100 })) {
      expect(r.protocol).toBe(12);
      if (++n === 5) break;
    }
    expect(n).toBe(5);
  });
});

describe('byte order and nanosecond variants', () => {
  /** Rewrite a LE µs capture as big endian and/or nanosecond (pseudo-header and datagrams untouched). */
  function convert(src: Buffer, be: boolean, ns: boolean): Buffer {
    const out = Buffer.from(src);
    const w32 = (v: number, at: number): void => {
      if (be) out.writeUInt32BE(v, at);
      else out.writeUInt32LE(v, at);
    };
    const w16 = (v: number, at: number): void => {
      if (be) out.writeUInt16BE(v, at);
      else out.writeUInt16LE(v, at);
    };
    w32(ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    w16(src.readUInt16LE(4), 4);
    w16(src.readUInt16LE(6), 6);
    for (const at of [8, 12, 16, 20]) w32(src.readUInt32LE(at), at);
    let at = 24;
    let i = 0;
    while (at < src.length) {
      const incl = src.readUInt32LE(at + 8);
      w32(src.readUInt32LE(at), at);
      // Give the ns variant sub-µs digits so truncation to µs is exercised.
      w32(ns ? src.readUInt32LE(at + 4) * 1000 + (i % 1000) : src.readUInt32LE(at + 4), at + 4);
      w32(incl, at + 8);
      w32(src.readUInt32LE(at + 12), at + 12);
      at += 16 + incl;
      i++;
    }
    return out;
  }

  const src = readFileSync(path.join(FIXTURES, 'ipv4-basic/events.pcap'));
  const base = collectBuffer(src);

  test.each([
    ['big endian µs', true, false],
    ['little endian ns', false, true],
    ['big endian ns', true, true],
  ])('%s', async (_label, be, ns) => {
    const buf = convert(src, be, ns);
    const hdr = readPcapHeader(buf);
    expect(hdr.byteOrder).toBe(be ? 'be' : 'le');
    expect(hdr.nanosecond).toBe(ns);
    expect(hdr.snaplen).toBe(262144);
    const recs = collectBuffer(buf);
    expect(recs.length).toBe(base.length);
    recs.forEach((r, i) => {
      const b = base[i]!;
      expect(r.data).toEqual(b.data);
      expect(r.tsSec).toBe(b.tsSec);
      expect(r.tsUsec).toBe(b.tsUsec);
      expect(r.tsNsec).toBe(ns ? b.tsUsec * 1000 + (i % 1000) : b.tsUsec * 1000);
      expect(r.protocol).toBe(12);
      expect(r.fileOffset).toBe(b.fileOffset);
    });
    const p = tmpPath('variant');
    await fsp.writeFile(p, buf);
    expect(comparable(await collectFile(p, 13))).toEqual(comparable(recs));
  });
});

describe('writing', () => {
  async function writeWithWriter(recs: PcapRecord[], p: string): Promise<void> {
    const w = await PcapWriter.open(p);
    try {
      for (const r of recs) {
        w.write(r.data, { tsSec: r.tsSec, tsUsec: r.tsUsec, protocol: r.protocol });
        if (w.needsDrain) await w.drain();
      }
    } finally {
      await w.close();
    }
  }

  // The fixtures use exactly what we write (packet type 4, ARPHRD 824, zero
  // address, thiszone/sigfigs 0, snaplen 262144), so a round trip is byte-identical.
  test.each(fixtures)('%s: PcapWriter round trip is byte-identical', async (_label, p) => {
    const original = readFileSync(p);
    const out = tmpPath('roundtrip');
    await writeWithWriter(collectBuffer(original), out);
    expect(Buffer.compare(readFileSync(out), original)).toBe(0);
  });

  test.each(fixtures)('%s: encodePcap round trip is byte-identical', (_label, p) => {
    const original = readFileSync(p);
    expect(Buffer.compare(encodePcap(collectBuffer(original)), original)).toBe(0);
  });

  test('encodePcap of nothing is a bare file header', () => {
    const b = encodePcap([]);
    expect(b.length).toBe(24);
    expect(collectBuffer(b)).toEqual([]);
  });

  test('writer copies the datagram at once', async () => {
    const p = tmpPath('copy');
    const w = await PcapWriter.open(p);
    const d = new Uint8Array([1, 2, 3, 4]);
    w.write(d, { tsSec: 1, tsUsec: 2 });
    d.fill(9);
    await w.close();
    const [r] = collectBuffer(readFileSync(p));
    expect([...r!.data]).toEqual([1, 2, 3, 4]);
  });

  test('default time stamp is now and default protocol is NETLINK_NETFILTER', async () => {
    const p = tmpPath('now');
    const before = Date.now();
    const w = await PcapWriter.open(p);
    w.write(new Uint8Array(20));
    await w.close();
    const after = Date.now();
    const [r] = collectBuffer(readFileSync(p));
    const ms = r!.tsSec * 1000 + r!.tsUsec / 1000;
    expect(ms).toBeGreaterThanOrEqual(before - 2);
    expect(ms).toBeLessThanOrEqual(after + 2);
    expect(r!.protocol).toBe(12);
    expect(r!.tsUsec).toBeLessThan(1e6);
  });

  test('records larger than a write batch and other protocols', async () => {
    const p = tmpPath('large');
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const w = await PcapWriter.open(p);
    w.write(new Uint8Array(8), { tsSec: 5, tsUsec: 6, protocol: 0 });
    w.write(big, { tsSec: 7, tsUsec: 8 });
    w.write(new Uint8Array(8), { tsSec: 9, tsUsec: 10, protocol: 16 });
    await w.close();
    const recs = await collectFile(p, 1000);
    expect(recs.map((r) => [r.tsSec, r.tsUsec, r.protocol, r.data.length])).toEqual([
      [5, 6, 0, 8],
      [7, 8, 12, 200_000],
      [9, 10, 16, 8],
    ]);
    expect(Buffer.compare(Buffer.from(recs[1]!.data), Buffer.from(big))).toBe(0);
  });

  test('a datagram over the snaplen is cut like libpcap does, orig_len keeps its size', () => {
    const b = encodePcap([{ data: new Uint8Array(300_000), tsSec: 1, tsUsec: 0 }]);
    const [r] = collectBuffer(b);
    expect(r!.data.length).toBe(262144 - 16);
    expect(r!.origLen).toBe(300_000);
  });

  test('close twice is fine; write after close is ERR_CT_CLOSED', async () => {
    const p = tmpPath('close');
    const w = await PcapWriter.open(p);
    w.write(new Uint8Array(16), { tsSec: 1, tsUsec: 1 });
    const c1 = w.close();
    const c2 = w.close();
    await Promise.all([c1, c2]);
    await w.close();
    expect(() => w.write(new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'ERR_CT_CLOSED' }));
    expect(collectBuffer(readFileSync(p))).toHaveLength(1);
  });

  test.each<[string, PcapWriteOptions]>([
    ['negative tsSec', { tsSec: -1, tsUsec: 0 }],
    ['tsSec above u32', { tsSec: 2 ** 32, tsUsec: 0 }],
    ['fractional tsSec', { tsSec: 1.5, tsUsec: 0 }],
    ['tsUsec one million', { tsSec: 1, tsUsec: 1e6 }],
    ['tsUsec without tsSec', { tsUsec: 5 }],
    ['protocol above u16', { tsSec: 1, tsUsec: 0, protocol: 65536 }],
  ])('invalid write options: %s', async (_label, opts) => {
    const w = await PcapWriter.open(tmpPath('invalid'));
    try {
      expect(() => w.write(new Uint8Array(4), opts)).toThrow(
        expect.objectContaining({ code: 'ERR_CT_INVALID_ARGUMENT' }),
      );
    } finally {
      await w.close();
    }
    // encodePcap always has both time fields, so "tsUsec without tsSec" has no counterpart there.
    if (opts.tsSec !== undefined) {
      const rec = { data: new Uint8Array(4), tsSec: opts.tsSec, tsUsec: opts.tsUsec ?? 0, protocol: opts.protocol };
      expect(() => encodePcap([rec])).toThrow(expect.objectContaining({ code: 'ERR_CT_INVALID_ARGUMENT' }));
    }
  });

  test('a failing disk (/dev/full) surfaces as ERR_CT_CAPTURE from drain/close, not a crash', async () => {
    const w = await PcapWriter.open('/dev/full');
    const d = new Uint8Array(1000);
    for (let i = 0; i < 200; i++) w.write(d, { tsSec: 1, tsUsec: 0 });
    await expect(w.drain()).rejects.toMatchObject({ code: 'ERR_CT_CAPTURE', syscall: 'write', errno: 28 });
    expect(() => w.write(d, { tsSec: 1, tsUsec: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CT_CAPTURE' }));
    await expect(w.close()).rejects.toMatchObject({ code: 'ERR_CT_CAPTURE' });
    await expect(w.close()).rejects.toMatchObject({ code: 'ERR_CT_CAPTURE' });
  });

  test('open on a missing directory is ERR_CT_CAPTURE with errno', async () => {
    await expect(PcapWriter.open(path.join(os.tmpdir(), 'no-such-dir-' + process.pid, 'x.pcap'))).rejects.toMatchObject({
      code: 'ERR_CT_CAPTURE',
      syscall: 'open',
      errno: 2,
    });
  });
});

describe('tshark dissects what we write', () => {
  function requireTshark(): void {
    const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      throw new Error(
        'tshark is not available on PATH (' +
          String(r.error ?? `exit ${r.status}`) +
          '). This test needs it: install the Debian package tshark (apt-get install tshark).',
      );
    }
  }

  /** Rows of `tshark -T fields`: frame number, protocols, ARPHRD, netlink family, first nlmsg type(s). */
  async function tsharkFields(p: string): Promise<string[][]> {
    // tshark warns on stderr when run as root; only stdout is parsed.
    const { stdout } = await execFileP(
      'tshark',
      ['-r', p, '-T', 'fields', '-E', 'separator=/t',
        '-e', 'frame.number', '-e', 'frame.protocols', '-e', 'netlink.hatype',
        '-e', 'netlink.family', '-e', 'netlink.hdr_type'],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
    );
    return stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  }

  test.each([
    ['ipv4-basic/dump.pcap', 'writer'],
    ['stats/stats-global.pcap', 'writer'],
    ['ipv6/events.pcap', 'encodePcap'],
  ])('%s via %s', async (fixture, how) => {
    requireTshark();
    const recs = collectBuffer(readFileSync(path.join(FIXTURES, fixture)));
    const out = tmpPath('tshark');
    if (how === 'writer') {
      const w = await PcapWriter.open(out);
      for (const r of recs) w.write(r.data, { tsSec: r.tsSec, tsUsec: r.tsUsec });
      await w.close();
    } else {
      await fsp.writeFile(out, encodePcap(recs));
    }
    const rows = await tsharkFields(out);
    expect(rows.length).toBe(recs.length);
    rows.forEach((row, i) => {
      const [num, protocols, hatype, family, types] = row;
      expect(num).toBe(String(i + 1));
      expect(protocols!.split(':')[0]).toBe('netlink');
      expect(hatype).toBe('824');
      expect(Number(family)).toBe(12);
      // netlink.hdr_type lists every message of the datagram; the first is the first nlmsghdr.
      expect(Number(types!.split(',')[0])).toBe(firstNlmsgType(recs[i]!.data));
    });
    // Spot-check frames whose types we know: ctnetlink entries are 0x01xx, NLMSG_DONE is 3, NLMSG_ERROR 2.
    if (fixture === 'ipv4-basic/dump.pcap') {
      expect(rows[0]![4]!.split(',').map(Number)).toEqual([0x100, 0x100, 0x100, 0x100, 0x100, 0x100]);
      expect(rows[0]![1]).toContain('netlink-netfilter');
      expect(Number(rows[1]![4])).toBe(3);
    }
    if (fixture === 'stats/stats-global.pcap') {
      expect(Number(rows[0]![4])).toBe(0x105);
      // The ACK (NLMSG_ERROR) quotes the request header, so tshark lists 0x0002 then 0x0105.
      expect(rows[1]![4]!.split(',').map(Number)).toEqual([2, 0x105]);
    }
  });
});

describe('bad input', () => {
  const good = readFileSync(path.join(FIXTURES, 'stats/stats-global.pcap'));
  const firstRecLen = 16 + good.readUInt32LE(24 + 8);

  /** The good capture with the first record's incl_len replaced. */
  function withInclLen(n: number): Buffer {
    const b = Buffer.from(good);
    b.writeUInt32LE(n >>> 0, 24 + 8);
    return b;
  }

  const cases: Array<[string, Buffer, number]> = [
    ['empty buffer', Buffer.alloc(0), 0],
    ['23 bytes', good.subarray(0, 23), 0],
    ['bad magic', Buffer.concat([Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), good.subarray(4)]), 0],
    ['pcapng magic', (() => { const b = Buffer.from(good); b.writeUInt32LE(0x0a0d0d0a, 0); return b; })(), 0],
    ['link type 1', (() => { const b = Buffer.from(good); b.writeUInt32LE(1, 20); return b; })(), 0],
    ['version 3.0', (() => { const b = Buffer.from(good); b.writeUInt16LE(3, 4); b.writeUInt16LE(0, 6); return b; })(), 0],
    ['first record header cut short', good.subarray(0, 24 + 10), 0],
    ['second record header cut short', good.subarray(0, 24 + firstRecLen + 15), 1],
    ['second record body cut short', good.subarray(0, good.length - 1), 1],
    ['incl_len bigger than remaining', withInclLen(1000), 0],
    ['incl_len above snaplen', withInclLen(262145), 0],
    ['incl_len 0xffffffff', withInclLen(0xffffffff), 0],
    ...Array.from({ length: 16 }, (_, n): [string, Buffer, number] => [`incl_len ${n}`, withInclLen(n), 0]),
  ];

  function expectCaptureError(e: unknown): void {
    expect(e).toBeInstanceOf(ConntrackError);
    const ce = e as ConntrackError;
    expect(ce.code).toBe('ERR_CT_CAPTURE');
    expect(ce.message).toMatch(/offset \d+/);
    expect(typeof ce.offset).toBe('number');
  }

  test.each(cases)('%s: buffer reader', (_label, buf, goodBefore) => {
    let n = 0;
    let err: unknown;
    try {
      for (const _r of readPcapBuffer(buf)) n++;
    } catch (e) {
      err = e;
    }
    expectCaptureError(err);
    expect(n).toBe(goodBefore);
  });

  test.each(cases)('%s: file reader', async (_label, buf, goodBefore) => {
    const p = tmpPath('bad');
    await fsp.writeFile(p, buf);
    for (const hwm of [undefined, 5]) {
      let n = 0;
      let err: unknown;
      try {
        for await (const _r of readPcapFile(p, hwm === undefined ? {} : { highWaterMark: hwm })) n++;
      } catch (e) {
        err = e;
      }
      expectCaptureError(err);
      expect(n).toBe(goodBefore);
    }
  });

  test('bad magic message names the magic and offset 0', () => {
    expect(() => readPcapHeader(Buffer.alloc(24, 0x42))).toThrow(/magic 0x42424242 at file offset 0/);
  });

  test('snaplen 0 means only the 16 MiB cap applies', () => {
    const b = Buffer.from(good);
    b.writeUInt32LE(0, 16);
    expect(collectBuffer(b)).toHaveLength(2);
    b.writeUInt32LE(16 * 1024 * 1024 + 1, 24 + 8);
    expect(() => collectBuffer(b)).toThrow(expect.objectContaining({ code: 'ERR_CT_CAPTURE' }));
  });

  test('missing file is ERR_CT_CAPTURE with errno ENOENT', async () => {
    await expect(collectFile(path.join(os.tmpdir(), `no-such-capture-${process.pid}.pcap`))).rejects.toMatchObject({
      code: 'ERR_CT_CAPTURE',
      errno: 2,
      syscall: 'open',
    });
  });

  test.each([0, -1, 1.5, 2 ** 30])('highWaterMark %p is rejected', async (hwm) => {
    await expect(collectFile(path.join(FIXTURES, 'stats/stats-global.pcap'), hwm)).rejects.toMatchObject({
      code: 'ERR_CT_INVALID_ARGUMENT',
    });
  });
});

describe('streaming reader memory', () => {
  const TARGET = 200 * 1024 * 1024;
  let bigPath = '';
  let records = 0;
  let payloadBytes = 0;

  beforeAll(async () => {
    bigPath = tmpPath('big');
    const w = await PcapWriter.open(bigPath);
    const sizes = [32_000, 4_096, 180, 20, 65_000];
    const payloads = sizes.map((n) => new Uint8Array(n).fill(n & 0xff));
    let written = 24;
    while (written < TARGET) {
      const d = payloads[records % payloads.length]!;
      w.write(d, { tsSec: 1_800_000_000 + records, tsUsec: records % 1e6 });
      written += 32 + d.length;
      payloadBytes += d.length;
      records++;
      if (w.needsDrain) await w.drain();
    }
    await w.close();
  }, 60_000);

  test('rss grows far less than the ~200 MB file while streaming it', async () => {
    const size = (await fsp.stat(bigPath)).size;
    expect(size).toBeGreaterThanOrEqual(TARGET);
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    let n = 0;
    let bytes = 0;
    for await (const r of readPcapFile(bigPath)) {
      n++;
      bytes += r.data.length;
      if ((n & 1023) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(n).toBe(records);
    expect(bytes).toBe(payloadBytes);
    expect(peak - base).toBeLessThan(100 * 1024 * 1024);
  }, 30_000);
});
