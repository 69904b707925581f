// conntrack(8) text lines (-L, -G, -E; flows and expectations), byte for
// byte as conntrack-tools 1.4.7 prints them through libnetfilter_conntrack
// 1.0.9: src/conntrack/snprintf_default.c (__snprintf_conntrack_default),
// src/expect/snprintf_default.c (__snprintf_expect_default) and the
// wrappers in conntrack-tools src/conntrack.c (event_cb, mnl_nfct_dump_cb,
// dump_exp_cb, event_exp_cb).
//
// Every field is appended with its trailing blank, as the C code does, and the
// last blank is dropped at the end. Fields appear exactly when the kernel sent
// the attribute (the test_bit(ATTR_*) checks map to "field !== undefined").

import type { EventType, Expectation, Flow, Tuple } from '../types';
import { formatLabelsText, type LabelMap } from './labels';
import {
  AF_INET, AF_INET6, IPPROTO_DCCP, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP,
  IPPROTO_UDP, IPPROTO_UDPLITE, IPS_ASSURED, IPS_HW_OFFLOAD, IPS_OFFLOAD, IPS_SEEN_REPLY,
  NF_CT_EXPECT_INACTIVE, NF_CT_EXPECT_PERMANENT, NF_CT_EXPECT_USERSPACE,
  dccpStateName, l3protoName, protoName, sctpStateName, tcpStateName,
} from './names';
import { ctimeText, expectEventPrefix, flowEventPrefix, nowSec, nsToSec, ullText, type TimeVal } from './time';

/** Options of {@link formatFlowText}; each maps to a conntrack -o flag. */
export interface TextOptions {
  /** -o extended (NFCT_OF_SHOW_LAYER3): "ipv4     2 " before the protocol. */
  readonly layer3?: boolean;
  /** -o id (NFCT_OF_ID): "id=N" when CTA_ID was sent. */
  readonly id?: boolean;
  /** -o ktimestamp (NFCT_OF_TIMESTAMP): "[start=<ctime>] [stop=<ctime>]". */
  readonly ktimestamp?: boolean;
  /** -o labels with a loaded map: "labels=..." when CTA_LABELS was sent. No map, no field. */
  readonly labels?: LabelMap;
  /**
   * Event line (-E): prefix the "%9s " tag "    [NEW] " / " [UPDATE] " /
   * "[DESTROY] " from `f.event`. Dumps and GETs print no tag (NFCT_T_UNKNOWN).
   */
  readonly event?: boolean;
  /**
   * Seconds since the epoch used for delta-time when the flow has no (or a
   * zero) stop time stamp; the real tool calls time(NULL). The CLI passes the
   * capture record time when replaying. Default: the current time.
   */
  readonly now?: number;
  /**
   * -o timestamp on -E: the listener's receive time, printed before the line
   * as "[%-.8ld.%-.6ld]\t" (microseconds zero-padded to 6 digits).
   */
  readonly timestampPrefix?: TimeVal;
  /** Format ktimestamp dates in UTC instead of the process time zone (TZ), which ctime() uses. */
  readonly utc?: boolean;
  /**
   * -E in 1.4.7 tags every event whose nlmsg_pid is not 0 (caused by a
   * userspace request) with " [USERSPACE] portid=N" (+ " progname=X" when the
   * process is found in /proc). Set for event lines only.
   */
  readonly userspace?: boolean;
  /** Resolves a netlink port id to a program name for the [USERSPACE] tag. */
  readonly progname?: (portid: number) => string | undefined;
}

/** Options of {@link formatExpectText}. */
export interface ExpectTextOptions {
  /** Event line (-E expect): the "%9s " tag from `e.event`. */
  readonly event?: boolean;
  /**
   * -o timestamp: "[%-8ld.%-6ld]\t" before the line (conntrack 1.4.7 prints
   * this for expectation dumps and events alike; space-padded, not zero-padded).
   */
  readonly timestampPrefix?: TimeVal;
}

const EVENT_TAGS: Readonly<Record<EventType, string>> = {
  new: '    [NEW] ',
  update: ' [UPDATE] ',
  destroy: '[DESTROY] ',
};

/** "%-8s " of a name: left-justified in 8 columns, then a blank. */
function col8(name: string): string {
  return name.length >= 8 ? name + ' ' : name + '        '.slice(name.length) + ' ';
}

/**
 * "src=A dst=B " (__snprintf_address), printed according to the tuple's
 * l3protonum, which the library sets to nfgen_family when the tuple
 * attribute is present: nothing for other families or for an absent conntrack
 * tuple (pass family 0). Expectation tuples always carry the family
 * (__parse_expect), so a missing one prints zero addresses.
 */
function addressText(t: Tuple | undefined, family: number, srcTag: string, dstTag: string): string {
  if (family === AF_INET) {
    return srcTag + '=' + (t?.src ?? '0.0.0.0') + ' ' + dstTag + '=' + (t?.dst ?? '0.0.0.0') + ' ';
  }
  if (family === AF_INET6) {
    return srcTag + '=' + (t?.src ?? '::') + ' ' + dstTag + '=' + (t?.dst ?? '::') + ' ';
  }
  return '';
}

/** Layer 4 part of a tuple (__snprintf_proto); nothing for other protocols. */
function protoText(t: Tuple | undefined): string {
  if (t === undefined) return '';
  switch (t.protoNum) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
    case IPPROTO_SCTP:
    case IPPROTO_DCCP:
      return 'sport=' + (t.srcPort ?? 0) + ' dport=' + (t.dstPort ?? 0) + ' ';
    case IPPROTO_GRE:
      return 'srckey=0x' + (t.srcPort ?? 0).toString(16) + ' dstkey=0x' + (t.dstPort ?? 0).toString(16) + ' ';
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return 'type=' + (t.icmpType ?? 0) + ' code=' + (t.icmpCode ?? 0) + ' id=' + (t.icmpId ?? 0) + ' ';
    default:
      return '';
  }
}

/** Protocol states (TCP, SCTP, DCCP), each when its state attribute was sent. */
function statesText(f: Flow): string {
  let s = '';
  if (f.tcp?.state !== undefined) s += tcpStateName(f.tcp.state) + ' ';
  if (f.sctp?.state !== undefined) s += sctpStateName(f.sctp.state) + ' ';
  if (f.dccp?.state !== undefined) s += dccpStateName(f.dccp.state) + ' ';
  return s;
}

/** "packets=N bytes=N " when both counters of the direction were sent. */
function countersText(c: Flow['countersOrig']): string {
  if (c === undefined || c.packets === undefined || c.bytes === undefined) return '';
  return 'packets=' + c.packets + ' bytes=' + c.bytes + ' ';
}

/** [HW_OFFLOAD] beats [OFFLOAD] beats [ASSURED] (__snprintf_status_assured). */
function assuredText(status: number): string {
  if (status & IPS_HW_OFFLOAD) return '[HW_OFFLOAD] ';
  if (status & IPS_OFFLOAD) return '[OFFLOAD] ';
  if (status & IPS_ASSURED) return '[ASSURED] ';
  return '';
}

/**
 * "delta-time=N ": (stop or now)/1s - start/1s with each side truncated to
 * whole seconds first; "now" is used when the stop stamp is absent or zero
 * (the C code tests the value, not the attribute). A negative difference is
 * printed through %llu and wraps to 2^64 - n.
 */
function deltaTimeText(start: bigint, stop: bigint | undefined, now: number | undefined): string {
  const stopSec = stop === undefined || stop === 0n ? (now ?? nowSec()) : nsToSec(stop);
  return 'delta-time=' + ullText(stopSec - nsToSec(start)) + ' ';
}

/** "[start=...] [stop=...] " in ctime() format. */
function ktimestampText(f: Flow, utc: boolean): string {
  let s = '';
  if (f.timestampStart !== undefined) s += '[start=' + ctimeText(nsToSec(f.timestampStart), utc) + '] ';
  if (f.timestampStop !== undefined) s += '[stop=' + ctimeText(nsToSec(f.timestampStop), utc) + '] ';
  return s;
}

/** mark, secmark, secctx, zone, delta-time, ktimestamp, helper, use, id, labels. */
function metaText(f: Flow, o: TextOptions): string {
  let s = '';
  if (f.mark !== undefined) s += 'mark=' + f.mark + ' ';
  if (f.secmark !== undefined) s += 'secmark=' + f.secmark + ' ';
  if (f.secctx !== undefined) s += 'secctx=' + f.secctx + ' ';
  if (f.zone !== undefined) s += 'zone=' + f.zone + ' ';
  if (f.timestampStart !== undefined) s += deltaTimeText(f.timestampStart, f.timestampStop, o.now);
  if (o.ktimestamp) s += ktimestampText(f, o.utc === true);
  if (f.helperName !== undefined) s += 'helper=' + f.helperName + ' ';
  if (f.use !== undefined) s += 'use=' + f.use + ' ';
  if (o.id && f.id !== undefined) s += 'id=' + f.id + ' ';
  if (o.labels !== undefined && f.labels !== undefined) s += formatLabelsText(f.labels, o.labels);
  return s;
}

/** " [USERSPACE] portid=N[ progname=X]" for events caused by a userspace request. */
function userspaceText(pid: number, progname: TextOptions['progname']): string {
  if (pid === 0) return '';
  const prog = progname?.(pid);
  return ' [USERSPACE] portid=' + pid + (prog ? ' progname=' + prog : '');
}

/**
 * One conntrack line for `conntrack -L` / `-G` / `-E`, without the newline.
 *
 * Quirk kept: libnetfilter_conntrack 1.0.9 refuses to print an entry whose
 * original tuple has no CTA_PROTO_NUM (__snprintf_protocol returns -1 and
 * conntrack prints a stale buffer); this returns "" for such an entry.
 */
export function formatFlowText(f: Flow, o: TextOptions = {}): string {
  const orig = f.orig;
  if (orig === undefined || orig.protoNum === undefined) return '';
  const family = f.family;
  let s = o.timestampPrefix ? flowEventPrefix(o.timestampPrefix) : '';
  if (o.event && f.event !== undefined) s += EVENT_TAGS[f.event];
  if (o.layer3) s += col8(l3protoName(family)) + family + ' ';
  s += col8(protoName(orig.protoNum)) + orig.protoNum + ' ';
  if (f.timeout !== undefined) s += f.timeout + ' ';
  s += statesText(f);
  s += addressText(orig, family, 'src', 'dst') + protoText(orig);
  if (orig.zone !== undefined) s += 'zone-orig=' + orig.zone + ' ';
  s += countersText(f.countersOrig);
  if (f.status !== undefined && (f.status & IPS_SEEN_REPLY) === 0) s += '[UNREPLIED] ';
  const reply = f.reply;
  s += addressText(reply, reply === undefined ? 0 : family, 'src', 'dst') + protoText(reply);
  if (reply?.zone !== undefined) s += 'zone-reply=' + reply.zone + ' ';
  s += countersText(f.countersReply);
  if (f.status !== undefined) s += assuredText(f.status);
  s += metaText(f, o);
  s = s.slice(0, -1);
  if (o.userspace) s += userspaceText(f.pid, o.progname);
  return s;
}

/** "PERMANENT,INACTIVE,USERSPACE " part of an expectation line. */
function expectFlagsText(flags: number): string {
  let s = '';
  let delim = '';
  if (flags & NF_CT_EXPECT_PERMANENT) {
    s += 'PERMANENT';
    delim = ',';
  }
  if (flags & NF_CT_EXPECT_INACTIVE) {
    s += delim + 'INACTIVE';
    delim = ',';
  }
  if (flags & NF_CT_EXPECT_USERSPACE) s += delim + 'USERSPACE';
  // Quirk kept: any non-zero flag word adds the blank, even unknown bits alone.
  return flags !== 0 ? s + ' ' : s;
}

/**
 * One expectation line for `conntrack -L expect` / `-G expect` /
 * `-E expect`, without the newline:
 * "[tag ]<timeout> proto=P src=.. dst=.. sport=.. dport=.. mask-src=.. ..
 *  master-src=.. .. [zone=Z ][FLAGS ][class=C ][helper=H]".
 * All three tuples are printed in the message's family (the library sets
 * their l3protonum from nfgen_family); a missing tuple prints as zeros.
 */
export function formatExpectText(e: Expectation, o: ExpectTextOptions = {}): string {
  const family = e.family;
  let s = o.timestampPrefix ? expectEventPrefix(o.timestampPrefix) : '';
  if (o.event && e.event !== undefined) s += EVENT_TAGS[e.event];
  if (e.timeout !== undefined) s += e.timeout + ' ';
  s += 'proto=' + (e.tuple?.protoNum ?? 0) + ' ';
  s += addressText(e.tuple, family, 'src', 'dst') + protoText(e.tuple);
  s += addressText(e.mask, family, 'mask-src', 'mask-dst') + protoText(e.mask);
  s += addressText(e.master, family, 'master-src', 'master-dst') + protoText(e.master);
  if (e.zone !== undefined) s += 'zone=' + e.zone + ' ';
  s += expectFlagsText(e.flags ?? 0);
  if (e.class !== undefined) s += 'class=' + e.class + ' ';
  if (e.helperName !== undefined) s += 'helper=' + e.helperName;
  return s.endsWith(' ') ? s.slice(0, -1) : s;
}
