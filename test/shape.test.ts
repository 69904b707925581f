// Shape templates (assembly/shape.ts): a flow message whose layout the
// decoder has learned is decoded by comparing its headers with the
// template's and copying the values. These tests hold the template path to
// the generic walk byte for byte: the release build (templates on) against
// the generic build (FAST_PATHS=0) and the checked build (templates on, every
// load checked against the message), on real flow messages repeated so their
// shape is learned, then with their values and headers mutated. The release
// build runs the templates compiled (src/shape-jit.ts) and interpreted.
import * as fc from 'fast-check';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Decoder } from '../src/decoder';
import * as L from '../src/generated/layout';
import { readPcapBuffer } from '../src/pcap';
import { attr, concat } from './helpers/netlink-builder';

const FIX = path.join(__dirname, 'fixtures');
const CAPTURES = ['ipv4-basic/dump', 'ipv4-basic/events', 'ipv4-basic/get', 'ipv6/dump', 'ipv6/events', 'ipv6/get',
  'events-churn/events'];

/** The netlink messages of a datagram (copies, with their padding). */
function split(d: Uint8Array): Uint8Array[] {
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: Uint8Array[] = [];
  for (let p = 0; p + 16 <= d.length;) {
    const len = dv.getUint32(p, true);
    if (len < 16 || len > d.length - p) break;
    out.push(d.slice(p, p + ((len + 3) & ~3)));
    p += (len + 3) & ~3;
  }
  return out;
}

// Every ctnetlink flow message of the captures (the churn: its first 300).
const flows: Uint8Array[] = CAPTURES.flatMap((c) =>
  [...readPcapBuffer(readFileSync(path.join(FIX, `${c}.pcap`)))].slice(0, 300).flatMap((r) => split(r.data)),
).filter((m) => m[5] === 1 && (m[4] === 0 || m[4] === 2)); // NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW / _DELETE

const release = new Decoder({ variant: 'release' }); // templates compiled (src/shape-jit.ts)
const interp = new Decoder({ variant: 'release', shapeJit: false }); // templates interpreted
const generic = new Decoder({ variant: 'generic' });
const checked = new Decoder({ checked: true }); // interpreted, every load checked

function ctrl(d: Decoder, off: number): number {
  return d.core.view.getUint32(L.CTRL + off, true);
}
const hits = (d: Decoder): number => ctrl(d, L.CTRL_SHAPE_HITS);

/**
 * Decode `bytes` as one datagram and return every record as raw bytes. The
 * record region is filled with the same pattern before each chunk in every
 * build, so bytes a path does not write compare too (all of them except
 * in KIND_BAD records, see below). `learn`: give the
 * learning budget enough credit to learn at once.
 */
function raw(d: Decoder, bytes: Uint8Array, learn = true): Uint8Array[] {
  d.reset();
  d.push(bytes);
  if (learn) d.core.view.setUint32(L.SHAPE + L.SHAPE_CREDIT, 1 << 20, true);
  const out: Uint8Array[] = [];
  const slots = Math.min(L.REC_MAX, (bytes.length >> 4) + 1); // a message has at least 16 bytes
  for (;;) {
    d.core.bytes.fill(0xa5, L.RECORDS, L.RECORDS + L.REC_SIZE * slots);
    const n = d.decodeNext();
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const at = L.RECORDS + i * L.REC_SIZE;
      // A KIND_BAD record is defined up to REC_ERR_OFFSET: what the walk wrote
      // before the fault differs between the per-nest fast paths and the generic
      // walk (templates never make KIND_BAD records)
      const end = d.core.bytes[at + L.REC_KIND] === L.KIND_BAD ? L.REC_ERR_OFFSET + 4 : L.REC_SIZE;
      out.push(d.core.bytes.slice(at, at + end));
    }
  }
  return out;
}

/** Same records in all three builds, and no load outside the message. */
function expectSame(bytes: Uint8Array): void {
  const want = raw(generic, bytes);
  const same = (got: Uint8Array[]): boolean =>
    got.length === want.length && got.every((r, i) => Buffer.compare(r, want[i]) === 0);
  // (toEqual on typed arrays is slow: only for the report of a difference)
  const rel = raw(release, bytes);
  if (!same(rel)) expect(rel).toEqual(want);
  const itp = raw(interp, bytes);
  if (!same(itp)) expect(itp).toEqual(want);
  const chk = raw(checked, bytes);
  if (!same(chk)) expect(chk).toEqual(want);
  expect(checked.counters().violations).toBe(0);
}

beforeEach(() => {
  for (const d of [release, interp, checked]) d.core.exports.shapeReset(0);
  // compile a template at its first hit (default: SHAPE_JIT_HITS hits), so the
  // compiled templates take part in every comparison below
  release.core.view.setUint32(L.SHAPE + L.SHAPE_JIT_HITS, 1, true);
});

test('the captures have flow messages of several shapes', () => {
  expect(flows.length).toBeGreaterThan(300);
  expect(new Set(flows.map((m) => m.length)).size).toBeGreaterThan(5);
});

test('a repeated real flow message is decoded by its template, byte for byte like the generic walk', () => {
  const before = hits(release);
  for (const m of flows) expectSame(concat(m, m, m));
  // every message after the first of each datagram (a template is never refused for these)
  expect(ctrl(release, L.CTRL_SHAPE_REFUSED)).toBe(0);
  expect(hits(release) - before).toBeGreaterThanOrEqual(2 * flows.length);
});

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'len16'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('len16' as const), at: fc.nat(), value: fc.constantFrom(0, 3, 4, 5, 8, 12, 0x8004, 0xffff) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 4, maxLength: 16 }) }) },
);

function apply(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b: Uint8Array = src.slice();
  for (const m of muts) {
    const at = m.at % b.length;
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    switch (m.kind) {
      case 'flip': b[at] ^= 1 << m.bit; break;
      case 'byte': b[at] = m.value; break;
      case 'len16': if ((at & ~3) + 2 <= b.length) dv.setUint16(at & ~3, m.value, true); break;
      case 'truncate': b = b.slice(0, Math.max(at, 16)); break;
      case 'splice': b = concat(b.subarray(0, at), m.bytes, b.subarray(at)); break;
    }
  }
  return b;
}

test('mutated values reuse the template, mutated headers fall back: always the generic walk\'s record (50,000 cases)', () => {
  const before = hits(release);
  fc.assert(
    fc.property(fc.nat({ max: flows.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (i, muts) => {
      const m = flows[i];
      // learn from the message, then the mutated copy, then the message again
      expectSame(concat(m, apply(m, muts), m));
    }),
    { numRuns: 50_000, seed: Number(process.env.CT_PROPERTY_SEED ?? 0x5eed) + 7 },
  );
  // most flips land in values (addresses, ports, counters, ids): the template is
  // used for them, so the comparison above covered the template path
  expect(hits(release) - before).toBeGreaterThan(50_000 * 1.5);
});

test('a value mutation at every byte of a message: template where the byte is a value, generic walk otherwise', () => {
  for (const m of [flows[0], flows.find((f) => f[16] === 10)!, flows[flows.length - 1]]) {
    let hit = 0;
    for (let at = 0; at < m.length; at++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const before = hits(release);
        const v = m.slice();
        v[at] ^= x;
        expectSame(concat(m, v));
        if (hits(release) - before === 1) hit++;
      }
    }
    expect(hit).toBeGreaterThan(m.length); // about half the bytes of a flow message are values
  }
});

test('the release decoder compiles the templates that decoded SHAPE_JIT_HITS messages', () => {
  release.core.exports.shapeReset(0); // SHAPE_JIT_HITS back to its default
  const min = release.core.view.getUint32(L.SHAPE + L.SHAPE_JIT_HITS, true);
  expect(min).toBeGreaterThan(1);
  const t = L.SHAPE + L.SHAPE_HDR;
  expectSame(concat(...new Array<Uint8Array>(min).fill(flows[0]))); // min - 1 hits
  expect(release.core.view.getUint32(t + L.ST_JIT, true)).toBe(0);
  expectSame(concat(flows[0], flows[0]));
  expect(release.core.view.getUint32(L.SHAPE + L.SHAPE_COUNT, true)).toBe(1);
  expect(release.core.view.getUint32(t + L.ST_JIT, true)).toBe(1);
  expect(interp.core.view.getUint32(t + L.ST_JIT, true)).toBe(0);
  const before = hits(release);
  expectSame(concat(flows[0], flows[0]));
  expect(hits(release)).toBe(before + 2);
});

test('a new shape takes the slot of the template with the fewest hits once all are in use', () => {
  // SHAPE_MAX + 1 shapes: flows[0] hit often, then SHAPE_MAX others hit once
  expectSame(concat(flows[0], flows[0], flows[0], flows[0]));
  const m = flows[0];
  for (let n = 1; n <= L.SHAPE_MAX; n++) {
    const b = concat(m, attr(200, new Uint8Array(n)));
    new DataView(b.buffer).setUint32(0, b.length, true);
    expectSame(concat(b, b));
  }
  expect(release.core.view.getUint32(L.SHAPE + L.SHAPE_COUNT, true)).toBe(L.SHAPE_MAX);
  const before = hits(release);
  expectSame(concat(flows[0], flows[0]));
  expect(hits(release)).toBe(before + 2); // flows[0] kept its template
});

test('learning is budgeted: messages of ever new shapes do not each cost a learning attempt', () => {
  release.core.exports.shapeReset(0);
  const attempts = (): number => ctrl(release, L.CTRL_SHAPE_LEARNED) + ctrl(release, L.CTRL_SHAPE_REFUSED);
  const before = attempts();
  const m = flows[0];
  // messages of distinct lengths: an unknown attribute (type 200) of 0..599 bytes
  const msg = (n: number): Uint8Array => {
    const b = concat(m.subarray(0, ((m[0] | (m[1] << 8)) + 3) & ~3), attr(200, new Uint8Array(n % 600)));
    new DataView(b.buffer).setUint32(0, b.length, true);
    return b;
  };
  const feed = (from: number, to: number): void => {
    for (let i = from; i < to; i += 100) {
      const batch: Uint8Array[] = [];
      for (let n = i; n < Math.min(to, i + 100); n++) batch.push(msg(n));
      raw(release, concat(...batch), false);
    }
  };
  // the early attempts: one per 256 missed messages (CREDIT_FIRST), 8 of them
  // (EARLY_ATTEMPTS); a length comes again after 600 messages, so a few of
  // them hit a template learned from an earlier one: 2200 messages, > 2048 misses
  feed(0, 2200);
  expect(attempts() - before).toBe(8);
  // then one per 2048 (CREDIT_COST): 6000 more messages, at most 3 more attempts
  feed(2200, 8200);
  expect(attempts() - before).toBeGreaterThanOrEqual(9);
  expect(attempts() - before).toBeLessThanOrEqual(11);
});

test('the first few shapes of a stream are learned early (after 256 missed messages each)', () => {
  release.core.exports.shapeReset(0);
  // two real flow messages of different lengths, alternating, as TCP and UDP entries in a dump
  const a = flows[0];
  const b = flows.find((x) => x.length !== a.length) as Uint8Array;
  const learned = ctrl(release, L.CTRL_SHAPE_LEARNED);
  for (let i = 0; i < 12; i++) raw(release, concat(...Array.from({ length: 100 }, (_, k) => (k & 1 ? b : a))), false);
  // 1,200 messages: a learned after 256 misses, b after 256 more of its own
  expect(release.core.view.getUint32(L.SHAPE + L.SHAPE_COUNT, true)).toBe(2);
  expect(ctrl(release, L.CTRL_SHAPE_LEARNED) - learned).toBe(2);
  const h = hits(release);
  raw(release, concat(a, b, a, b), false);
  expect(hits(release) - h).toBe(4);
});

test('a template that keeps failing its compare is dropped', () => {
  const m = flows[0];
  // same nlmsg_len, type and flags as m, another shape: the last byte differs (in a header or padding)
  const other = (i: number): Uint8Array => {
    const b = concat(m, attr(200, [i & 0xff, i >> 8]));
    new DataView(b.buffer).setUint32(0, b.length, true);
    return b;
  };
  expectSame(other(0)); // learned
  const t = L.SHAPE + L.SHAPE_HDR;
  expect(release.core.view.getBigUint64(t + L.ST_KEY, true)).not.toBe(0n);
  const msgs: Uint8Array[] = [];
  for (let i = 1; i <= 100; i++) msgs.push(other(i));
  raw(release, concat(...msgs), false);
  expect(release.core.view.getBigUint64(t + L.ST_KEY, true)).toBe(0n);
});

test('shapeReset(1) turns the templates off', () => {
  release.core.exports.shapeReset(1);
  const before = hits(release);
  expectSame(concat(flows[0], flows[0], flows[0]));
  expect(hits(release)).toBe(before);
  release.core.exports.shapeReset(0);
  expectSame(concat(flows[0], flows[0], flows[0]));
  expect(hits(release)).toBe(before + 2);
});

describe('shapeEmit (assembly/shape-emit.ts): the module bytes of a compiled template', () => {
  const t = L.SHAPE + L.SHAPE_HDR; // slot 0
  const emit = (): Uint8Array => {
    const n = interp.core.exports.shapeEmit(t);
    return interp.core.bytes.slice(L.SHAPE_JIT_OUT, L.SHAPE_JIT_OUT + n);
  };

  test('its output region lies in the scratch area, before the direction table', () => {
    expect(L.SHAPE_END).toBe(L.SHAPE_JIT_OUT + L.SHAPE_JIT_OUT_SIZE);
    expect(L.SHAPE_END).toBeLessThanOrEqual(L.DIR_CFG);
  });

  test('every template of the captures becomes a valid module exporting f(r, m) -> i32', () => {
    const lengths = new Set<number>();
    for (const m of flows) {
      interp.core.exports.shapeReset(0);
      raw(interp, concat(m, m)); // learned from the first copy
      if (interp.core.view.getUint32(L.SHAPE + L.SHAPE_COUNT, true) === 0) continue;
      const bytes = emit();
      expect(bytes.length).toBeGreaterThan(100);
      expect(WebAssembly.validate(bytes)).toBe(true);
      const mod = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.exports(mod)).toEqual([{ name: 'f', kind: 'function' }]);
      expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      lengths.add(m.length);
    }
    expect(lengths.size).toBeGreaterThan(5); // several shapes
  });

  test('a template overwritten with nonsense neither traps nor writes past its output region', () => {
    interp.core.exports.shapeReset(0);
    raw(interp, concat(flows[0], flows[0]));
    const dv = interp.core.view;
    const after = L.SHAPE_JIT_OUT + L.SHAPE_JIT_OUT_SIZE;
    interp.core.bytes.fill(0x5a, after, after + 64);
    for (const [field, value] of [[L.ST_NCHUNKS, 0xffffffff], [L.ST_NCONST, 0xffffffff], [L.ST_KEY, 0], [L.ST_KEY, 17]]) {
      const saved = dv.getUint32(t + field, true);
      dv.setUint32(t + field, value, true);
      const n = interp.core.exports.shapeEmit(t);
      expect(n).toBeLessThanOrEqual(L.SHAPE_JIT_OUT_SIZE);
      dv.setUint32(t + field, saved, true);
    }
    // every op kind's end at 0xff and the constants all 0xff masks: the most code a slot can describe
    interp.core.bytes.fill(0xff, t + L.ST_KIND_END, t + L.ST_KIND_END + 7);
    dv.setUint32(t + L.ST_NCHUNKS, 0xffffffff, true);
    dv.setUint32(t + L.ST_NCONST, 0xffffffff, true);
    interp.core.bytes.fill(0xff, t + L.ST_CHUNKS, t + L.SHAPE_T_SIZE);
    const n = interp.core.exports.shapeEmit(t);
    expect(n).toBeGreaterThan(0); // it still fits: the region is sized for a full slot
    expect(WebAssembly.validate(interp.core.bytes.slice(L.SHAPE_JIT_OUT, L.SHAPE_JIT_OUT + n))).toBe(true);
    expect(interp.core.bytes.subarray(after, after + 64).every((x) => x === 0x5a)).toBe(true);
    interp.core.exports.shapeReset(0);
  });
});
