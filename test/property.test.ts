// Property: whatever bytes arrive, the decoder returns messages or
// ConntrackError('ERR_CT_DECODE') for the bad ones: no trap, no other
// exception, no hang, and (checked build) no read outside the message.
// Inputs are mutations of real captured datagrams from test/fixtures.
import * as fc from 'fast-check';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Decoder } from '../src/decoder';
import { ConntrackError } from '../src/errors';
import { readPcapBuffer } from '../src/pcap';
import { attr, concat, ctmsg, nest } from './helpers/netlink-builder';

const FIX = path.join(__dirname, 'fixtures');
const CAPTURES = ['ipv4-basic/dump', 'ipv4-basic/events', 'ipv4-basic/get', 'ipv6/dump', 'ipv6/events', 'ipv6/get',
  'stats/stats-cpu', 'stats/stats-global', 'stats/exp-stats-cpu', 'events-churn/events'];

// Real datagrams: every record of the small captures, the first 200 of the churn.
const seeds: Uint8Array[] = CAPTURES.flatMap((c) =>
  [...readPcapBuffer(readFileSync(path.join(FIX, `${c}.pcap`)))].slice(0, 200).map((r) => r.data.slice()),
);

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'len16'; at: number; value: number } // an nla_len-sized field
  | { kind: 'len32'; at: number; value: number } // an nlmsg_len-sized field
  | { kind: 'splice'; at: number; bytes: Uint8Array };

const SPECIAL_LENS = [0, 1, 2, 3, 4, 5, 0x7fff, 0x8000, 0xffff];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('len16' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...SPECIAL_LENS), fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ kind: fc.constant('len32' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 20, 0x7fffffff, 0xffffffff), fc.nat()) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 32 }) }),
);

function apply(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b: Uint8Array = src.slice();
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    switch (m.kind) {
      case 'truncate': b = b.slice(0, at); break;
      case 'flip': b[at] ^= 1 << m.bit; break;
      case 'byte': b[at] = m.value; break;
      // aligned like real length fields, so they land on nlmsg_len / nla_len
      case 'len16': if ((at & ~3) + 2 <= b.length) dv.setUint16(at & ~3, m.value, true); break;
      case 'len32': if ((at & ~3) + 4 <= b.length) dv.setUint32(at & ~3, m.value >>> 0, true); break;
      case 'splice': b = concat(b.subarray(0, at), m.bytes, b.subarray(at)); break;
    }
  }
  return b;
}

// The instrumented build counts every load outside the current message.
const checked = new Decoder({ checked: true });

function decodeAll(bytes: Uint8Array): void {
  checked.reset();
  checked.push(bytes);
  checked.messages((err) => {
    if (!(err instanceof ConntrackError) || err.code !== 'ERR_CT_DECODE') throw err;
  });
}

function assertOutcome(bytes: Uint8Array): void {
  try {
    decodeAll(bytes);
  } catch (e) {
    // messages() throws only ConntrackError; a trap would be a WebAssembly.RuntimeError
    if (!(e instanceof ConntrackError)) throw e;
    expect(e.code).toBe('ERR_CT_DECODE');
  }
}

test('the instrumentation detects a read outside the message (so a zero count means something)', () => {
  const d = new Decoder({ checked: true });
  d.core.exports.selfTestViolation();
  expect(d.counters().violations).toBe(1);
  const release = new Decoder();
  release.core.exports.selfTestViolation();
  expect(release.counters().violations).toBe(0);
});

test('the seeds themselves decode cleanly in the checked build', () => {
  expect(seeds.length).toBeGreaterThan(200);
  for (const s of seeds) decodeAll(s);
  expect(checked.counters().violations).toBe(0);
  expect(checked.counters().bad).toBe(0);
});

test('100,000 mutated real datagrams: only ConntrackError, no trap, no read outside the message', () => {
  const before = checked.counters();
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, muts) => {
      assertOutcome(apply(seeds[i], muts));
      return checked.counters().violations === 0;
    }),
    { numRuns: 100_000, seed: Number(process.env.CT_PROPERTY_SEED ?? 0x5eed) },
  );
  const after = checked.counters();
  expect(after.violations).toBe(0);
  // the mutations must actually exercise the error paths
  expect(after.bad - before.bad).toBeGreaterThan(10_000);
});

test('nesting bombs and self-referencing lengths end in errors, not recursion or loops', () => {
  // 2000 levels of nested attributes inside a tuple
  let inner = attr(1, [1, 2, 3, 4]);
  for (let i = 0; i < 2000 && inner.length < 60000; i++) inner = nest(1 + (i % 3), inner);
  assertOutcome(ctmsg({ type: 0x100 }, 2, nest(1, inner), nest(4, nest(1, inner))));
  // a 64 KiB datagram of messages whose nlmsg_len points back at themselves or past the end
  const dg = new Uint8Array(65536);
  const dv = new DataView(dg.buffer);
  for (let o = 0; o + 16 <= dg.length; o += 16) {
    dv.setUint32(o, (o / 16) % 3 === 0 ? 16 : (o / 16) % 3 === 1 ? 0 : 0xffffffff, true);
    dv.setUint16(o + 4, 0x100, true);
  }
  assertOutcome(dg);
  // every nla_len = 4 (empty attributes): a long but finite walk
  const empties = new Uint8Array(60000);
  for (let o = 0; o < empties.length; o += 4) new DataView(empties.buffer).setUint16(o, 4, true);
  assertOutcome(ctmsg({ type: 0x100 }, 2, nest(1, empties)));
  expect(checked.counters().violations).toBe(0);
});

// Differential: the release build's fast paths against the generic walk
// (FAST_PATHS=0) on the same real and mutated inputs. Same messages, same
// errors (code, attribute, offset), in the same order.
const release = new Decoder({ variant: 'release' });
const generic = new Decoder({ variant: 'generic' });

function outcome(d: Decoder, bytes: Uint8Array): unknown[] {
  d.reset();
  d.push(bytes);
  const out: unknown[] = [];
  const msgs = d.messages((err) => out.push({ code: err.code, status: err.status, attrType: err.attrType, offset: err.offset }));
  return [...out, ...msgs];
}

test('fast paths decode exactly like the generic walk (real datagrams and 30,000 mutations)', () => {
  for (const s of seeds) expect(outcome(release, s)).toEqual(outcome(generic, s));
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (i, muts) => {
      const bytes = apply(seeds[i], muts);
      expect(outcome(release, bytes)).toEqual(outcome(generic, bytes));
    }),
    { numRuns: 30_000, seed: Number(process.env.CT_PROPERTY_SEED ?? 0x5eed) + 1 },
  );
});
