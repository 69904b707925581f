// Our own NDJSON output (one object per line) for decoded messages. The
// schema is documented in docs/json-format.md. Rules:
// - field names are those of src/types.ts (camelCase); each names the kernel
//   attribute it comes from there;
// - a field is present exactly when the kernel sent its attribute; absent
//   attributes are omitted, never null;
// - 64-bit values (counters, nanosecond time stamps, DCCP handshake sequence)
//   are written as plain JSON integers with every digit, by hand: no
//   precision is lost even above 2^53 (JSON numbers are unbounded; readers
//   that need exactness must parse them as big integers);
// - names are added next to numbers: familyName, protoName, stateName,
//   statusFlags, flagNames;
// - byte strings (helperInfo) are lowercase hex; label bitmaps are arrays of
//   bit numbers (and labelNames when a label map is given).
//
// The serializer is written for these known shapes (string concatenation, no
// intermediate objects), as it runs once per entry of large dumps.

import type {
  Counters, CpuStats, DccpInfo, Expectation, ExpectStats, Flow, GlobalStats, Message, MessageHeader, NatRange,
  NetlinkError, SctpInfo, SeqAdj, Synproxy, TcpInfo, Tuple,
} from '../types';
import { forEachLabelName, labelBits, type LabelMap } from './labels';
import {
  dccpStateName, expectFlagNames, l3protoName, protoName, sctpStateName, statusFlagNames, tcpStateName,
} from './names';

/** Options of the JSON writers. */
export interface JsonOptions {
  /** Adds "labelNames" (names of the set label bits that have one) next to "labels". */
  readonly labels?: LabelMap;
}

/** Lowercase hex of a byte string. */
function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return s;
}

/**
 * JSON string literal. Fast path for the common case (addresses, names):
 * nothing to escape, so no JSON.stringify call.
 */
function quote(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(v);
  }
  return '"' + v + '"';
}

/** JSON array of strings. */
function stringArray(items: readonly string[]): string {
  let s = '[';
  for (let i = 0; i < items.length; i++) s += (i ? ',' : '') + quote(items[i]);
  return s + ']';
}

/** statusFlags JSON by status value: few distinct values occur, so cache them. */
const statusFlagsCache = new Map<number, string>();

function statusFlagsJson(status: number): string {
  let json = statusFlagsCache.get(status);
  if (json === undefined) {
    json = stringArray(statusFlagNames(status));
    if (statusFlagsCache.size < 4096) statusFlagsCache.set(status, json);
  }
  return json;
}

/** JSON array of numbers. */
function numberArray(items: readonly number[]): string {
  return '[' + items.join(',') + ']';
}

/**
 * Accumulates `"key":value` members of one JSON object. Values are already
 * JSON text; `num`/`big`/`str` skip undefined.
 */
class Obj {
  private s = '';

  /** Adds a member whose value is JSON text. */
  raw(key: string, json: string): this {
    this.s += (this.s ? ',"' : '"') + key + '":' + json;
    return this;
  }

  /** Adds a number member when defined. */
  num(key: string, v: number | undefined): this {
    return v === undefined ? this : this.raw(key, String(v));
  }

  /** Adds a 64-bit member when defined, every digit kept. */
  big(key: string, v: bigint | undefined): this {
    return v === undefined ? this : this.raw(key, v.toString());
  }

  /** Adds a string member when defined. */
  str(key: string, v: string | undefined): this {
    return v === undefined ? this : this.raw(key, quote(v));
  }

  /** Adds a nested object member when the value is defined. */
  sub<T>(key: string, v: T | undefined, write: (v: T) => string): this {
    return v === undefined ? this : this.raw(key, write(v));
  }

  /** The object text. */
  toString(): string {
    return '{' + this.s + '}';
  }
}

/** CTA_TUPLE_* */
function tupleJson(t: Tuple): string {
  const o = new Obj().num('l3proto', t.l3proto);
  if (t.l3proto !== 0) o.str('l3protoName', l3protoName(t.l3proto));
  o.str('src', t.src).str('dst', t.dst).num('protoNum', t.protoNum);
  if (t.protoNum !== undefined) o.str('protoName', protoName(t.protoNum));
  return o
    .num('srcPort', t.srcPort).num('dstPort', t.dstPort)
    .num('icmpId', t.icmpId).num('icmpType', t.icmpType).num('icmpCode', t.icmpCode)
    .num('zone', t.zone).toString();
}

/** CTA_COUNTERS_* */
function countersJson(c: Counters): string {
  return new Obj().big('packets', c.packets).big('bytes', c.bytes).toString();
}

/** struct nf_ct_tcp_flags */
function tcpFlagsJson(f: { readonly flags: number; readonly mask: number }): string {
  return '{"flags":' + f.flags + ',"mask":' + f.mask + '}';
}

/** CTA_PROTOINFO_TCP */
function tcpJson(t: TcpInfo): string {
  const o = new Obj().num('state', t.state);
  if (t.state !== undefined) o.str('stateName', tcpStateName(t.state));
  return o
    .num('wscaleOriginal', t.wscaleOriginal).num('wscaleReply', t.wscaleReply)
    .sub('flagsOriginal', t.flagsOriginal, tcpFlagsJson).sub('flagsReply', t.flagsReply, tcpFlagsJson).toString();
}

/** CTA_PROTOINFO_SCTP */
function sctpJson(t: SctpInfo): string {
  const o = new Obj().num('state', t.state);
  if (t.state !== undefined) o.str('stateName', sctpStateName(t.state));
  return o.num('vtagOriginal', t.vtagOriginal).num('vtagReply', t.vtagReply).toString();
}

/** CTA_PROTOINFO_DCCP */
function dccpJson(t: DccpInfo): string {
  const o = new Obj().num('state', t.state);
  if (t.state !== undefined) o.str('stateName', dccpStateName(t.state));
  return o.num('role', t.role).big('handshakeSeq', t.handshakeSeq).toString();
}

/** CTA_NAT_SRC / CTA_NAT_DST */
function natJson(n: NatRange): string {
  return new Obj().str('minIp', n.minIp).str('maxIp', n.maxIp).num('minPort', n.minPort).num('maxPort', n.maxPort).toString();
}

/** CTA_SEQ_ADJ_* */
function seqAdjJson(a: SeqAdj): string {
  return new Obj()
    .num('correctionPos', a.correctionPos).num('offsetBefore', a.offsetBefore).num('offsetAfter', a.offsetAfter)
    .toString();
}

/** CTA_SYNPROXY */
function synproxyJson(p: Synproxy): string {
  return new Obj().num('isn', p.isn).num('its', p.its).num('tsoff', p.tsoff).toString();
}

/** nlmsghdr fields every message carries. */
function header(o: Obj, m: MessageHeader): Obj {
  return o.num('nlType', m.nlType).num('nlFlags', m.nlFlags).num('seq', m.seq).num('pid', m.pid);
}

/** "labels" (+ "labelNames") of a bitmap. */
function labelsMembers(o: Obj, key: string, bits: Uint8Array | undefined, map: LabelMap | undefined): void {
  if (bits === undefined) return;
  o.raw(key, numberArray(labelBits(bits)));
  if (map === undefined) return;
  const names: string[] = [];
  forEachLabelName(bits, map, (n) => names.push(n));
  o.raw(key === 'labels' ? 'labelNames' : key + 'Names', stringArray(names));
}

/** Identity and protocol part of a flow object. */
function flowHead(f: Flow): Obj {
  const o = new Obj().str('kind', 'flow');
  header(o, f);
  return o
    .str('event', f.event).num('family', f.family).str('familyName', l3protoName(f.family))
    .sub('orig', f.orig, tupleJson).sub('reply', f.reply, tupleJson).sub('master', f.master, tupleJson);
}

/** Status and scalar attributes of a flow object. */
function flowScalars(o: Obj, f: Flow): void {
  if (f.status !== undefined) o.num('status', f.status).raw('statusFlags', statusFlagsJson(f.status));
  o.num('statusMask', f.statusMask).num('timeout', f.timeout).num('mark', f.mark).num('markMask', f.markMask)
    .num('use', f.use).num('id', f.id).num('secmark', f.secmark).num('zone', f.zone);
}

/**
 * One NDJSON line (without the newline) for a conntrack entry.
 */
export function formatFlowJson(f: Flow, opts: JsonOptions = {}): string {
  const o = flowHead(f);
  flowScalars(o, f);
  o.sub('tcp', f.tcp, tcpJson).sub('dccp', f.dccp, dccpJson).sub('sctp', f.sctp, sctpJson)
    .sub('countersOrig', f.countersOrig, countersJson).sub('countersReply', f.countersReply, countersJson)
    .big('timestampStart', f.timestampStart).big('timestampStop', f.timestampStop)
    .big('timestampEvent', f.timestampEvent)
    .str('helperName', f.helperName).sub('helperInfo', f.helperInfo, (b) => '"' + hex(b) + '"')
    .str('secctx', f.secctx);
  labelsMembers(o, 'labels', f.labels, opts.labels);
  labelsMembers(o, 'labelsMask', f.labelsMask, undefined);
  o.sub('natSrc', f.natSrc, natJson).sub('natDst', f.natDst, natJson)
    .sub('seqAdjOrig', f.seqAdjOrig, seqAdjJson).sub('seqAdjReply', f.seqAdjReply, seqAdjJson)
    .sub('synproxy', f.synproxy, synproxyJson);
  return o.toString();
}

/** CTA_EXPECT_NAT */
function expectNatJson(n: NonNullable<Expectation['nat']>): string {
  return new Obj().num('dir', n.dir).sub('tuple', n.tuple, tupleJson).toString();
}

/** One NDJSON line (without the newline) for an expectation. */
export function formatExpectJson(e: Expectation): string {
  const o = new Obj().str('kind', 'expect');
  header(o, e);
  o.str('event', e.event).num('family', e.family).str('familyName', l3protoName(e.family))
    .sub('master', e.master, tupleJson).sub('tuple', e.tuple, tupleJson).sub('mask', e.mask, tupleJson)
    .num('timeout', e.timeout).num('id', e.id).str('helperName', e.helperName).num('zone', e.zone);
  if (e.flags !== undefined) o.num('flags', e.flags).raw('flagNames', stringArray(expectFlagNames(e.flags)));
  return o.num('class', e.class).sub('nat', e.nat, expectNatJson).str('fn', e.fn).toString();
}

/** One NDJSON line for a per-CPU statistics reply (CTA_STATS_*). */
export function formatCpuStatsJson(s: CpuStats): string {
  const o = new Obj().str('kind', 'stats-cpu');
  header(o, s);
  return o
    .num('cpu', s.cpu).num('searched', s.searched).num('found', s.found).num('new', s.new)
    .num('invalid', s.invalid).num('ignore', s.ignore).num('delete', s.delete).num('deleteList', s.deleteList)
    .num('insert', s.insert).num('insertFailed', s.insertFailed).num('drop', s.drop).num('earlyDrop', s.earlyDrop)
    .num('error', s.error).num('searchRestart', s.searchRestart).num('clashResolve', s.clashResolve)
    .num('chainToolong', s.chainToolong).toString();
}

/** One NDJSON line for the global statistics reply (CTA_STATS_GLOBAL_*). */
export function formatGlobalStatsJson(g: GlobalStats): string {
  const o = new Obj().str('kind', 'stats-global');
  header(o, g);
  return o.num('entries', g.entries).num('maxEntries', g.maxEntries).toString();
}

/** One NDJSON line for a per-CPU expectation statistics reply (CTA_STATS_EXP_*). */
export function formatExpectStatsJson(s: ExpectStats): string {
  const o = new Obj().str('kind', 'stats-exp');
  header(o, s);
  return o.num('cpu', s.cpu).num('new', s.new).num('create', s.create).num('delete', s.delete).toString();
}

/** NLMSG_ERROR (errno 0 = ACK). */
function errorJson(m: NetlinkError): string {
  const o = new Obj().str('kind', 'error');
  header(o, m);
  const r = m.request;
  return o
    .num('errno', m.errno)
    .raw('request', '{"nlType":' + r.nlType + ',"nlFlags":' + r.nlFlags + ',"seq":' + r.seq + ',"pid":' + r.pid + '}')
    .str('extAckMessage', m.extAckMessage).num('extAckOffset', m.extAckOffset).toString();
}

/**
 * One NDJSON line (without the newline) for any decoded message; NLMSG_DONE,
 * NLMSG_OVERRUN and unknown messages carry only their kind and header.
 */
export function formatMessageJson(m: Message, opts: JsonOptions = {}): string {
  switch (m.kind) {
    case 'flow': return formatFlowJson(m, opts);
    case 'expect': return formatExpectJson(m);
    case 'stats-cpu': return formatCpuStatsJson(m);
    case 'stats-global': return formatGlobalStatsJson(m);
    case 'stats-exp': return formatExpectStatsJson(m);
    case 'error': return errorJson(m);
    default: return header(new Obj().str('kind', m.kind), m).toString();
  }
}
