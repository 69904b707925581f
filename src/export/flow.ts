// The exporter's input: one record per conntrack entry and moment (start,
// active-timeout update, end), with both directions and delta and total
// counters. Anything that knows flows can feed the IPFIX and NDJSON outputs
// with these (the FlowTracker builds them from ctnetlink events and dumps; a
// flow logger can build them from its own flow events).
import type { Counters, Flow, Tuple } from '../types';

/**
 * The moment an {@link ExportFlow} describes: the flow was first seen
 * ('start'), is still active after the active timeout ('update'), or ended ('end').
 */
export type ExportEvent = 'start' | 'update' | 'end';

/** Why a record was exported (IPFIX flowEndReason, RFC 5102 names). */
export type ExportReason = 'idle-timeout' | 'active-timeout' | 'end-of-flow' | 'forced-end' | 'lack-of-resources';

/** One direction's tuple. ICMP flows carry type/code instead of ports. */
export interface ExportEndpoint {
  /** Source address (CTA_IP_V4_SRC / CTA_IP_V6_SRC); '' when absent. */
  readonly src: string;
  /** Destination address (CTA_IP_V4_DST / CTA_IP_V6_DST); '' when absent. */
  readonly dst: string;
  /** CTA_PROTO_SRC_PORT (TCP, UDP, SCTP, DCCP, UDP-Lite; GRE key). */
  readonly srcPort?: number;
  /** CTA_PROTO_DST_PORT. */
  readonly dstPort?: number;
  /** CTA_PROTO_ICMP_TYPE / CTA_PROTO_ICMPV6_TYPE. */
  readonly icmpType?: number;
  /** CTA_PROTO_ICMP_CODE / CTA_PROTO_ICMPV6_CODE. */
  readonly icmpCode?: number;
}

/** Packet and byte counters of one direction (0 when conntrack accounting is off). */
export interface ExportCounters {
  /** Packets (CTA_COUNTERS_PACKETS). */
  readonly packets: bigint;
  /** Bytes (CTA_COUNTERS_BYTES). */
  readonly bytes: bigint;
}

/**
 * One export record: a conntrack entry at one moment (start, active-timeout
 * update, end), with both directions and delta and total counters. The input
 * of the IPFIX and NDJSON outputs; build one with {@link exportFlowOf}.
 */
export interface ExportFlow {
  /** Which moment of the flow this record describes. */
  readonly event: ExportEvent;
  /** Set on 'update' (active-timeout) and 'end'. */
  readonly reason?: ExportReason;
  /** CTA_ID (the conntrack id), exported as flowId. */
  readonly id: number;
  /** Address family of the original tuple. */
  readonly family: 'ipv4' | 'ipv6';
  /** IPPROTO_* */
  readonly protocol: number;
  /** Original direction as the initiator sent it (CTA_TUPLE_ORIG). */
  readonly orig: ExportEndpoint;
  /** Reply direction as the responder sends it (CTA_TUPLE_REPLY): differs from the swapped orig tuple when NATed. */
  readonly reply: ExportEndpoint;
  /** The reply tuple is not the swapped orig tuple (source and/or destination NAT). */
  readonly nat: boolean;
  /** Counters since the flow started (CTA_COUNTERS_ORIG / _REPLY). */
  readonly total: {
    /** Original direction (initiator to responder). */
    readonly orig: ExportCounters;
    /** Reply direction (responder to initiator). */
    readonly reply: ExportCounters;
  };
  /** Counters since the previous record of this flow. */
  readonly delta: {
    /** Original direction (initiator to responder). */
    readonly orig: ExportCounters;
    /** Reply direction (responder to initiator). */
    readonly reply: ExportCounters;
  };
  /** Flow start, ms since the epoch (CTA_TIMESTAMP_START, else when first seen). */
  readonly startMs: number;
  /** Flow end (CTA_TIMESTAMP_STOP) for 'end'; the observation time otherwise. */
  readonly endMs: number;
  /** CTA_ZONE, when the entry has one. */
  readonly zone?: number;
  /** CTA_MARK, when the entry has one. */
  readonly mark?: number;
  /** Ingress/egress as seen by this host, when the source knows it (a flow logger does; raw conntrack does not). */
  readonly direction?: 'ingress' | 'egress';
}

export const ZERO: ExportCounters = Object.freeze({ packets: 0n, bytes: 0n });

export function endpointOf(t: Tuple | undefined): ExportEndpoint {
  const e: { -readonly [K in keyof ExportEndpoint]: ExportEndpoint[K] } = { src: t?.src ?? '', dst: t?.dst ?? '' };
  if (t?.srcPort !== undefined) e.srcPort = t.srcPort;
  if (t?.dstPort !== undefined) e.dstPort = t.dstPort;
  if (t?.icmpType !== undefined) e.icmpType = t.icmpType;
  if (t?.icmpCode !== undefined) e.icmpCode = t.icmpCode;
  return e;
}

export function countersOf(c: Counters | undefined): ExportCounters {
  return { packets: c?.packets ?? 0n, bytes: c?.bytes ?? 0n };
}

export function minus(a: ExportCounters, b: ExportCounters): ExportCounters {
  // A counter that went backwards was zeroed (CTRZERO): count from zero.
  const packets = a.packets >= b.packets ? a.packets - b.packets : a.packets;
  const bytes = a.bytes >= b.bytes ? a.bytes - b.bytes : a.bytes;
  return { packets, bytes };
}

/** NATed: the reply tuple is not the mirror of the original tuple. */
export function isNat(orig: ExportEndpoint, reply: ExportEndpoint): boolean {
  return orig.src !== reply.dst || orig.dst !== reply.src || (orig.srcPort ?? 0) !== (reply.dstPort ?? 0) || (orig.dstPort ?? 0) !== (reply.srcPort ?? 0);
}

const TCP_CONNTRACK_FIN_WAIT = 4;
const TCP_CONNTRACK_TIME_WAIT = 7;
const TCP_CONNTRACK_CLOSE = 8;

/**
 * Why conntrack ended an entry: a TCP connection that saw FIN or RST ended
 * (end-of-flow); everything else timed out idle. (A `conntrack -D` looks the
 * same as a timeout: the destroy event does not say who removed the entry.)
 */
export function endReasonOf(f: Flow): ExportReason {
  const s = f.tcp?.state;
  if (f.orig?.protoNum === 6 && s !== undefined && s >= TCP_CONNTRACK_FIN_WAIT && s <= TCP_CONNTRACK_CLOSE) return 'end-of-flow';
  return 'idle-timeout';
}

const nsToMs = (ns: bigint): number => Number(ns / 1_000_000n);

/** Build an ExportFlow from a conntrack entry and the counters already exported for it. */
export function exportFlowOf(
  f: Flow,
  event: ExportEvent,
  opts: { reason?: ExportReason; previous?: { orig: ExportCounters; reply: ExportCounters }; firstSeenMs?: number; nowMs: number },
): ExportFlow {
  const orig = endpointOf(f.orig);
  const reply = endpointOf(f.reply);
  const total = { orig: countersOf(f.countersOrig), reply: countersOf(f.countersReply) };
  const prev = opts.previous ?? { orig: ZERO, reply: ZERO };
  const startMs = f.timestampStart !== undefined && f.timestampStart > 0n ? nsToMs(f.timestampStart) : (opts.firstSeenMs ?? opts.nowMs);
  const endMs = event === 'end' && f.timestampStop !== undefined && f.timestampStop > 0n ? nsToMs(f.timestampStop) : opts.nowMs;
  const out: { -readonly [K in keyof ExportFlow]: ExportFlow[K] } = {
    event,
    id: f.id ?? 0,
    family: (f.orig?.l3proto ?? f.family) === 10 ? 'ipv6' : 'ipv4',
    protocol: f.orig?.protoNum ?? 0,
    orig,
    reply,
    nat: isNat(orig, reply),
    total,
    delta: { orig: minus(total.orig, prev.orig), reply: minus(total.reply, prev.reply) },
    startMs,
    endMs: Math.max(endMs, startMs),
  };
  if (opts.reason !== undefined) out.reason = opts.reason;
  if (f.zone !== undefined) out.zone = f.zone;
  if (f.mark !== undefined) out.mark = f.mark;
  return out;
}
