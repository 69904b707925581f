// The WASM text formatter (assembly/textfmt.ts, driven by src/format/fast.ts)
// must print exactly the bytes of the JS formatter formatFlowText(), which
// equals conntrack -L: on every flow of every fixture capture, on the
// conntrack oracle files, on records decoded from mutated real datagrams and
// on random records written straight into the record layout.
import * as fc from 'fast-check';
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { Decoder } from '../src/decoder';
import { readPcapBuffer } from '../src/pcap';
import { replayRecords } from '../src/replay';
import { RecordView } from '../src/record';
import { createCore, type WasmCore } from '../src/wasm';
import { formatFlowText } from '../src/format/text';
import { FastFlowText, fastTextSupported } from '../src/format/fast';
import * as L from '../src/generated/layout';
import * as A from '../src/generated/attrs';

const FIX = path.join(__dirname, 'fixtures');
const CAPTURES: string[] = readdirSync(FIX, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(path.join(FIX, d.name)).filter((f) => f.endsWith('.pcap')).map((f) => path.join(FIX, d.name, f)));

interface Opts {
  layer3: boolean;
  id: boolean;
}
const OPTION_SETS: readonly Opts[] = [
  { layer3: false, id: false },
  { layer3: true, id: false },
  { layer3: false, id: true },
  { layer3: true, id: true },
];

type TextFlowLine = (rec: number, pos: number, flags: number, now: number) => number;
const fnOf = (core: WasmCore): TextFlowLine => (core.exports as unknown as { textFlowLine: TextFlowLine }).textFlowLine;
const flagsOf = (o: Opts): number => (o.layer3 ? L.TF_LAYER3 : 0) | (o.id ? L.TF_ID : 0);

/** The WASM line of the record (bytes incl. "\n"), or the return code when it declined. */
function wasmLine(rec: RecordView, o: Opts, now: number, pos = 0): Buffer | number {
  const n = fnOf(rec.core)(rec.base, pos, flagsOf(o), now);
  if (n < 0) return n;
  return Buffer.from(rec.core.bytes.slice(L.TEXT_OUT + pos, L.TEXT_OUT + n));
}

/** The JS formatter's line as the CLI writes it ("" = the entry prints nothing). */
function jsLine(rec: RecordView, o: Opts, now: number): Buffer {
  const s = formatFlowText(rec.flow(), { layer3: o.layer3, id: o.id, now });
  return Buffer.from(s === '' ? '' : s + '\n', 'utf8');
}

/** Decodes datagrams and calls `each` for every flow record. */
function eachFlow(dec: Decoder, datagrams: Uint8Array[], each: (rec: RecordView) => void): void {
  dec.reset();
  for (const d of datagrams) {
    if (!dec.push(d)) {
      drain(dec, each);
      dec.reset();
      dec.push(d);
    }
  }
  drain(dec, each);
}

function drain(dec: Decoder, each: (rec: RecordView) => void): void {
  for (let n = dec.decodeNext(); n > 0; n = dec.decodeNext()) {
    for (let i = 0; i < n; i++) {
      const r = dec.record(i);
      if (r.kind === L.KIND_FLOW) each(r);
    }
  }
}

const NOWS = [0, 1700000000, -5];

test('every flow of every fixture capture: WASM line === JS line, for each -o set (no fallback)', () => {
  const dec = new Decoder();
  let flows = 0;
  for (const file of CAPTURES) {
    const dgrams = [...readPcapBuffer(readFileSync(file))].map((r) => r.data.slice());
    eachFlow(dec, dgrams, (rec) => {
      flows++;
      for (const o of OPTION_SETS) {
        for (const now of NOWS) {
          const w = wasmLine(rec, o, now);
          expect(typeof w).not.toBe('number'); // real entries never need the JS formatter
          expect((w as Buffer).toString('latin1')).toBe(jsLine(rec, o, now).toString('latin1'));
        }
      }
    });
  }
  expect(CAPTURES.length).toBeGreaterThanOrEqual(8);
  expect(flows).toBeGreaterThan(1000); // events-churn brings thousands
});

test.each([
  ['ipv4-basic', 'extended', { layer3: true, id: false }],
  ['ipv6', 'extended', { layer3: true, id: false }],
])('%s dump.pcap with -o %s prints the conntrack oracle file', async (dir, fmt, o) => {
  const want = readFileSync(path.join(FIX, dir, `dump.conntrack-L-${fmt}.txt`), 'utf8');
  const chunks: Buffer[] = [];
  const ft = new FastFlowText((b) => chunks.push(Buffer.from(b)), o);
  await replayRecords(path.join(FIX, dir, 'dump.pcap'), (rec, tsSec) => {
    if (rec.kind === L.KIND_FLOW) ft.add(rec, tsSec);
  });
  ft.flush();
  expect(Buffer.concat(chunks).toString('utf8')).toBe(want);
});

test('-o id lines equal the oracle once the timeout (a separate dump, seconds later) is normalized', async () => {
  for (const dir of ['ipv4-basic', 'ipv6']) {
    const want = readFileSync(path.join(FIX, dir, 'dump.conntrack-L-id.txt'), 'utf8');
    const chunks: Buffer[] = [];
    const ft = new FastFlowText((b) => chunks.push(Buffer.from(b)), { id: true });
    await replayRecords(path.join(FIX, dir, 'dump.pcap'), (rec, tsSec) => {
      if (rec.kind === L.KIND_FLOW) ft.add(rec, tsSec);
    });
    ft.flush();
    const norm = (s: string): string => s.replace(/^(\S+ +\d+ )\d+ /gm, '$1T ');
    const got = Buffer.concat(chunks).toString('utf8');
    expect(got).toMatch(/ id=\d+\n/);
    expect(norm(got)).toBe(norm(want));
  }
});

// ---------------------------------------------------------------------------
// Mutated real datagrams (the decoder's own property-test inputs, simplified).

const seeds: Uint8Array[] = CAPTURES.flatMap((f) => [...readPcapBuffer(readFileSync(f))].slice(0, 300).map((r) => r.data.slice()));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

test('records decoded from 20,000 mutated real datagrams: WASM === JS wherever WASM prints', () => {
  const dec = new Decoder();
  let compared = 0;
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom(...OPTION_SETS), (i, muts, o) => {
      let b = seeds[i].slice();
      for (const m of muts) {
        if (b.length === 0) break;
        const at = m.at % b.length;
        if (m.kind === 'flip') b[at] ^= 1 << m.bit;
        else if (m.kind === 'byte') b[at] = m.value;
        else b = b.slice(0, at);
      }
      eachFlow(dec, [b], (rec) => {
        const w = wasmLine(rec, o, 1700000000);
        const j = jsLine(rec, o, 1700000000);
        if (typeof w === 'number') {
          expect(w).toBe(L.TF_FALLBACK);
          expect(declineReason(rec, j)).not.toBe('');
        } else {
          expect(w.toString('latin1')).toBe(j.toString('latin1'));
          compared++;
        }
      });
    }),
    { numRuns: 20000, seed: 4 },
  );
  expect(compared).toBeGreaterThan(3000);
});

/** Why the WASM formatter may decline a record: no L4 protocol, or non-ASCII strings ('' = no reason). */
function declineReason(rec: RecordView, js: Buffer): string {
  if (js.length === 0) return 'no line';
  const sub = rec.u32(L.REC_SUB);
  const nonAscii = (ptr: number, len: number): boolean => rec.bytes.subarray(ptr, ptr + len).some((c) => c >= 0x80);
  if (sub & L.SUB_HELP_NAME && nonAscii(rec.u32(L.REC_HELP_NAME_PTR), rec.u16(L.REC_HELP_NAME_LEN))) return 'helper';
  if (sub & L.SUB_SECCTX_NAME && nonAscii(rec.u32(L.REC_SECCTX_PTR), rec.u16(L.REC_SECCTX_LEN))) return 'secctx';
  return '';
}

// ---------------------------------------------------------------------------
// Random records written into the layout: every presence bit combination and
// value range, including ones no kernel sends.

const u64 = fc.oneof(fc.constantFrom(0n, 1n, 999999999n, 1000000000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const u16 = fc.oneof(fc.constantFrom(0, 1, 9, 10, 255, 256, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const u32 = fc.oneof(fc.constantFrom(0, 1, 9, 10, 99, 100, 0xffffffff), fc.nat().map((n) => n >>> 0));
// IPv6 words biased to zero and 0xffff so runs, ties and the embedded IPv4 forms occur
const addr = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0x1234), { minLength: 8, maxLength: 8 }).map((ws) => {
    const b = new Uint8Array(16);
    ws.forEach((w, i) => { b[2 * i] = w >> 8; b[2 * i + 1] = w & 0xff; });
    return b;
  }),
);
const tuple = fc.record({
  present: fc.tuple(fc.integer({ min: 0, max: 0x3fff }), fc.integer({ min: 0, max: 7 })).map(([p, k]) => (k === 0 ? p & ~L.TP_PROTO : p | L.TP_PROTO)),
  proto: fc.oneof(fc.constantFrom(1, 6, 17, 33, 47, 58, 132, 136), fc.integer({ min: 0, max: 255 })),
  l3: fc.constantFrom(2, 10, 0, 7),
  src: addr,
  dst: addr,
  sport: u16, dport: u16, icmpId: u16,
  icmpType: fc.integer({ min: 0, max: 255 }), icmpCode: fc.integer({ min: 0, max: 255 }),
  zone: u16,
});
const text = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), weight: 9 },
  { arbitrary: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('latin1')), weight: 1 },
);
const record = fc.record({
  family: fc.constantFrom(2, 10, 0, 1, 255),
  noOrig: fc.integer({ min: 0, max: 15 }).map((n) => n === 0),
  attrs: fc.nat().map((n) => n >>> 0),
  sub: fc.nat().map((n) => n >>> 0),
  status: u32, timeout: u32, mark: u32, use: u32, id: u32, secmark: u32, zone: u16,
  tcp: fc.integer({ min: 0, max: 255 }), sctp: fc.integer({ min: 0, max: 255 }), dccp: fc.integer({ min: 0, max: 255 }),
  cnt: fc.array(u64, { minLength: 4, maxLength: 4 }),
  tsStart: u64, tsStop: fc.oneof(fc.constant(0n), u64),
  orig: tuple, reply: tuple,
  helper: text, secctx: text,
});
type Rec = typeof record extends fc.Arbitrary<infer T> ? T : never;

const STR_AT = L.ARENA + 4096; // where the random helper name and secctx live

function writeRecord(core: WasmCore, base: number, r: Rec): void {
  const dv = core.view;
  core.bytes.fill(0x5a, base, base + L.REC_SIZE); // fields without a presence bit are garbage, as in real records
  core.bytes[base + L.REC_KIND] = L.KIND_FLOW;
  core.bytes[base + L.REC_FAMILY] = r.family;
  // the orig tuple is there in 15 of 16 records (else the line is empty)
  const origBit = 1 << A.CTA_TUPLE_ORIG;
  dv.setUint32(base + L.REC_ATTRS, (r.noOrig ? r.attrs & ~origBit : r.attrs | origBit) >>> 0, true);
  dv.setUint32(base + L.REC_SUB, r.sub, true);
  dv.setUint32(base + L.REC_STATUS, r.status, true);
  dv.setUint32(base + L.REC_TIMEOUT, r.timeout, true);
  dv.setUint32(base + L.REC_MARK, r.mark, true);
  dv.setUint32(base + L.REC_USE, r.use, true);
  dv.setUint32(base + L.REC_ID, r.id, true);
  dv.setUint32(base + L.REC_SECMARK, r.secmark, true);
  dv.setUint16(base + L.REC_ZONE, r.zone, true);
  core.bytes[base + L.REC_TCP_STATE] = r.tcp;
  core.bytes[base + L.REC_SCTP_STATE] = r.sctp;
  core.bytes[base + L.REC_DCCP_STATE] = r.dccp;
  [L.REC_ORIG_PACKETS, L.REC_ORIG_BYTES, L.REC_REPL_PACKETS, L.REC_REPL_BYTES].forEach((off, i) => dv.setBigUint64(base + off, r.cnt[i], true));
  dv.setBigUint64(base + L.REC_TS_START, r.tsStart, true);
  dv.setBigUint64(base + L.REC_TS_STOP, r.tsStop, true);
  const helper = Buffer.from(r.helper, 'latin1');
  const secctx = Buffer.from(r.secctx, 'latin1');
  core.bytes.set(helper, STR_AT);
  core.bytes.set(secctx, STR_AT + 256);
  dv.setUint32(base + L.REC_HELP_NAME_PTR, STR_AT, true);
  dv.setUint16(base + L.REC_HELP_NAME_LEN, helper.length, true);
  dv.setUint32(base + L.REC_SECCTX_PTR, STR_AT + 256, true);
  dv.setUint16(base + L.REC_SECCTX_LEN, secctx.length, true);
  writeTuple(core, base + L.REC_TUPLE_ORIG, r.orig);
  writeTuple(core, base + L.REC_TUPLE_REPLY, r.reply);
}

function writeTuple(core: WasmCore, t: number, x: Rec['orig']): void {
  const dv = core.view;
  dv.setUint16(t + L.TUP_PRESENT, x.present, true);
  core.bytes[t + L.TUP_PROTO] = x.proto;
  core.bytes[t + L.TUP_L3] = x.l3;
  core.bytes.set(x.src, t + L.TUP_SRC);
  core.bytes.set(x.dst, t + L.TUP_DST);
  dv.setUint16(t + L.TUP_SPORT, x.sport, true);
  dv.setUint16(t + L.TUP_DPORT, x.dport, true);
  dv.setUint16(t + L.TUP_ICMP_ID, x.icmpId, true);
  core.bytes[t + L.TUP_ICMP_TYPE] = x.icmpType;
  core.bytes[t + L.TUP_ICMP_CODE] = x.icmpCode;
  dv.setUint16(t + L.TUP_ZONE, x.zone, true);
}

const now = fc.oneof(fc.constantFrom(0, 1, 1700000000, -1), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }));

test('30,000 random records: WASM === JS wherever WASM prints, and it declines only for a reason', () => {
  const core = createCore();
  const rec = new RecordView(core).at(3);
  let compared = 0;
  let declined = 0;
  fc.assert(
    fc.property(record, fc.constantFrom(...OPTION_SETS), now, (r, o, t) => {
      writeRecord(core, rec.base, r);
      const w = wasmLine(rec, o, t);
      const j = jsLine(rec, o, t);
      if (typeof w === 'number') {
        expect(w).toBe(L.TF_FALLBACK);
        expect(declineReason(rec, j)).not.toBe('');
        declined++;
      } else {
        expect(w.toString('latin1')).toBe(j.toString('latin1'));
        compared++;
      }
    }),
    { numRuns: 30000, seed: 7 },
  );
  expect(compared).toBeGreaterThan(20000);
  expect(declined).toBeGreaterThan(100);
});

// ---------------------------------------------------------------------------
// The driver: region full, fallback records in order, several lines per chunk.

test('FastFlowText: 30,000 lines through the 2 MiB region (flushes when full) equal the JS lines in order', () => {
  const dec = new Decoder();
  const churn = [...readPcapBuffer(readFileSync(path.join(FIX, 'events-churn', 'events.pcap')))].map((r) => r.data.slice());
  const o = { layer3: true, id: true };
  const chunks: Buffer[] = [];
  const ft = new FastFlowText((b) => chunks.push(Buffer.from(b)), o);
  const want: Buffer[] = [];
  let lines = 0;
  while (lines < 30000) {
    eachFlow(dec, churn, (rec) => {
      if (ft.add(rec, 1700000000)) lines++;
      want.push(jsLine(rec, o, 1700000000));
    });
  }
  ft.flush();
  expect(chunks.length).toBeGreaterThan(1); // the region filled up at least once
  expect(Buffer.concat(chunks).equals(Buffer.concat(want))).toBe(true);
});

test('FastFlowText: a record WASM declines is formatted by JS in its place; an entry without L4 protocol prints nothing', () => {
  const core = createCore();
  const rec = new RecordView(core).at(0);
  const chunks: Buffer[] = [];
  const ft = new FastFlowText((b) => chunks.push(Buffer.from(b)));
  const base: Rec = fc.sample(record, { numRuns: 1, seed: 1 })[0];
  const plain = { ...base, attrs: (1 << A.CTA_TUPLE_ORIG) | (1 << A.CTA_STATUS), sub: L.SUB_HELP_NAME, helper: 'ftp', orig: { ...base.orig, present: L.TP_PROTO, proto: 6 } };
  const want: string[] = [];
  const add = (r: Rec): boolean => {
    writeRecord(core, rec.base, r);
    const j = jsLine(rec, { layer3: false, id: false }, 5).toString('utf8');
    want.push(j);
    return ft.add(rec, 5);
  };
  expect(add(plain)).toBe(true);
  expect(add({ ...plain, helper: 'h\u00e9lp\u00ff' })).toBe(true); // non-ASCII: JS, UTF-8 of its decoding
  expect(add({ ...plain, orig: { ...plain.orig, present: 0 } })).toBe(false);
  expect(add({ ...plain, helper: 'x' })).toBe(true);
  ft.flush();
  expect(want[1]).toContain('helper=h\ufffd');
  expect(want[2]).toBe('');
  expect(Buffer.concat(chunks).toString('utf8')).toBe(want.join(''));
});

test('textFlowLine reports TF_NO_ROOM near the end of the region and writes nothing', () => {
  const dec = new Decoder();
  const dump = [...readPcapBuffer(readFileSync(path.join(FIX, 'ipv6', 'dump.pcap')))].map((r) => r.data.slice());
  let checked = 0;
  eachFlow(dec, dump, (rec) => {
    const core = rec.core;
    core.bytes.fill(0xee, L.TEXT_OUT_SIZE - 2000 + L.TEXT_OUT, L.TEXT_OUT + L.TEXT_OUT_SIZE);
    expect(fnOf(core)(rec.base, L.TEXT_OUT_SIZE - 100, 0, 0)).toBe(L.TF_NO_ROOM);
    expect(fnOf(core)(rec.base, L.TEXT_OUT_SIZE + 5, 0, 0)).toBe(L.TF_NO_ROOM);
    expect(core.bytes.subarray(L.TEXT_OUT + L.TEXT_OUT_SIZE - 2000, L.TEXT_OUT + L.TEXT_OUT_SIZE).every((b) => b === 0xee)).toBe(true);
    expect(wasmLine(rec, OPTION_SETS[0], 0, L.TEXT_OUT_SIZE - 1024)).toBeInstanceOf(Buffer);
    checked++;
  });
  expect(checked).toBe(6);
});

test('no trap on addresses outside memory: a record or a string pointer out of range is declined', () => {
  const core = createCore();
  const fn = fnOf(core);
  const size = core.memory.buffer.byteLength;
  for (const addr of [size - 8, size, 0xfffffff0, 0xffffffff]) expect(fn(addr, 0, L.TF_LAYER3 | L.TF_ID, 0)).toBe(L.TF_FALLBACK);
  const rec = new RecordView(core).at(0);
  const r: Rec = fc.sample(record, { numRuns: 1, seed: 2 })[0];
  writeRecord(core, rec.base, { ...r, noOrig: false, sub: L.SUB_HELP_NAME, orig: { ...r.orig, present: L.TP_PROTO } });
  expect(fn(rec.base, 0, 0, 0)).toBeGreaterThan(0);
  for (const [ptr, len] of [[size - 2, 3], [0xffffff00, 0x200], [size, 1]]) {
    core.view.setUint32(rec.base + L.REC_HELP_NAME_PTR, ptr, true);
    core.view.setUint16(rec.base + L.REC_HELP_NAME_LEN, len, true);
    expect(fn(rec.base, 0, 0, 0)).toBe(L.TF_FALLBACK);
  }
});

test.each([
  [[], true],
  [['extended'], true],
  [['id', 'extended'], true],
  [['ktimestamp'], false],
  [['labels'], false],
  [['xml'], false],
  [['json'], false],
  [['extended', 'timestamp'], false],
])('fastTextSupported(%j) = %s', (formats, yes) => {
  expect(fastTextSupported(formats as string[])).toBe(yes);
});
