// conntrack(8) -o xml, byte for byte as conntrack-tools 1.4.7 prints it
// through libnetfilter_conntrack 1.0.9 src/conntrack/snprintf_xml.c
// (__snprintf_conntrack_xml) and src/expect/snprintf_xml.c
// (__snprintf_expect_xml). One element per line, no pretty printing, no
// escaping (helper names and security contexts are printed raw, as in C).
//
// Document framing (conntrack.c): the header
//   <?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n
// is printed just before the FIRST entry, and "</conntrack>\n" after the
// dump (or on SIGINT for -E) only if that header was printed: a dump with no
// entry prints nothing at all. Expectations use <expect> instead.

import type { EventType, Expectation, Flow, Tuple } from '../types';
import { formatLabelsXml, type LabelMap } from './labels';
import {
  AF_INET, AF_INET6, IPPROTO_DCCP, IPPROTO_GRE, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
  IPS_ASSURED, IPS_SEEN_REPLY, NF_CT_EXPECT_INACTIVE, NF_CT_EXPECT_PERMANENT, NF_CT_EXPECT_USERSPACE,
  l3protoName, protoName, xmlStateName,
} from './names';
import { brokenDownTime, nowSec, nsToSec, u64DeltaSecText, ullText } from './time';

/** Options of {@link formatFlowXml}. */
export interface XmlOptions {
  /** Event line (-E -o xml): <flow type="new|update|destroy"> from `f.event`. */
  readonly event?: boolean;
  /** -o ktimestamp (NFCT_OF_TIMESTAMP): <timestamp><start>ns</start><stop>ns</stop></timestamp>. */
  readonly ktimestamp?: boolean;
  /** -o labels with a loaded map: <labels><label>name</label>...</labels>. */
  readonly labels?: LabelMap;
  /** Seconds used for <deltatime> when there is no stop stamp (time(NULL) in C). Default: now. */
  readonly now?: number;
  /**
   * -o xml,timestamp on -E (NFCT_OF_TIME): <when> with this time (seconds;
   * the receive time) broken down in the local time zone (or UTC with `utc`).
   */
  readonly when?: number;
  /** Break `when` down in UTC instead of the process time zone. */
  readonly utc?: boolean;
  /** -E: append " [USERSPACE] portid=N[ progname=X]" when nlmsg_pid != 0 (conntrack 1.4.7 event_cb). */
  readonly userspace?: boolean;
  /** Resolves a netlink port id to a program name for the [USERSPACE] tag. */
  readonly progname?: (portid: number) => string | undefined;
}

/** Options of {@link formatExpectXml}. */
export interface ExpectXmlOptions {
  /** Event line: <flow type="..."> from `e.event`. */
  readonly event?: boolean;
  /** -o xml,timestamp: <when> inside <meta> (seconds). */
  readonly when?: number;
  /** Break `when` down in UTC instead of the process time zone. */
  readonly utc?: boolean;
}

/** The two lines printed before the first entry of a document. */
export function xmlDocumentHeader(root: 'conntrack' | 'expect' = 'conntrack'): string {
  return '<?xml version="1.0" encoding="utf-8"?>\n<' + root + '>\n';
}

/** The closing line, printed only when the header was. */
export function xmlDocumentFooter(root: 'conntrack' | 'expect' = 'conntrack'): string {
  return '</' + root + '>\n';
}

const FLOW_OPEN: Readonly<Record<EventType, string>> = {
  new: '<flow type="new">',
  update: '<flow type="update">',
  destroy: '<flow type="destroy">',
};

/** <src>A</src> / <dst>A</dst>: the address only for AF_INET/AF_INET6, tags always. */
function addrXml(tag: 'src' | 'dst', addr: string | undefined, family: number): string {
  let a = '';
  if (family === AF_INET) a = addr ?? '0.0.0.0';
  else if (family === AF_INET6) a = addr ?? '::';
  return '<' + tag + '>' + a + '</' + tag + '>';
}

/** <sport>/<dport> or <srckey>/<dstkey> (__snprintf_proto_xml). */
function protoXml(t: Tuple | undefined): string {
  if (t === undefined) return '';
  switch (t.protoNum) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
    case IPPROTO_SCTP:
    case IPPROTO_DCCP:
      return '<sport>' + (t.srcPort ?? 0) + '</sport><dport>' + (t.dstPort ?? 0) + '</dport>';
    case IPPROTO_GRE:
      return (
        '<srckey>0x' + (t.srcPort ?? 0).toString(16) + '</srckey><dstkey>0x' + (t.dstPort ?? 0).toString(16) + '</dstkey>'
      );
    default:
      return '';
  }
}

/** <layer3 ...><src/><dst/></layer3> of one tuple. */
function layer3Xml(t: Tuple | undefined, family: number): string {
  return (
    '<layer3 protonum="' + family + '" protoname="' + l3protoName(family) + '">' +
    addrXml('src', t?.src, family) + addrXml('dst', t?.dst, family) + '</layer3>'
  );
}

/** <layer4 ...>ports</layer4> of one tuple. */
function layer4Xml(t: Tuple | undefined): string {
  const p = t?.protoNum ?? 0;
  return '<layer4 protonum="' + p + '" protoname="' + protoName(p) + '">' + protoXml(t) + '</layer4>';
}

/**
 * <meta direction="original|reply"> of a flow. Quirk kept: <counters> of BOTH
 * directions depend on the ORIGINAL counters being present.
 */
function tupleXml(f: Flow, reply: boolean, showCounters: boolean): string {
  const t = reply ? f.reply : f.orig;
  // l3protonum is nfgen_family when the tuple attribute was sent, 0 otherwise
  const family = t === undefined ? 0 : f.family;
  let s = '<meta direction="' + (reply ? 'reply' : 'original') + '">' + layer3Xml(t, family) + layer4Xml(t);
  if (t?.zone !== undefined) s += '<zone>' + t.zone + '</zone>';
  if (showCounters) {
    const c = reply ? f.countersReply : f.countersOrig;
    s += '<counters><packets>' + (c?.packets ?? 0n) + '</packets><bytes>' + (c?.bytes ?? 0n) + '</bytes></counters>';
  }
  return s + '</meta>';
}

/** Whether the independent <meta> element is opened/closed. */
function hasIndependentMeta(f: Flow): boolean {
  return (
    f.tcp?.state !== undefined || f.sctp?.state !== undefined || f.dccp?.state !== undefined ||
    f.timeout !== undefined || f.mark !== undefined || f.secmark !== undefined || f.zone !== undefined ||
    f.use !== undefined || f.status !== undefined || f.id !== undefined || f.labels !== undefined ||
    f.timestampStart !== undefined || f.timestampStop !== undefined
  );
}

/**
 * <state> elements. Quirk kept: SCTP and DCCP states are looked up in the
 * TCP name table (states[]), see {@link xmlStateName}.
 */
function statesXml(f: Flow): string {
  let s = '';
  if (f.tcp?.state !== undefined) s += '<state>' + xmlStateName(f.tcp.state) + '</state>';
  if (f.sctp?.state !== undefined) s += '<state>' + xmlStateName(f.sctp.state) + '</state>';
  if (f.dccp?.state !== undefined) s += '<state>' + xmlStateName(f.dccp.state) + '</state>';
  return s;
}

/** <timestamp><start/><stop/></timestamp> (raw nanoseconds), -o ktimestamp only. */
function timestampXml(f: Flow): string {
  if (f.timestampStart === undefined && f.timestampStop === undefined) return '';
  let s = '<timestamp>';
  if (f.timestampStart !== undefined) s += '<start>' + BigInt.asUintN(64, f.timestampStart) + '</start>';
  if (f.timestampStop !== undefined) s += '<stop>' + BigInt.asUintN(64, f.timestampStop) + '</stop>';
  return s + '</timestamp>';
}

/**
 * <deltatime>: with both stamps ((stop - start) mod 2^64) / 1s — unlike the
 * text printer, which truncates each stamp first; with only a start stamp
 * now - start/1s.
 */
function deltaXml(f: Flow, now: number | undefined): string {
  const start = f.timestampStart;
  if (start === undefined) return '';
  const stop = f.timestampStop;
  const v = stop !== undefined ? u64DeltaSecText(stop, start) : ullText((now ?? nowSec()) - nsToSec(start));
  return '<deltatime>' + v + '</deltatime>';
}

/** The body of <meta direction="independent"> (without the element itself). */
function independentXml(f: Flow, o: XmlOptions): string {
  let s = statesXml(f);
  if (f.timeout !== undefined) s += '<timeout>' + f.timeout + '</timeout>';
  if (f.mark !== undefined) s += '<mark>' + f.mark + '</mark>';
  if (o.labels !== undefined && f.labels !== undefined) s += formatLabelsXml(f.labels, o.labels);
  if (f.secmark !== undefined) s += '<secmark>' + f.secmark + '</secmark>';
  if (f.secctx !== undefined) s += '<secctx>' + f.secctx + '</secctx>';
  if (f.zone !== undefined) s += '<zone>' + f.zone + '</zone>';
  if (f.use !== undefined) s += '<use>' + f.use + '</use>';
  if (f.id !== undefined) s += '<id>' + f.id + '</id>';
  if (f.status !== undefined && (f.status & IPS_ASSURED) !== 0) s += '<assured/>';
  if (f.status !== undefined && (f.status & IPS_SEEN_REPLY) === 0) s += '<unreplied/>';
  if (o.ktimestamp) s += timestampXml(f);
  return s + deltaXml(f, o.now);
}

/** <when>: local (or UTC) broken-down time (__snprintf_localtime_xml). */
function whenXml(sec: number, utc: boolean): string {
  const t = brokenDownTime(sec, utc);
  return (
    '<when><hour>' + t.hour + '</hour><min>' + (t.minute < 10 ? '0' : '') + t.minute + '</min><sec>' +
    (t.second < 10 ? '0' : '') + t.second + '</sec><wday>' + (t.weekday + 1) + '</wday><day>' + t.day +
    '</day><month>' + (t.month + 1) + '</month><year>' + t.year + '</year></when>'
  );
}

/**
 * One <flow> element for `conntrack -L/-G/-E -o xml`, without the newline.
 * <id> is always included when CTA_ID was sent (no -o id needed in XML).
 */
export function formatFlowXml(f: Flow, o: XmlOptions = {}): string {
  let s = o.event && f.event !== undefined ? FLOW_OPEN[f.event] : '<flow>';
  const counters = f.countersOrig?.packets !== undefined && f.countersOrig.bytes !== undefined;
  s += tupleXml(f, false, counters) + tupleXml(f, true, counters);
  const meta = hasIndependentMeta(f);
  if (meta) s += '<meta direction="independent">';
  s += independentXml(f, o);
  if (meta) s += '</meta>';
  if (o.when !== undefined) s += whenXml(o.when, o.utc === true);
  if (f.helperName !== undefined) s += '<helper>' + f.helperName + '</helper>';
  s += '</flow>';
  if (o.userspace && f.pid !== 0) {
    const prog = o.progname?.(f.pid);
    s += ' [USERSPACE] portid=' + f.pid + (prog ? ' progname=' + prog : '');
  }
  return s;
}

/** <expected>/<mask>/<master> address pairs inside <layer3>. */
function expectLayer3Xml(e: Expectation): string {
  const fam = e.family;
  return (
    '<layer3 protonum="' + fam + '" protoname="' + l3protoName(fam) + '">' +
    '<expected>' + addrXml('src', e.tuple?.src, fam) + addrXml('dst', e.tuple?.dst, fam) + '</expected>' +
    '<mask>' + addrXml('src', e.mask?.src, fam) + addrXml('dst', e.mask?.dst, fam) + '</mask>' +
    '<master>' + addrXml('src', e.master?.src, fam) + addrXml('dst', e.master?.dst, fam) + '</master>' +
    '</layer3>'
  );
}

/** <layer4> with the ports of the expected, mask and master tuples. */
function expectLayer4Xml(e: Expectation): string {
  const p = e.tuple?.protoNum ?? 0;
  return (
    '<layer4 protonum="' + p + '" protoname="' + protoName(p) + '">' +
    '<expected>' + protoXml(e.tuple) + '</expected><mask>' + protoXml(e.mask) + '</mask>' +
    '<master>' + protoXml(e.master) + '</master></layer4>'
  );
}

/** <meta> of an expectation: helper, timeout, class, zone, when, flags (libnetfilter_conntrack 1.0.9's order). */
function expectMetaXml(e: Expectation, o: ExpectXmlOptions): string {
  let s = '<meta>';
  if (e.helperName !== undefined) s += '<helper-name>' + e.helperName + '</helper-name>';
  if (e.timeout !== undefined) s += '<timeout>' + e.timeout + '</timeout>';
  if (e.class !== undefined) s += '<class>' + e.class + '</class>';
  if (e.zone !== undefined) s += '<zone>' + e.zone + '</zone>';
  if (o.when !== undefined) s += whenXml(o.when, o.utc === true);
  const flags = e.flags ?? 0;
  if (flags & NF_CT_EXPECT_PERMANENT) s += '<permanent/>';
  if (flags & NF_CT_EXPECT_INACTIVE) s += '<inactive/>';
  if (flags & NF_CT_EXPECT_USERSPACE) s += '<userspace/>';
  return s + '</meta>';
}

/** One expectation <flow> element for `conntrack -L expect -o xml`, without the newline. */
export function formatExpectXml(e: Expectation, o: ExpectXmlOptions = {}): string {
  const open = o.event && e.event !== undefined ? FLOW_OPEN[e.event] : '<flow>';
  return open + expectLayer3Xml(e) + expectLayer4Xml(e) + expectMetaXml(e, o) + '</flow>';
}
