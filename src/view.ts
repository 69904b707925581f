// Lazy, typed views over a decoded flow record: they implement the Flow and
// Tuple interfaces with getters that read WASM memory on access, so code that
// takes a Flow (the formatters, your own filters) runs without creating an
// object per message. Like RecordView they are reused: valid only until the
// decoder writes the next chunk. Keep data with toMessage() instead.
import * as L from './generated/layout';
import * as A from './generated/attrs';
import { formatIPv4, formatIPv6 } from './format/address';
import type { RecordView } from './record';
import type {
  Counters, DccpInfo, EventType, Flow, NatRange, SctpInfo, SeqAdj, Synproxy, TcpInfo, Tuple,
} from './types';
import { toFlow, tcpInfo, dccpInfo, sctpInfo } from './materialize';

const EVENTS: (EventType | undefined)[] = [undefined, 'new', 'update', 'destroy'];

/** A tuple slot (orig, reply or master) of the current record. */
export class TupleView implements Tuple {
  constructor(private readonly r: RecordView, private readonly slot: number) {}

  private get t(): number {
    return this.r.base + this.slot;
  }
  private present(bit: number): boolean {
    return (this.r.dv.getUint16(this.t + L.TUP_PRESENT, true) & bit) !== 0;
  }
  get l3proto(): number {
    return this.r.bytes[this.t + L.TUP_L3];
  }
  private addr(off: number): string {
    const t = this.t;
    return this.r.bytes[t + L.TUP_L3] === A.AF_INET6 ? formatIPv6(this.r.bytes, t + off) : formatIPv4(this.r.bytes, t + off);
  }
  get src(): string | undefined {
    return this.present(L.TP_SRC) ? this.addr(L.TUP_SRC) : undefined;
  }
  get dst(): string | undefined {
    return this.present(L.TP_DST) ? this.addr(L.TUP_DST) : undefined;
  }
  get protoNum(): number | undefined {
    return this.present(L.TP_PROTO) ? this.r.bytes[this.t + L.TUP_PROTO] : undefined;
  }
  get srcPort(): number | undefined {
    return this.present(L.TP_SPORT) ? this.r.dv.getUint16(this.t + L.TUP_SPORT, true) : undefined;
  }
  get dstPort(): number | undefined {
    return this.present(L.TP_DPORT) ? this.r.dv.getUint16(this.t + L.TUP_DPORT, true) : undefined;
  }
  get icmpId(): number | undefined {
    return this.present(L.TP_ICMP_ID | L.TP_ICMPV6_ID) ? this.r.dv.getUint16(this.t + L.TUP_ICMP_ID, true) : undefined;
  }
  get icmpType(): number | undefined {
    return this.present(L.TP_ICMP_TYPE | L.TP_ICMPV6_TYPE) ? this.r.bytes[this.t + L.TUP_ICMP_TYPE] : undefined;
  }
  get icmpCode(): number | undefined {
    return this.present(L.TP_ICMP_CODE | L.TP_ICMPV6_CODE) ? this.r.bytes[this.t + L.TUP_ICMP_CODE] : undefined;
  }
  get zone(): number | undefined {
    return this.present(L.TP_ZONE) ? this.r.dv.getUint16(this.t + L.TUP_ZONE, true) : undefined;
  }
}

/** CTA_COUNTERS_ORIG or CTA_COUNTERS_REPLY of the current record. */
export class CountersView implements Counters {
  constructor(private readonly r: RecordView, private readonly reply: boolean) {}
  get packets(): bigint | undefined {
    const bit = this.reply ? L.SUB_REPL_PACKETS : L.SUB_ORIG_PACKETS;
    return this.r.hasSub(bit) ? this.r.u64(this.reply ? L.REC_REPL_PACKETS : L.REC_ORIG_PACKETS) : undefined;
  }
  get bytes(): bigint | undefined {
    const bit = this.reply ? L.SUB_REPL_BYTES : L.SUB_ORIG_BYTES;
    return this.r.hasSub(bit) ? this.r.u64(this.reply ? L.REC_REPL_BYTES : L.REC_ORIG_BYTES) : undefined;
  }
}

/**
 * A conntrack entry read in place. Frequent fields are getters over the
 * record; the rare nested groups (NAT, seqadj, synproxy, protoinfo of DCCP
 * and SCTP, helper info, labels) are materialized on access.
 */
export class FlowView implements Flow {
  readonly kind = 'flow' as const;
  private readonly origT: TupleView;
  private readonly replyT: TupleView;
  private readonly masterT: TupleView;
  private readonly cOrig: CountersView;
  private readonly cReply: CountersView;

  constructor(private readonly r: RecordView) {
    this.origT = new TupleView(r, L.REC_TUPLE_ORIG);
    this.replyT = new TupleView(r, L.REC_TUPLE_REPLY);
    this.masterT = new TupleView(r, L.REC_TUPLE_MASTER);
    this.cOrig = new CountersView(r, false);
    this.cReply = new CountersView(r, true);
  }

  private u32If(attr: number, off: number): number | undefined {
    return this.r.has(attr) ? this.r.u32(off) : undefined;
  }

  get nlType(): number {
    return this.r.nlType;
  }
  get nlFlags(): number {
    return this.r.nlFlags;
  }
  get seq(): number {
    return this.r.seq;
  }
  get pid(): number {
    return this.r.pid;
  }
  get event(): EventType | undefined {
    return EVENTS[this.r.event];
  }
  get family(): number {
    return this.r.family;
  }
  get orig(): Tuple | undefined {
    return this.r.has(A.CTA_TUPLE_ORIG) ? this.origT : undefined;
  }
  get reply(): Tuple | undefined {
    return this.r.has(A.CTA_TUPLE_REPLY) ? this.replyT : undefined;
  }
  get master(): Tuple | undefined {
    return this.r.has(A.CTA_TUPLE_MASTER) ? this.masterT : undefined;
  }
  get status(): number | undefined {
    return this.u32If(A.CTA_STATUS, L.REC_STATUS);
  }
  get statusMask(): number | undefined {
    return this.u32If(A.CTA_STATUS_MASK, L.REC_STATUS_MASK);
  }
  get timeout(): number | undefined {
    return this.u32If(A.CTA_TIMEOUT, L.REC_TIMEOUT);
  }
  get mark(): number | undefined {
    return this.u32If(A.CTA_MARK, L.REC_MARK);
  }
  get markMask(): number | undefined {
    return this.u32If(A.CTA_MARK_MASK, L.REC_MARK_MASK);
  }
  get use(): number | undefined {
    return this.u32If(A.CTA_USE, L.REC_USE);
  }
  get id(): number | undefined {
    return this.u32If(A.CTA_ID, L.REC_ID);
  }
  get secmark(): number | undefined {
    return this.u32If(A.CTA_SECMARK, L.REC_SECMARK);
  }
  get zone(): number | undefined {
    return this.r.has(A.CTA_ZONE) ? this.r.u16(L.REC_ZONE) : undefined;
  }
  get tcp(): TcpInfo | undefined {
    return this.r.has(A.CTA_PROTOINFO) ? tcpInfo(this.r) : undefined;
  }
  get dccp(): DccpInfo | undefined {
    return this.r.has(A.CTA_PROTOINFO) ? dccpInfo(this.r) : undefined;
  }
  get sctp(): SctpInfo | undefined {
    return this.r.has(A.CTA_PROTOINFO) ? sctpInfo(this.r) : undefined;
  }
  get countersOrig(): Counters | undefined {
    return this.r.has(A.CTA_COUNTERS_ORIG) ? this.cOrig : undefined;
  }
  get countersReply(): Counters | undefined {
    return this.r.has(A.CTA_COUNTERS_REPLY) ? this.cReply : undefined;
  }
  get timestampStart(): bigint | undefined {
    return this.r.hasSub(L.SUB_TS_START) ? this.r.u64(L.REC_TS_START) : undefined;
  }
  get timestampStop(): bigint | undefined {
    return this.r.hasSub(L.SUB_TS_STOP) ? this.r.u64(L.REC_TS_STOP) : undefined;
  }
  get timestampEvent(): bigint | undefined {
    return this.r.has(A.CTA_TIMESTAMP_EVENT) ? this.r.u64(L.REC_TS_EVENT) : undefined;
  }
  get helperName(): string | undefined {
    return this.r.hasSub(L.SUB_HELP_NAME) ? toFlowGroup(this.r).helperName : undefined;
  }
  get helperInfo(): Uint8Array | undefined {
    return this.r.hasSub(L.SUB_HELP_INFO) ? toFlowGroup(this.r).helperInfo : undefined;
  }
  get secctx(): string | undefined {
    return this.r.hasSub(L.SUB_SECCTX_NAME) ? toFlowGroup(this.r).secctx : undefined;
  }
  get labels(): Uint8Array | undefined {
    return this.r.has(A.CTA_LABELS) ? toFlowGroup(this.r).labels : undefined;
  }
  get labelsMask(): Uint8Array | undefined {
    return this.r.has(A.CTA_LABELS_MASK) ? toFlowGroup(this.r).labelsMask : undefined;
  }
  get natSrc(): NatRange | undefined {
    return this.r.has(A.CTA_NAT_SRC) ? toFlowGroup(this.r).natSrc : undefined;
  }
  get natDst(): NatRange | undefined {
    return this.r.has(A.CTA_NAT_DST) ? toFlowGroup(this.r).natDst : undefined;
  }
  get seqAdjOrig(): SeqAdj | undefined {
    return this.r.has(A.CTA_SEQ_ADJ_ORIG) ? toFlowGroup(this.r).seqAdjOrig : undefined;
  }
  get seqAdjReply(): SeqAdj | undefined {
    return this.r.has(A.CTA_SEQ_ADJ_REPLY) ? toFlowGroup(this.r).seqAdjReply : undefined;
  }
  get synproxy(): Synproxy | undefined {
    return this.r.has(A.CTA_SYNPROXY) ? toFlowGroup(this.r).synproxy : undefined;
  }

  /** A plain, immutable copy that outlives the record. */
  toObject(): Flow {
    return toFlow(this.r);
  }
}

// Rare groups: materialize the record once per access (they are rare by
// definition; correctness first, one code path with toFlow).
function toFlowGroup(r: RecordView): Flow {
  return toFlow(r);
}
