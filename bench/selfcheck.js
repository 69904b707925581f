'use strict';
// Self-check run before any timing: the lean and naive JS baselines must
// decode the same values as the WASM decoder (its materialized objects) for
// the first messages of the corpus. Each decoder's output is normalized to
// one plain shape and compared field by field; any difference throws.

const { Decoder } = require('../dist/decoder');
const { formatIPv4 } = require('../dist/format/address');
const { decodeDatagram: naiveDecode } = require('./baselines/naive');
const { LeanDecoder, S, T, TP, SUB, KIND_FLOW } = require('./baselines/lean');

/** Full 8-group IPv6 text ("0:0:0:0:0:0:0:1") of 16 bytes. */
function v6Groups(bytes, off) {
  const g = [];
  for (let i = 0; i < 8; i++) g.push(((bytes[off + 2 * i] << 8) | bytes[off + 2 * i + 1]).toString(16));
  return g.join(':');
}

/** Expand inet_ntop text ("::1", "2001:db8::5", "::ffff:1.2.3.4") to 8 groups. */
function expandV6(s) {
  const dotted = s.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (dotted) { // trailing dotted quad -> two hex groups
    const b = dotted.slice(1).map(Number);
    s = s.slice(0, -dotted[0].length) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  if (!s.includes('::')) return s;
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return h.concat(new Array(8 - h.length - t.length).fill('0'), t).join(':');
}

const big = (hi, lo) => (BigInt(hi) << 32n) | BigInt(lo);
const EVENTS = [undefined, 'new', 'update', 'destroy'];

// --- normalizers: each returns { id, family, event, status, ..., orig, reply, ... }

function wasmTuple(t) {
  if (!t) return undefined;
  const addr = (a) => (a === undefined ? undefined : t.l3proto === 10 ? expandV6(a) : a);
  return { src: addr(t.src), dst: addr(t.dst), proto: t.protoNum, sport: t.srcPort, dport: t.dstPort,
    icmpId: t.icmpId, icmpType: t.icmpType, icmpCode: t.icmpCode, zone: t.zone };
}
function fromWasm(m) {
  return {
    id: m.id, family: m.family, event: m.event, status: m.status, timeout: m.timeout, mark: m.mark,
    use: m.use, zone: m.zone, orig: wasmTuple(m.orig), reply: wasmTuple(m.reply),
    tcp: m.tcp && { state: m.tcp.state, wso: m.tcp.wscaleOriginal, wsr: m.tcp.wscaleReply,
      fo: m.tcp.flagsOriginal && [m.tcp.flagsOriginal.flags, m.tcp.flagsOriginal.mask],
      fr: m.tcp.flagsReply && [m.tcp.flagsReply.flags, m.tcp.flagsReply.mask] },
    op: m.countersOrig?.packets, ob: m.countersOrig?.bytes, rp: m.countersReply?.packets, rb: m.countersReply?.bytes,
    tsStart: m.timestampStart, tsStop: m.timestampStop, tsEvent: m.timestampEvent,
  };
}

function naiveTuple(t) {
  return t && { src: t.src, dst: t.dst, proto: t.protoNum, sport: t.srcPort, dport: t.dstPort,
    icmpId: t.icmpId, icmpType: t.icmpType, icmpCode: t.icmpCode, zone: t.zone };
}
function fromNaive(m) {
  const tcp = m.protoinfo?.tcp;
  return {
    id: m.id, family: m.family, event: m.event, status: m.status, timeout: m.timeout, mark: m.mark,
    use: m.use, zone: m.zone, orig: naiveTuple(m.orig), reply: naiveTuple(m.reply),
    tcp: tcp && { state: tcp.state, wso: tcp.wscaleOriginal, wsr: tcp.wscaleReply,
      fo: tcp.flagsOriginal && [tcp.flagsOriginal.flags, tcp.flagsOriginal.mask],
      fr: tcp.flagsReply && [tcp.flagsReply.flags, tcp.flagsReply.mask] },
    op: m.counters?.orig?.packets, ob: m.counters?.orig?.bytes,
    rp: m.counters?.reply?.packets, rb: m.counters?.reply?.bytes,
    tsStart: m.timestamp?.start, tsStop: m.timestamp?.stop, tsEvent: m.timestampEvent,
  };
}

function leanTuple(r, t, bytes, present) {
  if (!present) return undefined;
  const p = r[t + T.PRESENT];
  const has = (bit, v) => ((p & bit) !== 0 ? v() : undefined);
  const addr = (off) => (r[t + T.L3] === 10 ? v6Groups(bytes, off) : formatIPv4(bytes, off));
  return { src: has(TP.SRC, () => addr(r[t + T.SRC])), dst: has(TP.DST, () => addr(r[t + T.DST])),
    proto: has(TP.PROTO, () => r[t + T.PROTO]), sport: has(TP.SPORT, () => r[t + T.SPORT]),
    dport: has(TP.DPORT, () => r[t + T.DPORT]), icmpId: has(TP.ICMP_ID, () => r[t + T.ICMP_ID]),
    icmpType: has(TP.ICMP_TYPE, () => r[t + T.ICMP_TYPE]), icmpCode: has(TP.ICMP_CODE, () => r[t + T.ICMP_CODE]),
    zone: has(TP.ZONE, () => r[t + T.ZONE]) };
}
function fromLean(r, bytes) {
  const a = r[S.ATTRS], sub = r[S.SUB];
  const top = (type, v) => (((a >>> type) & 1) === 1 ? v : undefined);
  const s = (bit, v) => ((sub & bit) !== 0 ? v() : undefined);
  const hasTcp = (sub & (SUB.TCP_STATE | SUB.TCP_WSCALE_ORIG | SUB.TCP_WSCALE_REPL | SUB.TCP_FLAGS_ORIG | SUB.TCP_FLAGS_REPL)) !== 0;
  return {
    id: top(12, r[S.ID]), family: r[S.FAMILY], event: EVENTS[r[S.EVENT]], status: top(3, r[S.STATUS]),
    timeout: top(7, r[S.TIMEOUT]), mark: top(8, r[S.MARK]), use: top(11, r[S.USE]), zone: top(18, r[S.ZONE]),
    orig: leanTuple(r, S.TUPLE_ORIG, bytes, top(1, true)), reply: leanTuple(r, S.TUPLE_REPLY, bytes, top(2, true)),
    tcp: hasTcp ? { state: s(SUB.TCP_STATE, () => r[S.TCP_STATE]), wso: s(SUB.TCP_WSCALE_ORIG, () => r[S.TCP_WSCALE_ORIG]),
      wsr: s(SUB.TCP_WSCALE_REPL, () => r[S.TCP_WSCALE_REPL]),
      fo: s(SUB.TCP_FLAGS_ORIG, () => [r[S.TCP_FLAGS_ORIG], r[S.TCP_MASK_ORIG]]),
      fr: s(SUB.TCP_FLAGS_REPL, () => [r[S.TCP_FLAGS_REPL], r[S.TCP_MASK_REPL]]) } : undefined,
    op: s(SUB.ORIG_PACKETS, () => big(r[S.ORIG_PACKETS_HI], r[S.ORIG_PACKETS_LO])),
    ob: s(SUB.ORIG_BYTES, () => big(r[S.ORIG_BYTES_HI], r[S.ORIG_BYTES_LO])),
    rp: s(SUB.REPL_PACKETS, () => big(r[S.REPL_PACKETS_HI], r[S.REPL_PACKETS_LO])),
    rb: s(SUB.REPL_BYTES, () => big(r[S.REPL_BYTES_HI], r[S.REPL_BYTES_LO])),
    tsStart: s(SUB.TS_START, () => big(r[S.TS_START_HI], r[S.TS_START_LO])),
    tsStop: s(SUB.TS_STOP, () => big(r[S.TS_STOP_HI], r[S.TS_STOP_LO])),
    tsEvent: top(27, big(r[S.TS_EVENT_HI], r[S.TS_EVENT_LO])),
  };
}

const text = (o) => JSON.stringify(o, (k, v) => (typeof v === 'bigint' ? `${v}n` : v));

/**
 * Compare the three decoders on the first `limit` messages of `datagrams`.
 * Returns the number of messages checked; throws on the first difference.
 */
function selfCheck(datagrams, limit = 100) {
  const dec = new Decoder();
  const lean = new LeanDecoder();
  let checked = 0;
  for (const dg of datagrams) {
    if (checked >= limit) break;
    dec.reset();
    if (!dec.push(dg)) throw new Error('self-check: datagram does not fit the arena');
    const wasm = dec.messages(); // throws on a malformed message
    const naive = naiveDecode(dg);
    const bytes = new Uint8Array(dg.buffer);
    lean.begin(dg);
    if (naive.length !== wasm.length) throw new Error(`self-check: naive found ${naive.length} messages, WASM ${wasm.length}`);
    for (let i = 0; i < wasm.length && checked < limit; i++, checked++) {
      const kind = lean.next();
      if (kind !== KIND_FLOW || wasm[i].kind !== 'flow') {
        throw new Error(`self-check: message ${checked}: lean kind ${kind}, WASM kind ${wasm[i].kind}`);
      }
      const want = text(fromWasm(wasm[i]));
      const gotLean = text(fromLean(lean.rec, bytes));
      const gotNaive = text(fromNaive(naive[i]));
      if (gotLean !== want) throw new Error(`self-check: lean differs at message ${checked}\n  wasm ${want}\n  lean ${gotLean}`);
      if (gotNaive !== want) throw new Error(`self-check: naive differs at message ${checked}\n  wasm  ${want}\n  naive ${gotNaive}`);
    }
  }
  if (checked < limit) throw new Error(`self-check: only ${checked} messages in the corpus`);
  return checked;
}

module.exports = { selfCheck };
