// Shape templates: whole-message fast path for flow messages.
//
// The kernel writes every conntrack entry of one kind in one fixed layout
// (ctnetlink_fill_info / ctnetlink_dump_*): the same attributes in the same
// order with the same lengths. Only the values differ (addresses, ports,
// counters, ids...). The generic walk in index.ts re-discovers that layout
// for every message: a header check, a switch and a call per attribute.
//
// A template remembers the layout of one message ("shape") and what the
// generic walk made of it:
//   - the bytes that decide the walk: nlmsg_len, nlmsg_type, nlmsg_flags, all
//     nlattr headers, and every other byte that is not a copied value
//     (padding, unknown attributes, payload the walk looks at). A later
//     message uses the template only if all of these bytes are equal (a
//     masked 16-byte compare over the whole message, so the cost does not
//     depend on how many of them there are);
//   - the record bytes the walk wrote: constants (presence bits, REC_ATTRS,
//     TUP_L3, the kind...) and copies of message bytes, in place or
//     byte-swapped (be16/be32/be64 values), as a few lists of copy ops.
// So a message with the same shape gets exactly the record bytes the generic
// walk would write (same bytes, same untouched bytes). Interpreted here that
// takes ~1000 instructions instead of ~1500; a template that has decoded
// SHAPE_JIT_HITS messages is compiled into a straight-line function (~350;
// assembly/shape-emit.ts, src/decoder.ts), which the release build calls
// from then on (ST_JIT).
//
// Learning does not duplicate the parsers' knowledge. It runs the generic
// walk itself on a scratch copy of the message: unchanged, and with every
// payload byte (of leaf attributes, by NLA_F_NESTED) replaced by two
// different patterns, each into records prefilled with 0x00 and with 0xff.
// Record bytes that are the same under both prefills are the written ones;
// a written byte that follows one payload byte in all three decodes is a
// copy of it, one that never changes is a constant. Anything else (a value
// the walk computes from several bytes, a string length, a pointer into the
// message, a different walk or an error under the patterns) refuses the
// shape, and such messages keep going the generic way.
//
// What this relies on: the generic flow walk never branches on a payload
// byte it copies (it branches on nlattr headers and nlmsghdr fields only).
// test/shape.test.ts decodes template-hit messages with mutated values and
// headers in the release (compiled and interpreted templates), checked and
// generic builds and compares the records byte for byte; the differential
// test of test/property.test.ts compares the decoded messages.
//
// Learning costs six generic decodes plus a few passes over the record and
// the message (~15 us, some 150 generic decodes). It is paid from a budget
// that grows by one per missed flow message and a learning attempt needs
// CREDIT_COST of it, so input without repeated shapes (fuzzing, a stream of
// one-off messages) spends a bounded fraction of its time learning.
import * as L from "./layout";

// Ops: the source offset in the message | the record offset << 16.
const K_COPY8: u32 = 0;
const K_COPY16: u32 = 1;
const K_COPY32: u32 = 2;
const K_COPY64: u32 = 3;
const K_SWAP16: u32 = 4;
const K_SWAP32: u32 = 5;
const K_SWAP64: u32 = 6;
const K_COUNT: u32 = 7;

// Learning budget: an attempt needs CREDIT_COST credits; every flow message
// the templates missed adds one (at most CREDIT_MAX are kept). An attempt
// costs about 15 us, some 150 generic decodes: on input whose shapes never
// repeat, learning adds ~7 ns per message.
const CREDIT_COST: u32 = 2048;
const CREDIT_MAX: u32 = 4096;
const DROP_MISSES: u32 = 64;
// The first EARLY_ATTEMPTS attempts cost CREDIT_FIRST: one after every 256
// missed flow messages. A small batch (a GET reply, a few events) is not
// worth the ~15 us (more while the learning code is not optimized yet) of
// its latency, but a table holds a few shapes (TCP and UDP, with and without
// accounting...) that each want a template early: at CREDIT_COST the second
// shape of a 10k dump of TCP and UDP flows was learned only after ~2,000 of
// its messages went the generic way, mostly in baseline (Liftoff) code,
// ~2 ms of a ~20 ms dump. The early attempts add at most
// EARLY_ATTEMPTS x ~15 us to input whose shapes never repeat.
const CREDIT_FIRST: u32 = 256;
const EARLY_ATTEMPTS: u32 = 8;

// Hits before a template is worth compiling (src/decoder.ts): the module
// bytes come from assembly/shape-emit.ts in microseconds, but V8 takes
// 0.2-1 ms (2-vCPU bench VM, node 20) to compile and instantiate a module,
// the first one of a process more. A compiled template saves ~130 ns per
// message against the interpreted one while both run as baseline (Liftoff)
// code, so it pays from some 8k messages on: 8192, which also keeps the
// compiles out of a 10k-entry dump of two shapes.
const JIT_HITS: u32 = 8192;

const NLMSG_HDR_SEQ: usize = 8; // nlmsg_seq, nlmsg_pid: 8..15, written by decode() itself

// @ts-ignore: decorator
@inline function slotAt(i: u32): usize {
  return <usize>L.SHAPE + L.SHAPE_HDR + <usize>i * L.SHAPE_T_SIZE;
}

let gChkLo: usize = 0;
let gChkHi: usize = 0;

/** Called by init(): templates forgotten, first learning attempt after CREDIT_FIRST misses. */
export function shapeInit(): void {
  const h: usize = L.SHAPE;
  store<u32>(h + L.SHAPE_OFF, 0);
  store<u32>(h + L.SHAPE_COUNT, 0);
  store<u32>(h + L.SHAPE_JIT_HITS, JIT_HITS);
  store<u32>(h + L.SHAPE_CREDIT, 0);
  store<u32>(h + L.SHAPE_EARLY, EARLY_ATTEMPTS);
  // swizzle indices of the compiled byte swaps (0xff: lane zeroed)
  store<u64>(h + L.SHAPE_BSWAP32, 0xffffffff_00010203);
  store<u64>(h + L.SHAPE_BSWAP32 + 8, 0xffffffff_ffffffff);
  store<u64>(h + L.SHAPE_BSWAP64, 0x00010203_04050607);
  store<u64>(h + L.SHAPE_BSWAP64 + 8, 0xffffffff_ffffffff);
}

/**
 * Decode the message at m (len = nlmsg_len, checked by the caller) with a
 * template if one has its shape: write what decodeMessage would write into
 * record r and return true. False: no template matches, nothing written.
 */
// @ts-ignore: decorator
@inline export function shapeApply(r: usize, m: usize, len: usize): bool {
  const h: usize = L.SHAPE;
  const n = load<u32>(h + L.SHAPE_COUNT);
  if (n == 0) return false;
  // nlmsg_len, nlmsg_type and nlmsg_flags in one load
  const key = load<u64>(m);
  for (let i: u32 = 0; i < n; i++) {
    const t = slotAt(i);
    if (load<u64>(t + L.ST_KEY) != key) continue;
    // compiled (assembly/shape-emit.ts): compares and writes in one call; the
    // checked build interprets, so that its loads are checked
    const jit = !BOUNDS_CHECKED && load<u32>(t + L.ST_JIT) == 1;
    if (jit ? shapeJit(i, r, m) != 0 : matches(t, m, len) && fillTrue(t, r, m)) {
      const c: usize = L.CTRL;
      store<u32>(c + L.CTRL_SHAPE_HITS, load<u32>(c + L.CTRL_SHAPE_HITS) + 1);
      store<u32>(t + L.ST_HITS, load<u32>(t + L.ST_HITS) + 1);
      return true;
    }
    missed(t);
  }
  return false;
}

// A message had the template's key but not its shape. A template that keeps
// failing its compare (more often than it matches, DROP_MISSES times) only
// costs time: it is dropped (key 0 never matches) and its slot reused.
function missed(t: usize): void {
  const misses = load<u32>(t + L.ST_MISSES) + 1;
  store<u32>(t + L.ST_MISSES, misses);
  if (misses >= DROP_MISSES && misses > load<u32>(t + L.ST_HITS)) store<u64>(t + L.ST_KEY, 0);
}

// @ts-ignore: decorator
@inline function fillTrue(t: usize, r: usize, m: usize): bool {
  fill(t, r, m);
  return true;
}

// The compiled template of slot i (assembly/shape-emit.ts, through the trampoline
// src/wasm.ts builds): 1 = it matched and wrote the record, 0 = no match.
// @ts-ignore: decorator
@external("env", "shapeJit")
declare function shapeJit(slot: u32, r: usize, m: usize): i32;

// All compared bytes of the message equal the template's. The key matched,
// so len is the template's length and every chunk lies inside the message;
// the last chunk ends at len (it overlaps the one before).
function matches(t: usize, m: usize, len: usize): bool {
  const nch = <usize>load<u32>(t + L.ST_NCHUNKS);
  let acc = i64x2(0, 0);
  let e = t + L.ST_CHUNKS;
  const last = len - 16;
  for (let c: usize = 0; c < nch; c++) {
    const off = c << 4 < last ? c << 4 : last;
    if (BOUNDS_CHECKED) chkMsg(m + off, 16);
    const v = v128.load(m + off);
    acc = v128.or(acc, v128.and(v128.xor(v, v128.load(e)), v128.load(e, 16)));
    e += 32;
  }
  return !v128.any_true(acc);
}

// Write the record: constant bytes first (blended into their 16-byte chunks,
// so bytes the walk does not write keep what they held), then the copies.
function fill(t: usize, r: usize, m: usize): void {
  const ncst = <usize>load<u32>(t + L.ST_NCONST);
  for (let i: usize = 0; i < ncst; i++) {
    const d = r + <usize>load<u16>(t + L.ST_CONST_AT + (i << 1));
    const k = t + L.ST_CONST + (i << 5);
    v128.store(d, v128.or(v128.andnot(v128.load(d), v128.load(k)), v128.load(k, 16)));
  }
  const ends = t + L.ST_KIND_END;
  const ops = t + L.ST_OPS;
  let i: usize = 0;
  // be32 values first: the most frequent kind (CTA_STATUS, CTA_ID, CTA_TIMEOUT...)
  let e = <usize>load<u8>(ends + K_SWAP32);
  for (i = <usize>load<u8>(ends + K_SWAP32 - 1); i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 4);
    store<u32>(r + (op >>> 16), bswap<u32>(load<u32>(m + (op & 0xffff))));
  }
  e = <usize>load<u8>(ends + K_SWAP64);
  for (i = <usize>load<u8>(ends + K_SWAP64 - 1); i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 8);
    store<u64>(r + (op >>> 16), bswap<u64>(load<u64>(m + (op & 0xffff))));
  }
  e = <usize>load<u8>(ends + K_SWAP16);
  for (i = <usize>load<u8>(ends + K_SWAP16 - 1); i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 2);
    store<u16>(r + (op >>> 16), bswap<u16>(load<u16>(m + (op & 0xffff))));
  }
  e = <usize>load<u8>(ends + K_COPY8);
  for (i = 0; i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 1);
    store<u8>(r + (op >>> 16), load<u8>(m + (op & 0xffff)));
  }
  e = <usize>load<u8>(ends + K_COPY16);
  for (; i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 2);
    store<u16>(r + (op >>> 16), load<u16>(m + (op & 0xffff)));
  }
  e = <usize>load<u8>(ends + K_COPY32);
  for (; i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 4);
    store<u32>(r + (op >>> 16), load<u32>(m + (op & 0xffff)));
  }
  e = <usize>load<u8>(ends + K_COPY64);
  for (; i < e; i++) {
    const op = load<u32>(ops + (i << 2));
    if (BOUNDS_CHECKED) chkMsg(m + (op & 0xffff), 8);
    store<u64>(r + (op >>> 16), load<u64>(m + (op & 0xffff)));
  }
}

// Checked build: the template path's loads against the current message
// (index.ts keeps the message bounds; it hands them over before each apply).
// @ts-ignore: decorator
@inline function chkMsg(p: usize, n: usize): void {
  if (p < gChkLo || p + n > gChkHi) {
    const c: usize = L.CTRL;
    const v = load<u32>(c + L.CTRL_VIOLATIONS);
    if (v == 0) store<u32>(c + L.CTRL_FIRST_VIOLATION, <u32>p);
    store<u32>(c + L.CTRL_VIOLATIONS, v + 1);
  }
}

/** Checked build: the bounds of the message shapeApply may read. */
export function shapeBounds(lo: usize, hi: usize): void {
  gChkLo = lo;
  gChkHi = hi;
}

// ---------------------------------------------------------------------------
// Learning.

/**
 * A flow message the templates missed was decoded by the generic walk into r
 * without error. Learn its shape when the budget allows. `decode` is
 * index.ts's decodeMessage (with the bounds of the message it is given).
 */
export function shapeMiss(r: usize, m: usize, len: usize, decode: (r: usize, m: usize, len: usize) => void): void {
  const h: usize = L.SHAPE;
  let credit = load<u32>(h + L.SHAPE_CREDIT) + 1;
  const early = load<u32>(h + L.SHAPE_EARLY);
  const cost = early > 0 ? CREDIT_FIRST : CREDIT_COST;
  if (credit >= cost && load<u32>(h + L.SHAPE_OFF) == 0 && len >= 20 && len <= <usize>L.SHAPE_MSG_MAX) {
    credit -= cost;
    if (early > 0) store<u32>(h + L.SHAPE_EARLY, early - 1);
    const c: usize = L.CTRL;
    if (learn(r, m, len, decode)) {
      store<u32>(c + L.CTRL_SHAPE_LEARNED, load<u32>(c + L.CTRL_SHAPE_LEARNED) + 1);
    } else {
      store<u32>(c + L.CTRL_SHAPE_REFUSED, load<u32>(c + L.CTRL_SHAPE_REFUSED) + 1);
    }
  }
  store<u32>(h + L.SHAPE_CREDIT, credit > CREDIT_MAX ? CREDIT_MAX : credit);
}

/**
 * Forget every template; with off = 1 also learn no more (off = 0: learn
 * again, as after init()). For tests and benchmarks.
 */
export function shapeReset(off: u32): void {
  shapeInit();
  store<u32>(<usize>L.SHAPE + L.SHAPE_OFF, off);
}

// Marks the payload bytes of the leaf attributes (by NLA_F_NESTED) in `free`
// (one byte per message byte, message at s). A malformed walk refuses.
function markLeaves(free: usize, s: usize, p: usize, end: usize, depth: u32): bool {
  if (depth > 8) return false;
  while (p < end) {
    if (end - p < 4) return false;
    const alen = <usize>load<u16>(p);
    if (alen < 4 || alen > end - p) return false;
    const pl = p + 4, pe = p + alen;
    if ((load<u16>(p + 2) & 0x8000) != 0) {
      if (!markLeaves(free, s, pl, pe, depth + 1)) return false;
    } else {
      memory.fill(free + (pl - s), 1, pe - pl);
    }
    p += (alen + 3) & ~3;
  }
  return true;
}

// The two patterns XOR every free byte k with a mask that is never 0, differs
// between the patterns, and (as a pair) tells k (k < 1275 > SHAPE_MSG_MAX).
// @ts-ignore: decorator
@inline function patA(k: usize): u32 {
  return <u32>(k % 255) + 1;
}
// @ts-ignore: decorator
@inline function patB(k: usize): u32 {
  return ((<u32>(k % 255) + 1 + 50 * <u32>(k / 255)) % 255) + 1;
}

// Map entry per record byte i (SHAPE_SCR_MAP + 4 i): u16 source offset, u8 class, u8 value.
const C_UNWRITTEN: u32 = 0;
const C_CONST: u32 = 1;
const C_COPY: u32 = 2;

// Decodes the scratch copy with pattern `pat` (0 = none) into scratch records
// 2*pat (prefilled 0x00) and 2*pat+1 (prefilled 0xff).
function decodeVariant(pat: u32, m: usize, len: usize, decode: (r: usize, m: usize, len: usize) => void): void {
  const s: usize = L.SHAPE_SCR_MSG;
  const free: usize = L.SHAPE_SCR_FREE;
  for (let k: usize = 0; k < len; k++) {
    let b = <u32>load<u8>(m + k);
    if (pat != 0 && load<u8>(free + k) != 0) b ^= pat == 1 ? patA(k) : patB(k);
    store<u8>(s + k, <u8>b);
  }
  const r0: usize = <usize>L.SHAPE_SCR_REC + <usize>(2 * pat) * L.REC_SIZE;
  memory.fill(r0, 0x00, L.REC_SIZE);
  memory.fill(r0 + L.REC_SIZE, 0xff, L.REC_SIZE);
  decode(r0, s, len);
  decode(r0 + L.REC_SIZE, s, len);
}

/**
 * Learn the shape of the message at m (decoded by the generic walk into r)
 * into a free template slot, or the oldest one. False: refused (see top).
 */
function learn(r: usize, m: usize, len: usize, decode: (r: usize, m: usize, len: usize) => void): bool {
  const free: usize = L.SHAPE_SCR_FREE;
  const map: usize = L.SHAPE_SCR_MAP;
  const RS: usize = L.REC_SIZE;
  // 1. Which bytes may carry values: nfgenmsg and the leaf payloads.
  memory.fill(free, 0, len);
  memory.fill(free + 16, 1, 4); // nfgen_family, version, res_id
  if (!markLeaves(free, m, m + 20, m + len, 0)) return false;
  // 2. The generic walk on the message as it is, and on two variants.
  const c: usize = L.CTRL;
  const bad = load<u32>(c + L.CTRL_BAD); // the variants may fail to decode: not counted
  decodeVariant(0, m, len, decode);
  decodeVariant(1, m, len, decode);
  decodeVariant(2, m, len, decode);
  store<u32>(c + L.CTRL_BAD, bad);
  // 3. Classify every record byte.
  const rec: usize = L.SHAPE_SCR_REC;
  for (let i: usize = 0; i < RS; i++) {
    const a0 = <u32>load<u8>(rec + i), a1 = <u32>load<u8>(rec + 2 * RS + i), a2 = <u32>load<u8>(rec + 4 * RS + i);
    const w0 = a0 == <u32>load<u8>(rec + RS + i);
    const w1 = a1 == <u32>load<u8>(rec + 3 * RS + i);
    const w2 = a2 == <u32>load<u8>(rec + 5 * RS + i);
    if (w0 != w1 || w0 != w2) return false; // the variants wrote other bytes
    let cls = C_UNWRITTEN, src: u32 = 0;
    if (w0) {
      // the copy at the scratch address wrote what the walk at m wrote (no pointers)
      if (a0 != <u32>load<u8>(r + i)) return false;
      if (a0 == a1 && a0 == a2) {
        cls = C_CONST;
      } else {
        // a copy of message byte k: a1 = a0 ^ patA(k), a2 = a0 ^ patB(k)
        const x = a0 ^ a1, y = a0 ^ a2;
        if (x == 0 || y == 0) return false;
        let k: usize = <usize>(x - 1);
        while (k < len && patB(k) != y) k += 255;
        if (k >= len || load<u8>(free + k) == 0 || <u32>load<u8>(m + k) != a0) return false;
        store<u8>(free + k, 2);
        cls = C_COPY;
        src = <u32>k;
      }
    }
    store<u16>(map + (i << 2), <u16>src);
    store<u8>(map + (i << 2) + 2, <u8>cls);
    store<u8>(map + (i << 2) + 3, <u8>a0);
  }
  // 4. The template, built in scratch and copied into its slot when complete.
  const t: usize = L.SHAPE_SCR_T;
  if (!buildOps(t)) return false;
  buildConst(t);
  buildChunks(t, m, len);
  store<u64>(t + L.ST_KEY, load<u64>(m));
  store<u32>(t + L.ST_JIT, 0); // until src/decoder.ts compiles it
  store<u32>(t + L.ST_HITS, 0);
  store<u32>(t + L.ST_MISSES, 0);
  // A free or dropped slot, else the one with the fewest hits. Evicting halves every hit
  // count, so a template that stopped matching loses its slot in the end.
  const h: usize = L.SHAPE;
  const n = load<u32>(h + L.SHAPE_COUNT);
  let slot = n;
  for (let i: u32 = 0; i < n; i++) {
    if (load<u64>(slotAt(i) + L.ST_KEY) == 0) slot = i;
  }
  if (slot < n) {
    // a dropped template's slot
  } else if (n < <u32>L.SHAPE_MAX) {
    store<u32>(h + L.SHAPE_COUNT, n + 1);
  } else {
    let fewest: u32 = 0xffffffff;
    for (let i: u32 = 0; i < n; i++) {
      const hits = load<u32>(slotAt(i) + L.ST_HITS);
      if (hits < fewest) {
        fewest = hits;
        slot = i;
      }
      store<u32>(slotAt(i) + L.ST_HITS, hits >> 1);
    }
  }
  memory.copy(slotAt(slot), t, L.SHAPE_T_SIZE);
  return true;
}

// Is record byte i a copy of message byte `want`?
// @ts-ignore: decorator
@inline function copyOf(i: usize, want: i32): bool {
  const e: usize = <usize>L.SHAPE_SCR_MAP + (i << 2);
  return i < <usize>L.REC_SIZE && <u32>load<u8>(e + 2) == C_COPY && <i32>load<u16>(e) == want;
}

// Copy ops: runs of record bytes copied from consecutive message bytes (8, 4
// or 2 in order, or reversed: a big-endian value) or single bytes, grouped by
// kind so fill() runs one tight loop per kind. False: more than SHAPE_OPS_MAX.
function buildOps(t: usize): bool {
  const map: usize = L.SHAPE_SCR_MAP;
  const RS: usize = L.REC_SIZE;
  // first unsorted, with the kind in bits 12..14 of the source offset
  // (offsets are < SHAPE_MSG_MAX = 1024), in the scratch records (done with)
  const tmp: usize = L.SHAPE_SCR_REC;
  let n: usize = 0;
  let i: usize = 0;
  while (i < RS) {
    const e = map + (i << 2);
    if (<u32>load<u8>(e + 2) != C_COPY) {
      i++;
      continue;
    }
    const k = <i32>load<u16>(e);
    let size: usize = 1, kind = K_COPY8, from = k;
    for (let sz: usize = 8; sz >= 2; sz >>= 1) {
      let fwd = true, rev = true;
      for (let j: usize = 1; j < sz; j++) {
        if (fwd && !copyOf(i + j, k + <i32>j)) fwd = false;
        if (rev && !copyOf(i + j, k - <i32>j)) rev = false;
      }
      if (fwd || rev) {
        size = sz;
        if (fwd) {
          kind = sz == 8 ? K_COPY64 : sz == 4 ? K_COPY32 : K_COPY16;
        } else {
          kind = sz == 8 ? K_SWAP64 : sz == 4 ? K_SWAP32 : K_SWAP16;
          from = k - <i32>sz + 1; // the value's first byte in the message
        }
        break;
      }
    }
    store<u32>(tmp + (n << 2), <u32>from | (kind << 12) | (<u32>i << 16));
    n++;
    i += size;
  }
  if (n > <usize>L.SHAPE_OPS_MAX) return false;
  let o: usize = 0;
  for (let kind: u32 = 0; kind < K_COUNT; kind++) {
    for (let j: usize = 0; j < n; j++) {
      const v = load<u32>(tmp + (j << 2));
      if (((v >>> 12) & 7) == kind) {
        store<u32>(t + L.ST_OPS + (o << 2), v & ~(<u32>7 << 12));
        o++;
      }
    }
    store<u8>(t + L.ST_KIND_END + kind, <u8>o);
  }
  return true;
}

// Constant record bytes, blended per 16-byte chunk of the record.
function buildConst(t: usize): void {
  const map: usize = L.SHAPE_SCR_MAP;
  let n: usize = 0;
  for (let at: usize = 0; at < <usize>L.REC_SIZE; at += 16) {
    let any = false;
    const k = t + L.ST_CONST + (n << 5);
    for (let j: usize = 0; j < 16; j++) {
      const e = map + ((at + j) << 2);
      const isConst = <u32>load<u8>(e + 2) == C_CONST;
      store<u8>(k + j, isConst ? 0xff : 0);
      store<u8>(k + 16 + j, isConst ? load<u8>(e + 3) : 0);
      if (isConst) any = true;
    }
    if (any) {
      store<u16>(t + L.ST_CONST_AT + (n << 1), <u16>at);
      n++;
    }
  }
  store<u32>(t + L.ST_NCONST, <u32>n);
}

// The compared message bytes: all but nlmsg_seq / nlmsg_pid (decode() copies
// them) and the bytes the record copies.
function buildChunks(t: usize, m: usize, len: usize): void {
  const free: usize = L.SHAPE_SCR_FREE;
  const nch = (len + 15) >> 4;
  for (let c: usize = 0; c < nch; c++) {
    const off = c << 4 < len - 16 ? c << 4 : len - 16;
    const e = t + L.ST_CHUNKS + (c << 5);
    for (let j: usize = 0; j < 16; j++) {
      const k = off + j;
      const compared = !(k >= NLMSG_HDR_SEQ && k < 16) && load<u8>(free + k) != 2;
      store<u8>(e + j, load<u8>(m + k));
      store<u8>(e + 16 + j, compared ? 0xff : 0);
    }
  }
  store<u32>(t + L.ST_NCHUNKS, <u32>nch);
}
