// Public, immutable shapes of decoded ctnetlink messages.
//
// Every optional field is present exactly when the kernel sent the attribute
// named in its comment. Addresses are strings (inet_ntop form); 64-bit
// quantities (counters, nanosecond timestamps, DCCP handshake sequence) are
// bigint because they can exceed Number.MAX_SAFE_INTEGER; 32-bit and smaller
// values are numbers.

/** Event kind derived from nlmsg_type and nlmsg_flags like libnetfilter_conntrack. */
export type EventType = 'new' | 'update' | 'destroy';

/** CTA_TUPLE_*: one direction of a connection (or an expectation tuple/mask). */
export interface Tuple {
  /** Address family of CTA_TUPLE_IP: 2 (AF_INET) or 10 (AF_INET6); 0 when absent. */
  readonly l3proto: number;
  /** CTA_IP_V4_SRC / CTA_IP_V6_SRC */
  readonly src?: string;
  /** CTA_IP_V4_DST / CTA_IP_V6_DST */
  readonly dst?: string;
  /** CTA_PROTO_NUM (IPPROTO_*) */
  readonly protoNum?: number;
  /** CTA_PROTO_SRC_PORT; for GRE the source key */
  readonly srcPort?: number;
  /** CTA_PROTO_DST_PORT; for GRE the destination key */
  readonly dstPort?: number;
  /** CTA_PROTO_ICMP_ID / CTA_PROTO_ICMPV6_ID */
  readonly icmpId?: number;
  /** CTA_PROTO_ICMP_TYPE / CTA_PROTO_ICMPV6_TYPE */
  readonly icmpType?: number;
  /** CTA_PROTO_ICMP_CODE / CTA_PROTO_ICMPV6_CODE */
  readonly icmpCode?: number;
  /** CTA_TUPLE_ZONE */
  readonly zone?: number;
}

/** CTA_COUNTERS_ORIG / CTA_COUNTERS_REPLY */
export interface Counters {
  /** CTA_COUNTERS_PACKETS (or CTA_COUNTERS32_PACKETS) */
  readonly packets?: bigint;
  /** CTA_COUNTERS_BYTES (or CTA_COUNTERS32_BYTES) */
  readonly bytes?: bigint;
}

/** CTA_PROTOINFO_TCP */
export interface TcpInfo {
  /** CTA_PROTOINFO_TCP_STATE (TCP_CONNTRACK_*) */
  readonly state?: number;
  /** CTA_PROTOINFO_TCP_WSCALE_ORIGINAL */
  readonly wscaleOriginal?: number;
  /** CTA_PROTOINFO_TCP_WSCALE_REPLY */
  readonly wscaleReply?: number;
  /** CTA_PROTOINFO_TCP_FLAGS_ORIGINAL (struct nf_ct_tcp_flags) */
  readonly flagsOriginal?: {
    /** IP_CT_TCP_FLAG_* bits of the original direction */
    readonly flags: number;
    /** which of `flags` are meaningful (set on requests) */
    readonly mask: number;
  };
  /** CTA_PROTOINFO_TCP_FLAGS_REPLY */
  readonly flagsReply?: {
    /** IP_CT_TCP_FLAG_* bits of the reply direction */
    readonly flags: number;
    /** which of `flags` are meaningful (set on requests) */
    readonly mask: number;
  };
}

/** CTA_PROTOINFO_DCCP */
export interface DccpInfo {
  /** CTA_PROTOINFO_DCCP_STATE */
  readonly state?: number;
  /** CTA_PROTOINFO_DCCP_ROLE */
  readonly role?: number;
  /** CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ */
  readonly handshakeSeq?: bigint;
}

/** CTA_PROTOINFO_SCTP */
export interface SctpInfo {
  /** CTA_PROTOINFO_SCTP_STATE */
  readonly state?: number;
  /** CTA_PROTOINFO_SCTP_VTAG_ORIGINAL */
  readonly vtagOriginal?: number;
  /** CTA_PROTOINFO_SCTP_VTAG_REPLY */
  readonly vtagReply?: number;
}

/** CTA_NAT_SRC / CTA_NAT_DST (requests; the kernel does not dump them) */
export interface NatRange {
  /** CTA_NAT_V4_MINIP / CTA_NAT_V6_MINIP */
  readonly minIp?: string;
  /** CTA_NAT_V4_MAXIP / CTA_NAT_V6_MAXIP */
  readonly maxIp?: string;
  /** CTA_NAT_PROTO / CTA_PROTONAT_PORT_MIN */
  readonly minPort?: number;
  /** CTA_NAT_PROTO / CTA_PROTONAT_PORT_MAX */
  readonly maxPort?: number;
}

/** CTA_SEQ_ADJ_ORIG / CTA_SEQ_ADJ_REPLY */
export interface SeqAdj {
  /** CTA_SEQADJ_CORRECTION_POS */
  readonly correctionPos?: number;
  /** CTA_SEQADJ_OFFSET_BEFORE */
  readonly offsetBefore?: number;
  /** CTA_SEQADJ_OFFSET_AFTER */
  readonly offsetAfter?: number;
}

/** CTA_SYNPROXY */
export interface Synproxy {
  /** CTA_SYNPROXY_ISN */
  readonly isn?: number;
  /** CTA_SYNPROXY_ITS */
  readonly its?: number;
  /** CTA_SYNPROXY_TSOFF */
  readonly tsoff?: number;
}

/** Netlink header fields every decoded message carries. */
export interface MessageHeader {
  /** nlmsg_type */
  readonly nlType: number;
  /** nlmsg_flags */
  readonly nlFlags: number;
  /** nlmsg_seq */
  readonly seq: number;
  /** nlmsg_pid (the requester's port id for replies, 0 for packet-caused events) */
  readonly pid: number;
}

/** A conntrack entry (IPCTNL_MSG_CT_NEW / _DELETE, dump and GET replies, events). */
export interface Flow extends MessageHeader {
  /** Discriminant of {@link Message}: a conntrack entry. */
  readonly kind: 'flow';
  /** Event kind; absent on dump and GET replies (multipart, NLM_F_MULTI), which are entries, not events. */
  readonly event?: EventType;
  /** nfgenmsg.nfgen_family */
  readonly family: number;
  /** CTA_TUPLE_ORIG */
  readonly orig?: Tuple;
  /** CTA_TUPLE_REPLY */
  readonly reply?: Tuple;
  /** CTA_TUPLE_MASTER */
  readonly master?: Tuple;
  /** CTA_STATUS (IPS_* bits) */
  readonly status?: number;
  /** CTA_STATUS_MASK */
  readonly statusMask?: number;
  /** CTA_TIMEOUT (seconds) */
  readonly timeout?: number;
  /** CTA_MARK */
  readonly mark?: number;
  /** CTA_MARK_MASK */
  readonly markMask?: number;
  /** CTA_USE */
  readonly use?: number;
  /** CTA_ID */
  readonly id?: number;
  /** CTA_SECMARK */
  readonly secmark?: number;
  /** CTA_ZONE */
  readonly zone?: number;
  /** CTA_PROTOINFO_TCP */
  readonly tcp?: TcpInfo;
  /** CTA_PROTOINFO_DCCP */
  readonly dccp?: DccpInfo;
  /** CTA_PROTOINFO_SCTP */
  readonly sctp?: SctpInfo;
  /** CTA_COUNTERS_ORIG */
  readonly countersOrig?: Counters;
  /** CTA_COUNTERS_REPLY */
  readonly countersReply?: Counters;
  /** CTA_TIMESTAMP_START (ns, CLOCK_REALTIME) */
  readonly timestampStart?: bigint;
  /** CTA_TIMESTAMP_STOP (ns) */
  readonly timestampStop?: bigint;
  /** CTA_TIMESTAMP_EVENT (ns, events only, Linux 6.x) */
  readonly timestampEvent?: bigint;
  /** CTA_HELP_NAME */
  readonly helperName?: string;
  /** CTA_HELP_INFO */
  readonly helperInfo?: Uint8Array;
  /** CTA_SECCTX_NAME */
  readonly secctx?: string;
  /** CTA_LABELS (bitmap, bit n = label n) */
  readonly labels?: Uint8Array;
  /** CTA_LABELS_MASK */
  readonly labelsMask?: Uint8Array;
  /** CTA_NAT_SRC */
  readonly natSrc?: NatRange;
  /** CTA_NAT_DST */
  readonly natDst?: NatRange;
  /** CTA_SEQ_ADJ_ORIG */
  readonly seqAdjOrig?: SeqAdj;
  /** CTA_SEQ_ADJ_REPLY */
  readonly seqAdjReply?: SeqAdj;
  /** CTA_SYNPROXY */
  readonly synproxy?: Synproxy;
}

/** An expectation (IPCTNL_MSG_EXP_NEW / _DELETE, dump replies, events). */
export interface Expectation extends MessageHeader {
  /** Discriminant of {@link Message}: an expectation. */
  readonly kind: 'expect';
  /** Event kind; absent on dump and GET replies, which are entries, not events. */
  readonly event?: EventType;
  /** nfgenmsg.nfgen_family */
  readonly family: number;
  /** CTA_EXPECT_MASTER */
  readonly master?: Tuple;
  /** CTA_EXPECT_TUPLE */
  readonly tuple?: Tuple;
  /** CTA_EXPECT_MASK */
  readonly mask?: Tuple;
  /** CTA_EXPECT_TIMEOUT (seconds) */
  readonly timeout?: number;
  /** CTA_EXPECT_ID */
  readonly id?: number;
  /** CTA_EXPECT_HELP_NAME */
  readonly helperName?: string;
  /** CTA_EXPECT_ZONE */
  readonly zone?: number;
  /** CTA_EXPECT_FLAGS (NF_CT_EXPECT_*) */
  readonly flags?: number;
  /** CTA_EXPECT_CLASS */
  readonly class?: number;
  /** CTA_EXPECT_NAT: CTA_EXPECT_NAT_DIR and CTA_EXPECT_NAT_TUPLE */
  readonly nat?: {
    /** CTA_EXPECT_NAT_DIR: the direction (0 original, 1 reply) the NAT applies to */
    readonly dir?: number;
    /** CTA_EXPECT_NAT_TUPLE */
    readonly tuple?: Tuple;
  };
  /** CTA_EXPECT_FN */
  readonly fn?: string;
}

/** IPCTNL_MSG_CT_GET_STATS_CPU reply: one per CPU (CTA_STATS_*). */
export interface CpuStats extends MessageHeader {
  /** Discriminant of {@link Message}: per-CPU conntrack statistics. */
  readonly kind: 'stats-cpu';
  /** nfgenmsg.res_id */
  readonly cpu: number;
  /** CTA_STATS_SEARCHED (no longer used by the kernel; 0 or absent) */
  readonly searched?: number;
  /** CTA_STATS_FOUND: the kernel's `found` counter (lookups that hit an existing entry) */
  readonly found?: number;
  /** CTA_STATS_NEW (no longer used by the kernel) */
  readonly new?: number;
  /** CTA_STATS_INVALID: packets conntrack could not track */
  readonly invalid?: number;
  /** CTA_STATS_IGNORE (no longer used by the kernel) */
  readonly ignore?: number;
  /** CTA_STATS_DELETE (no longer used by the kernel) */
  readonly delete?: number;
  /** CTA_STATS_DELETE_LIST (no longer used by the kernel) */
  readonly deleteList?: number;
  /** CTA_STATS_INSERT: entries inserted */
  readonly insert?: number;
  /** CTA_STATS_INSERT_FAILED: inserts that failed (e.g. a clash) */
  readonly insertFailed?: number;
  /** CTA_STATS_DROP: packets conntrack dropped (table full with nothing to evict, unresolvable clash) */
  readonly drop?: number;
  /** CTA_STATS_EARLY_DROP: entries evicted early because the table was full */
  readonly earlyDrop?: number;
  /** CTA_STATS_ERROR: packets the protocol's error check rejected (malformed headers, bad checksums) */
  readonly error?: number;
  /** CTA_STATS_SEARCH_RESTART: lookups restarted because the hash table changed */
  readonly searchRestart?: number;
  /** CTA_STATS_CLASH_RESOLVE: insert clashes that were resolved */
  readonly clashResolve?: number;
  /** CTA_STATS_CHAIN_TOOLONG: inserts refused because a hash chain was too long */
  readonly chainToolong?: number;
}

/** IPCTNL_MSG_CT_GET_STATS reply (CTA_STATS_GLOBAL_*). */
export interface GlobalStats extends MessageHeader {
  /** Discriminant of {@link Message}: table-wide statistics. */
  readonly kind: 'stats-global';
  /** CTA_STATS_GLOBAL_ENTRIES */
  readonly entries?: number;
  /** CTA_STATS_GLOBAL_MAX_ENTRIES */
  readonly maxEntries?: number;
}

/** IPCTNL_MSG_EXP_GET_STATS_CPU reply (CTA_STATS_EXP_*), one per CPU. */
export interface ExpectStats extends MessageHeader {
  /** Discriminant of {@link Message}: per-CPU expectation statistics. */
  readonly kind: 'stats-exp';
  /** nfgenmsg.res_id */
  readonly cpu: number;
  /** CTA_STATS_EXP_NEW */
  readonly new?: number;
  /** CTA_STATS_EXP_CREATE */
  readonly create?: number;
  /** CTA_STATS_EXP_DELETE */
  readonly delete?: number;
}

/** NLMSG_DONE: the end of a dump. */
export interface Done extends MessageHeader {
  /** Discriminant of {@link Message}: NLMSG_DONE. */
  readonly kind: 'done';
}

/** NLMSG_OVERRUN */
export interface Overrun extends MessageHeader {
  /** Discriminant of {@link Message}: NLMSG_OVERRUN. */
  readonly kind: 'overrun';
}

/** NLMSG_ERROR: errno 0 is an ACK. */
export interface NetlinkError extends MessageHeader {
  /** Discriminant of {@link Message}: NLMSG_ERROR (or ACK). */
  readonly kind: 'error';
  /** Positive errno (the kernel sends it negated); 0 for an ACK. */
  readonly errno: number;
  /** nlmsg_type / flags / seq / pid of the request it answers */
  readonly request: {
    /** nlmsg_type of the request */
    readonly nlType: number;
    /** nlmsg_flags of the request */
    readonly nlFlags: number;
    /** nlmsg_seq of the request */
    readonly seq: number;
    /** nlmsg_pid of the request */
    readonly pid: number;
  };
  /** NLMSGERR_ATTR_MSG (extended ACK text) */
  readonly extAckMessage?: string;
  /** NLMSGERR_ATTR_OFFS (offset of the offending attribute in the request) */
  readonly extAckOffset?: number;
}

/** A well-formed netlink message of a type this library does not decode. */
export interface UnknownMessage extends MessageHeader {
  /** Discriminant of {@link Message}: a message type this library does not decode. */
  readonly kind: 'unknown';
}

/** Any decoded message. */
export type Message =
  | Flow
  | Expectation
  | CpuStats
  | GlobalStats
  | ExpectStats
  | Done
  | Overrun
  | NetlinkError
  | UnknownMessage;
