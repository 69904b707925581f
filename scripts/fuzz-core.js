'use strict';
// The fuzz harness core, shared by `npm run fuzz` (scripts/fuzz.js, against
// dist/) and test/fuzz.test.ts (against src/ through ts-jest). The library is
// passed in (`lib`) so both run the same code on the same build of the WASM.
//
// A case is a function of (seed, index) only: any case can be regenerated on
// its own, which is how the watchdog names the input that hung a worker.
//
// Every case is decoded seven times:
//   checked build: as a dump reply (followed in the same batch by the
//   unmutated seed datagram), as events, as events with a filter program;
//   release build: the same three, plus the event decode again with a
//   different guard pattern after the datagram.
// Checks: no exception other than ConntrackError('ERR_CT_DECODE') (a WASM trap
// is a WebAssembly.RuntimeError), no load outside the current message (the
// checked build counts them), the release build's records do not depend on the
// bytes after the datagram (guard region), and checked and release builds
// produce the same records.
const fs = require('fs');
const path = require('path');

const NLA_F_NESTED = 0x8000;
const NLMSG_HDR = 16;
const NFGENMSG = 4;
const GUARD = 65536 + 64; // one nla_len (u16) past the end, and some
const MAX_DGRAM = 65536; // what a netlink receive buffer of 64 KiB delivers

// ---------------------------------------------------------------- randomness

/** mulberry32: small, fast, good enough for picking mutations. */
function prng(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator of case `index` under `seed` (independent of other cases). */
function caseRng(seed, index) {
  let h = (seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return prng((h ^ (h >>> 16)) >>> 0);
}

const int = (r, n) => Math.floor(r() * n);
const pick = (r, a) => a[int(r, a.length)];

// ------------------------------------------------------------------- corpus

/** Every .pcap under the given directories (recursively), sorted: stable corpus order. */
function findPcaps(dirs) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.pcap')) out.push(p);
    }
  };
  dirs.forEach(walk);
  return out.sort();
}

/**
 * Where the length fields are in a well-formed datagram: messages and every
 * attribute (nested ones when flagged NLA_F_NESTED or when the payload is
 * itself an exact attribute list). Each entry knows its ancestors, so an
 * insertion can keep the enclosing lengths right.
 */
function structure(dg) {
  const dv = new DataView(dg.buffer, dg.byteOffset, dg.length);
  const msgs = [];
  const attrs = [];
  const walkAttrs = (p, end, anc, depth) => {
    while (p + 4 <= end) {
      const len = dv.getUint16(p, true);
      if (len < 4 || p + len > end) return false;
      const a = { at: p, len, end, anc };
      attrs.push(a);
      const type = dv.getUint16(p + 2, true);
      if (depth < 8 && len > 4 && ((type & NLA_F_NESTED) !== 0 || exactAttrs(dv, p + 4, p + len))) {
        walkAttrs(p + 4, p + len, [...anc, p], depth + 1);
      }
      p += (len + 3) & ~3;
    }
    return true;
  };
  for (let m = 0; m + NLMSG_HDR <= dg.length; ) {
    const len = dv.getUint32(m, true);
    if (len < NLMSG_HDR || m + len > dg.length) break;
    const type = dv.getUint16(m + 4, true);
    msgs.push({ off: m, len, type });
    // ctnetlink (subsys 1) and ctnetlink_exp (subsys 2): nfgenmsg then attributes
    if ((type >> 8) === 1 || (type >> 8) === 2) walkAttrs(m + NLMSG_HDR + NFGENMSG, m + len, [m], 0);
    m += (len + 3) & ~3;
  }
  return { msgs, attrs };
}

function exactAttrs(dv, p, end) {
  while (p + 4 <= end) {
    const len = dv.getUint16(p, true);
    if (len < 4 || p + len > end) return false;
    p += (len + 3) & ~3;
  }
  return p === end;
}

/** Load the seed datagrams of every capture: [{ data, name, msgs, attrs }]. */
function loadCorpus(lib, dirs) {
  const seeds = [];
  for (const file of findPcaps(dirs)) {
    const name = path.basename(path.dirname(file)) + '/' + path.basename(file);
    let i = 0;
    for (const rec of lib.readPcapBuffer(fs.readFileSync(file))) {
      const data = rec.data.slice();
      if (data.length === 0 || data.length > MAX_DGRAM) continue;
      seeds.push({ data, name: `${name}#${i++}`, ...structure(data) });
    }
  }
  if (seeds.length === 0) throw new Error(`no pcap datagrams found under ${dirs.join(', ')}`);
  return seeds;
}

// ---------------------------------------------------------------- byte tools

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function nla(type, payload) {
  const out = new Uint8Array((4 + payload.length + 3) & ~3);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, Math.min(4 + payload.length, 0xffff), true);
  dv.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

/** A ctnetlink message: nlmsghdr + nfgenmsg + attributes. */
function ctmsg(type, flags, seq, family, body) {
  const out = new Uint8Array(NLMSG_HDR + NFGENMSG + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, out.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  out[16] = family;
  out.set(body, 20);
  return out;
}

/** Insert `bytes` at `at` and grow the enclosing lengths (u16 ones wrap: that is a mutation too). */
function insertAt(b, at, bytes, anc) {
  const out = concat(b.subarray(0, at), bytes, b.subarray(at));
  const dv = new DataView(out.buffer);
  for (const p of anc) {
    if (p + 4 > out.length) continue;
    if (anc[0] === p) dv.setUint32(p, (dv.getUint32(p, true) + bytes.length) >>> 0, true); // the message
    else dv.setUint16(p, (dv.getUint16(p, true) + bytes.length) & 0xffff, true);
  }
  return out;
}

// ------------------------------------------------------------ bombs (crafted)

/** `depth` attributes each nested in the previous one, innermost a u32 (built in one pass: headers then the leaf). */
function deepNest(depth, type = 1) {
  const levels = Math.min(depth, Math.floor((0xffff - 8) / 4));
  const out = new Uint8Array(levels * 4 + 8);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < levels; i++) {
    dv.setUint16(i * 4, out.length - i * 4, true);
    dv.setUint16(i * 4 + 2, ((i % 3) + 1) | NLA_F_NESTED, true);
  }
  dv.setUint16(levels * 4, 8, true);
  dv.setUint16(levels * 4 + 2, type, true);
  return out;
}

/** `count` attributes of 4 bytes (empty) or 8 bytes (a u32). */
function tinyAttrs(count, size) {
  const out = new Uint8Array(count * size);
  const dv = new DataView(out.buffer);
  for (let o = 0, i = 0; o < out.length; o += size, i++) {
    dv.setUint16(o, size, true);
    dv.setUint16(o + 2, (i % 30) + 1, true);
  }
  return out;
}

/**
 * 64 KiB of messages whose lengths refer back to themselves: 0 (the next
 * message starts where this one did), 16 (header only, forever), the exact
 * remaining length, and past the end.
 */
function selfRefDatagram(variant) {
  const dg = new Uint8Array(MAX_DGRAM);
  const dv = new DataView(dg.buffer);
  for (let o = 0, i = 0; o + NLMSG_HDR <= dg.length; o += NLMSG_HDR, i++) {
    const k = (i + variant) % 5;
    const len = k === 0 ? 0 : k === 1 ? NLMSG_HDR : k === 2 ? dg.length - o : k === 3 ? 0xffffffff : NLMSG_HDR + 4;
    dv.setUint32(o, len >>> 0, true);
    dv.setUint16(o + 4, variant % 2 === 0 ? 0x100 : 0x102, true);
    dv.setUint16(o + 6, 0x2 /* NLM_F_MULTI */, true);
  }
  return dg;
}

/** The crafted inputs, also kept as permanent regressions (test/fixtures/fuzz-regressions). */
function bombs() {
  const tupleIp = nla(1 | NLA_F_NESTED, concat(nla(1, Uint8Array.of(10, 0, 0, 1)), nla(2, Uint8Array.of(10, 0, 0, 2))));
  const tuple = (inner) => nla(1 | NLA_F_NESTED, concat(tupleIp, inner));
  return {
    'deep-nest-16k-orig-tuple': ctmsg(0x100, 0, 0, 2, nla(1 | NLA_F_NESTED, deepNest(16000))),
    'deep-nest-in-protoinfo': ctmsg(0x100, 0, 0, 2, concat(tuple(new Uint8Array(0)), nla(4 | NLA_F_NESTED, deepNest(8000)))),
    'tiny-attrs-16k-empty': ctmsg(0x100, 0, 0, 2, nla(1 | NLA_F_NESTED, tinyAttrs(16000, 4))),
    'tiny-attrs-8k-u32-top': ctmsg(0x100, 0, 0, 2, tinyAttrs(8000, 8)),
    'tiny-attrs-in-counters': ctmsg(0x100, 0, 0, 2, concat(tuple(new Uint8Array(0)), nla(9 | NLA_F_NESTED, tinyAttrs(12000, 4)))),
    'selfref-64k-a': selfRefDatagram(0),
    'selfref-64k-b': selfRefDatagram(1),
    'selfref-64k-c': selfRefDatagram(2),
    'nla-len-zero-loop': ctmsg(0x100, 0, 0, 2, concat(nla(1 | NLA_F_NESTED, new Uint8Array(0)).fill(0, 0, 2), new Uint8Array(60))),
    'nested-len-exceeds-parent': (() => {
      const m = ctmsg(0x100, 0, 0, 2, tuple(nla(2 | NLA_F_NESTED, nla(1, Uint8Array.of(6)))));
      new DataView(m.buffer).setUint16(20 + 4 + 20, 0xffff, true); // the proto nest (after the 20-byte ip nest)
      return m;
    })(),
  };
}

// ----------------------------------------------------------------- mutators

const MSG_LENS = [0, 1, 4, 15, 16, 17, 20, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0];
const NLA_LENS = [0, 1, 2, 3, 4, 5, 7, 8, 0x7fff, 0x8000, 0xfffc, 0xffff];
const NL_TYPES = [0, 1, 2, 3, 4, 0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x200, 0x201, 0x202, 0x203, 0x1ff, 0x3ff, 0xffff];
const BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x40];

const MUTATORS = [
  ['flip', 4, (r, b) => {
    const n = r() < 0.5 ? 1 : 1 + int(r, 8);
    for (let i = 0; i < n; i++) b[int(r, b.length)] ^= 1 << int(r, 8);
    return b;
  }],
  ['byte', 3, (r, b) => {
    const n = 1 + int(r, 4);
    for (let i = 0; i < n; i++) b[int(r, b.length)] = r() < 0.5 ? pick(r, BYTES) : int(r, 256);
    return b;
  }],
  ['truncate', 2, (r, b, s) => {
    // at a structure boundary +-1 half the time: that is where parsers slip
    if (s.attrs.length > 0 && r() < 0.5) return b.slice(0, Math.max(0, pick(r, s.attrs).at + int(r, 7) - 3));
    return b.slice(0, int(r, b.length));
  }],
  ['nlmsg_len', 3, (r, b, s) => {
    if (s.msgs.length === 0) return b;
    const m = pick(r, s.msgs);
    if (m.off + 4 > b.length) return b;
    const rest = b.length - m.off;
    const v = pick(r, [...MSG_LENS, m.len - 1, m.len + 1, m.len + 4, rest, rest + 1, rest + 4, int(r, 0x100000000)]);
    new DataView(b.buffer, b.byteOffset).setUint32(m.off, v >>> 0, true);
    return b;
  }],
  ['nla_len', 5, (r, b, s) => {
    if (s.attrs.length === 0) return b;
    const a = pick(r, s.attrs);
    if (a.at + 2 > b.length) return b;
    const rest = a.end - a.at;
    const v = pick(r, [...NLA_LENS, a.len - 1, a.len + 1, a.len + 4, a.len - 4, rest, rest + 1, rest + 4, int(r, 0x10000)]);
    new DataView(b.buffer, b.byteOffset).setUint16(a.at, v & 0xffff, true);
    return b;
  }],
  ['nla_type', 2, (r, b, s) => {
    if (s.attrs.length === 0) return b;
    const a = pick(r, s.attrs);
    if (a.at + 4 > b.length) return b;
    const dv = new DataView(b.buffer, b.byteOffset);
    const t = dv.getUint16(a.at + 2, true);
    const v = pick(r, [t ^ NLA_F_NESTED, t ^ 0x4000, 0, (t & 0x7fff) + 1, (t & 0x7fff) - 1, 0x7fff, int(r, 0x10000), int(r, 40)]);
    dv.setUint16(a.at + 2, v & 0xffff, true);
    return b;
  }],
  ['nlmsg_type', 2, (r, b, s) => {
    if (s.msgs.length === 0) return b;
    const m = pick(r, s.msgs);
    if (m.off + 8 > b.length) return b;
    const dv = new DataView(b.buffer, b.byteOffset);
    if (r() < 0.7) dv.setUint16(m.off + 4, pick(r, NL_TYPES), true);
    else dv.setUint16(m.off + 6, dv.getUint16(m.off + 6, true) ^ pick(r, [0x2, 0x10, 0x20, 0x100, 0x200, 0xffff]), true);
    return b;
  }],
  ['deep_nest', 1, (r, b, s) => bomb(r, b, s, deepNest(1 + int(r, r() < 0.5 ? 64 : 16000)))],
  ['tiny_attrs', 1, (r, b, s) => bomb(r, b, s, tinyAttrs(1 + int(r, 6000), r() < 0.5 ? 4 : 8))],
  ['selfref_64k', 0.2, (r) => selfRefDatagram(int(r, 5))],
  ['selfref_fill', 0.5, (r, b) => {
    // the datagram repeated to 64 KiB, then one length in each copy pointing at itself
    const copies = Math.max(1, Math.floor(MAX_DGRAM / Math.max(b.length, 1)));
    const out = new Uint8Array(copies * b.length);
    for (let i = 0; i < copies; i++) out.set(b, i * b.length);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < copies; i++) if (i * b.length + 4 <= out.length) dv.setUint32(i * b.length, pick(r, [0, 16, b.length, out.length - i * b.length]), true);
    return out;
  }],
  ['splice', 2, (r, b, s, other) => {
    const o = other.data;
    const k = int(r, 3);
    if (k === 0) return concat(b.subarray(0, int(r, b.length + 1)), o.subarray(int(r, o.length + 1)));
    if (k === 1) return concat(b, o); // two datagrams' messages in one
    // a message of the other datagram inserted at a message boundary
    const at = s.msgs.length > 0 ? pick(r, s.msgs).off : 0;
    const m = other.msgs.length > 0 ? pick(r, other.msgs) : { off: 0, len: o.length };
    return concat(b.subarray(0, Math.min(at, b.length)), o.subarray(m.off, m.off + ((m.len + 3) & ~3)), b.subarray(Math.min(at, b.length)));
  }],
];

const TOTAL_WEIGHT = MUTATORS.reduce((n, m) => n + m[1], 0);

function pickMutator(r) {
  let x = r() * TOTAL_WEIGHT;
  for (const m of MUTATORS) if ((x -= m[1]) < 0) return m;
  return MUTATORS[0];
}

/** Put a bomb into an attribute list of the datagram (lengths of its ancestors adjusted). */
function bomb(r, b, s, payload) {
  if (s.attrs.length === 0 || r() < 0.2) {
    // or a whole new message of it
    return concat(b, ctmsg(pick(r, [0x100, 0x101, 0x102, 0x200]), 0x2, 0, 2, payload));
  }
  const a = pick(r, s.attrs);
  const at = r() < 0.5 ? a.at : Math.min(a.at + 4, b.length); // before the attribute, or inside it
  const anc = at === a.at ? a.anc : [...a.anc, a.at];
  return insertAt(b, Math.min(at, b.length), payload.subarray(0, Math.min(payload.length, MAX_DGRAM)), anc);
}

/** Case `index` of run `seed`: the bytes and what was done to them. */
function makeCase(corpus, seed, index) {
  const r = caseRng(seed, index);
  const si = int(r, corpus.length);
  const s = corpus[si];
  let b = s.data.slice();
  const ops = [];
  const n = r() < 0.5 ? 1 : 1 + int(r, 4); // one mutation half the time: deeper into the decoder
  for (let i = 0; i < n && b.length > 0; i++) {
    const [name, , fn] = pickMutator(r);
    // structure offsets describe the seed; after a size change they are still a good guess
    b = fn(r, b, s, corpus[int(r, corpus.length)]);
    ops.push(name);
  }
  if (b.length > 4 * MAX_DGRAM) b = b.slice(0, 4 * MAX_DGRAM);
  const first = s.msgs[0];
  const dv = new DataView(s.data.buffer, s.data.byteOffset, s.data.length);
  return {
    bytes: b,
    seedName: s.name,
    ops,
    // the dump-reply decode expects the seed's own seq/port id, so most messages are not stale
    seq: first ? dv.getUint32(first.off + 8, true) : 0,
    pid: first ? dv.getUint32(first.off + 12, true) : 0,
    // a few cases as if received from a forged sender, or cut by the receiver
    srcPid: r() < 1 / 64 ? 1 + int(r, 0xffff) : 0,
    truncated: r() < 1 / 64,
    filter: int(r, 1 << 16),
    companion: s.data,
  };
}

// -------------------------------------------------------------- the checker

function filterPrograms(lib) {
  const F = () => new lib.FilterBuilder();
  return [
    F().family('ipv4').proto('tcp').dport(80),
    F().src('10.0.0.0/8').not((b) => b.dst('192.168.0.0/16', 'reply')),
    F().family('ipv6').dst('2001:db8::/32').sport(443, 'reply'),
    F().mark(0x10, 0xf0).zone(0).status({ has: ['ASSURED'], hasNot: ['DYING'] }),
    F().tcpState('ESTABLISHED').timeout(0, 1000).label(3),
    F().nat('any', { ip: '10.0.0.1', port: 53 }).replyAny('10.0.0.0/24'),
    F().proto('icmp').icmp({ type: 8, code: 0, id: 1 }).tupleZone(1, 'reply'),
    F().sctpState(3).not((b) => b.dccpState(1)),
  ].map((b) => b.compile());
}

/**
 * Decoders and scratch for checking cases: one per harness instance. `lib`
 * is the library module (src/ or dist/) plus { toMessage, decodeError }.
 */
function createChecker(lib, opts = {}) {
  const L = lib.layout;
  const mk = (variant) => ({ dump: new lib.Decoder({ variant }), event: new lib.Decoder({ variant }), filter: new lib.Decoder({ variant }) });
  const dec = { checked: mk('checked'), release: mk('release') };
  const programs = filterPrograms(lib);
  for (const b of Object.values(dec)) {
    b.dump.setContext0103('flow');
    b.event.expect(undefined, undefined);
    b.filter.expect(undefined, undefined);
  }
  const guardA = new Uint8Array(GUARD);
  const guardB = new Uint8Array(GUARD);
  const g = prng(0x6a09e667);
  for (let i = 0; i < GUARD; i++) {
    guardA[i] = (g() * 256) | 0;
    guardB[i] = ~guardA[i] & 0xff;
  }
  const materialize = opts.materialize !== false;
  const stats = { cases: 0, decodes: 0, records: 0, bad: 0, messages: 0, tooBig: 0 };

  /** Decode `c.bytes` with one decoder; returns a copy of the records it wrote (or throws a finding). */
  function run(d, c, guard, mat, companion) {
    d.reset();
    let pushed;
    try {
      pushed = d.push(c.bytes, c.srcPid, c.truncated);
      // a well-formed datagram after the case in the same batch: the decoder
      // must resume there cleanly whatever the case did to its state
      if (pushed && companion) d.push(companion);
    } catch (e) {
      if (e instanceof lib.ConntrackError && e.code === 'ERR_CT_DECODE') {
        stats.tooBig++;
        return EMPTY;
      }
      throw e;
    }
    if (!pushed) throw finding('push refused a datagram into an empty batch');
    const core = d.core;
    if (guard) {
      const end = L.ARENA + c.bytes.length;
      core.bytes.set(guard.subarray(0, Math.min(GUARD, L.ARENA + L.ARENA_SIZE - end)), end);
    }
    const chunks = [];
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      stats.records += n;
      // a copy (native memcpy) compared with Buffer.compare later: cheaper than hashing in JS
      chunks.push(Buffer.from(core.bytes.subarray(L.RECORDS, L.RECORDS + n * L.REC_SIZE)));
      for (let i = 0; i < n; i++) {
        const rec = d.record(i);
        if (rec.kind === L.KIND_BAD) {
          stats.bad++;
          const err = lib.decodeError(rec);
          if (!(err instanceof lib.ConntrackError) || err.code !== 'ERR_CT_DECODE') throw finding(`a bad record became ${err && err.code}`);
        } else if (mat) {
          stats.messages++;
          lib.toMessage(rec);
        }
      }
    }
    stats.decodes++;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  /** Check one case; returns null or a description of the failure. */
  function check(c) {
    stats.cases++;
    try {
      const out = {};
      for (const [variant, b] of Object.entries(dec)) {
        const v0 = b.dump.counters().violations + b.event.counters().violations + b.filter.counters().violations;
        b.dump.expect(c.seq, c.pid);
        out[variant + '.dump'] = run(b.dump, c, null, false, c.companion);
        out[variant + '.event'] = run(b.event, c, variant === 'release' ? guardA : null, materialize && variant === 'checked');
        b.filter.setFilter(programs[c.filter % programs.length]);
        out[variant + '.filter'] = run(b.filter, c, variant === 'release' ? guardA : null, materialize && variant === 'release');
        const v1 = b.dump.counters().violations + b.event.counters().violations + b.filter.counters().violations;
        if (v1 !== v0) return `${v1 - v0} read(s) outside the message (checked build)`;
      }
      const again = run(dec.release.event, c, guardB, false);
      if (!again.equals(out['release.event'])) return 'release build output depends on the bytes after the datagram (read past the end)';
      for (const m of ['dump', 'event', 'filter']) {
        if (!out['checked.' + m].equals(out['release.' + m])) return `checked and release builds disagree (${m} decode)`;
      }
      return null;
    } catch (e) {
      if (e && e.fuzzFinding) return e.message;
      if (e instanceof lib.ConntrackError) return `unexpected ConntrackError ${e.code}: ${e.message}`;
      return `exception that is not a ConntrackError: ${e && e.name}: ${e && e.message}`;
    }
  }

  return { check, stats, decoders: dec };
}

const EMPTY = Buffer.alloc(0);

function finding(msg) {
  const e = new Error(msg);
  e.fuzzFinding = true;
  return e;
}

/** A case built from raw bytes (regression files): decoded in every mode. */
function rawCase(bytes, filter = 0) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    bytes, seedName: 'raw', ops: [], srcPid: 0, truncated: false, filter,
    seq: bytes.length >= 16 ? dv.getUint32(8, true) : 0,
    pid: bytes.length >= 16 ? dv.getUint32(12, true) : 0,
  };
}

/** sha256 prefix: the name of a saved input. */
function inputName(bytes) {
  return require('crypto').createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

module.exports = { loadCorpus, makeCase, createChecker, rawCase, bombs, inputName, structure, findPcaps, MUTATORS };
