// Templates (RFC 7011 section 3.4.1) and the direction records written with
// them. One conntrack entry gives up to two IPFIX flow records (IPFIX flows
// are unidirectional): the original direction (biflowDirection initiator)
// and the reply direction (reverseInitiator), both with flowId = CTA_ID.
// The template depends on the record's shape: address family, NAT (post-NAT
// fields only when translated) and whether flowDirection is known.
import { parseAddress } from '../../encode';
import type { ExportCounters, ExportEndpoint, ExportFlow, ExportReason } from '../flow';
import { BIFLOW_DIRECTION, FLOW_END_REASON, IE, PEN_IE, type FieldSpec } from './elements';

export interface Template {
  readonly id: number;
  readonly key: string;
  readonly fields: readonly FieldSpec[];
  /** Bytes of one data record. */
  readonly recordLength: number;
  /** Bytes of the template record (header, field specifiers, enterprise numbers). */
  readonly templateLength: number;
}

export interface Shape {
  readonly ipv6: boolean;
  readonly nat: boolean;
  readonly direction: boolean;
}

export function shapeKey(s: Shape): string {
  return `${s.ipv6 ? 'v6' : 'v4'}${s.nat ? '-nat' : ''}${s.direction ? '-dir' : ''}`;
}

/** The fields of a shape, in record order. */
export function fieldsOf(s: Shape): FieldSpec[] {
  const v6 = s.ipv6;
  const f: FieldSpec[] = [
    IE.flowId,
    v6 ? IE.sourceIPv6Address : IE.sourceIPv4Address,
    v6 ? IE.destinationIPv6Address : IE.destinationIPv4Address,
    IE.sourceTransportPort,
    IE.destinationTransportPort,
    IE.protocolIdentifier,
    v6 ? IE.icmpTypeCodeIPv6 : IE.icmpTypeCodeIPv4,
    // totals before deltas: nfdump keeps the last counter of a kind it
    // reads, and a collector must add up deltas, not totals
    IE.octetTotalCount,
    IE.packetTotalCount,
    IE.octetDeltaCount,
    IE.packetDeltaCount,
    IE.flowStartMilliseconds,
    IE.flowEndMilliseconds,
    IE.flowEndReason,
    IE.biflowDirection,
  ];
  if (s.direction) f.push(IE.flowDirection);
  if (s.nat) {
    f.push(
      v6 ? IE.postNATSourceIPv6Address : IE.postNATSourceIPv4Address,
      v6 ? IE.postNATDestinationIPv6Address : IE.postNATDestinationIPv4Address,
      IE.postNAPTSourceTransportPort,
      IE.postNAPTDestinationTransportPort,
    );
  }
  f.push(PEN_IE.conntrackMark, PEN_IE.conntrackZone);
  return f;
}

export function makeTemplate(id: number, s: Shape): Template {
  const fields = fieldsOf(s);
  const recordLength = fields.reduce((n, x) => n + x.length, 0);
  const templateLength = 4 + fields.reduce((n, x) => n + (x.enterprise ? 8 : 4), 0);
  return { id, key: shapeKey(s), fields, recordLength, templateLength };
}

/** Write a Template Record at `off`; returns the new offset. */
export function writeTemplateRecord(buf: Buffer, off: number, t: Template, pen: number): number {
  off = buf.writeUInt16BE(t.id, off);
  off = buf.writeUInt16BE(t.fields.length, off);
  for (const f of t.fields) {
    // the enterprise bit is the top bit of the element id
    off = buf.writeUInt16BE(f.enterprise ? 0x8000 | f.id : f.id, off);
    off = buf.writeUInt16BE(f.length, off);
    if (f.enterprise) off = buf.writeUInt32BE(pen >>> 0, off);
  }
  return off;
}

/** One unidirectional record: the values a template's fields read, by element name. */
export type DirectionRecord = Readonly<Record<string, number | bigint | string>>;

const REASON: Record<ExportReason, number> = {
  'idle-timeout': FLOW_END_REASON.idleTimeout,
  'active-timeout': FLOW_END_REASON.activeTimeout,
  'end-of-flow': FLOW_END_REASON.endOfFlowDetected,
  'forced-end': FLOW_END_REASON.forcedEnd,
  'lack-of-resources': FLOW_END_REASON.lackOfResources,
};

function icmpTypeCode(e: ExportEndpoint): number {
  return e.icmpType !== undefined ? ((e.icmpType & 0xff) << 8) | ((e.icmpCode ?? 0) & 0xff) : 0;
}

function direction(f: ExportFlow, reverse: boolean): Record<string, number | bigint | string> {
  // The reply direction's packets travel reply.src -> reply.dst; after NAT
  // they leave with the orig tuple mirrored (and the other way round).
  const pre = reverse ? f.reply : f.orig;
  const post = reverse ? f.orig : f.reply;
  const total: ExportCounters = reverse ? f.total.reply : f.total.orig;
  const delta: ExportCounters = reverse ? f.delta.reply : f.delta.orig;
  const v6 = f.family === 'ipv6';
  const r: Record<string, number | bigint | string> = {
    flowId: BigInt(f.id >>> 0),
    [v6 ? 'sourceIPv6Address' : 'sourceIPv4Address']: pre.src,
    [v6 ? 'destinationIPv6Address' : 'destinationIPv4Address']: pre.dst,
    sourceTransportPort: pre.srcPort ?? 0,
    destinationTransportPort: pre.dstPort ?? 0,
    protocolIdentifier: f.protocol,
    [v6 ? 'icmpTypeCodeIPv6' : 'icmpTypeCodeIPv4']: icmpTypeCode(pre),
    octetDeltaCount: delta.bytes,
    packetDeltaCount: delta.packets,
    octetTotalCount: total.bytes,
    packetTotalCount: total.packets,
    flowStartMilliseconds: BigInt(Math.trunc(f.startMs)),
    flowEndMilliseconds: BigInt(Math.trunc(f.endMs)),
    flowEndReason: f.reason !== undefined ? REASON[f.reason] : 0,
    biflowDirection: reverse ? BIFLOW_DIRECTION.reverseInitiator : BIFLOW_DIRECTION.initiator,
    conntrackMark: f.mark ?? 0,
    conntrackZone: f.zone ?? 0,
  };
  if (f.direction !== undefined) {
    // flowDirection is the host's view of the initiator's packets; the reply flips it
    const ingress = f.direction === 'ingress' ? !reverse : reverse;
    r.flowDirection = ingress ? 0 : 1;
  }
  if (f.nat) {
    r[v6 ? 'postNATSourceIPv6Address' : 'postNATSourceIPv4Address'] = post.dst;
    r[v6 ? 'postNATDestinationIPv6Address' : 'postNATDestinationIPv4Address'] = post.src;
    r.postNAPTSourceTransportPort = post.dstPort ?? 0;
    r.postNAPTDestinationTransportPort = post.srcPort ?? 0;
  }
  return r;
}

/**
 * The IPFIX records of an export flow: the original direction whenever it
 * has new packets or the flow ended, the reply direction whenever it has
 * new packets.
 */
export function directionRecords(f: ExportFlow): { shape: Shape; record: DirectionRecord }[] {
  const shape: Shape = { ipv6: f.family === 'ipv6', nat: f.nat, direction: f.direction !== undefined };
  const out: { shape: Shape; record: DirectionRecord }[] = [];
  if (f.delta.orig.packets > 0n || f.event === 'end' || f.event === 'start') out.push({ shape, record: direction(f, false) });
  if (f.delta.reply.packets > 0n) out.push({ shape, record: direction(f, true) });
  return out;
}

/** Write a Data Record at `off` with template `t`; returns the new offset. */
export function writeDataRecord(buf: Buffer, off: number, t: Template, r: DirectionRecord): number {
  for (const f of t.fields) {
    const v = r[f.name] ?? 0;
    if (f.type === 'unsigned') {
      off = writeUnsigned(buf, off, f.length, v as number | bigint);
    } else {
      const a = addressBytes(v);
      // missing, malformed or of the other family: zeros, never a short record or a throw
      if (!a || a.length !== f.length) buf.fill(0, off, off + f.length);
      else buf.set(a, off);
      off += f.length;
    }
  }
  return off;
}

function addressBytes(v: unknown): Uint8Array | undefined {
  try {
    return parseAddress(v, 'address').bytes;
  } catch {
    return undefined;
  }
}

function writeUnsigned(buf: Buffer, off: number, len: number, v: number | bigint): number {
  switch (len) {
    case 1: return buf.writeUInt8(Number(v) & 0xff, off);
    case 2: return buf.writeUInt16BE(Number(v) & 0xffff, off);
    case 4: return buf.writeUInt32BE(Number(v) >>> 0, off);
    default: return buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)), off);
  }
}
