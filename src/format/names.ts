// Name tables used by the printers, as in libnetfilter_conntrack 1.0.9
// src/conntrack/snprintf.c (l3proto2str[], proto2str[], states[],
// sctp_states[], dccp_states[]) and the kernel's IPS_* / NF_CT_EXPECT_* bits
// (include/uapi/linux/netfilter/nf_conntrack_common.h).

/** AF_INET */
export const AF_INET = 2;
/** AF_INET6 */
export const AF_INET6 = 10;

/** IPPROTO_ICMP */
export const IPPROTO_ICMP = 1;
/** IPPROTO_TCP */
export const IPPROTO_TCP = 6;
/** IPPROTO_UDP */
export const IPPROTO_UDP = 17;
/** IPPROTO_DCCP */
export const IPPROTO_DCCP = 33;
/** IPPROTO_GRE */
export const IPPROTO_GRE = 47;
/** IPPROTO_ICMPV6 */
export const IPPROTO_ICMPV6 = 58;
/** IPPROTO_SCTP */
export const IPPROTO_SCTP = 132;
/** IPPROTO_UDPLITE */
export const IPPROTO_UDPLITE = 136;

/**
 * Layer 3 name as __l3proto2str() prints it: "ipv4", "ipv6", otherwise
 * "unknown" (l3proto2str[] only names AF_INET and AF_INET6).
 */
export function l3protoName(family: number): string {
  if (family === AF_INET) return 'ipv4';
  if (family === AF_INET6) return 'ipv6';
  return 'unknown';
}

/**
 * Layer 4 name as __proto2str() prints it; every protocol outside
 * proto2str[] (tcp, udp, udplite, icmp, icmpv6, sctp, gre, dccp) is "unknown".
 */
export function protoName(proto: number): string {
  switch (proto) {
    case IPPROTO_TCP: return 'tcp';
    case IPPROTO_UDP: return 'udp';
    case IPPROTO_UDPLITE: return 'udplite';
    case IPPROTO_ICMP: return 'icmp';
    case IPPROTO_ICMPV6: return 'icmpv6';
    case IPPROTO_SCTP: return 'sctp';
    case IPPROTO_GRE: return 'gre';
    case IPPROTO_DCCP: return 'dccp';
    default: return 'unknown';
  }
}

/** states[] (TCP_CONNTRACK_*), index 9 is TCP_CONNTRACK_SYN_SENT2 (ex LISTEN). */
export const TCP_STATES: readonly string[] = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT',
  'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

/** sctp_states[] (SCTP_CONNTRACK_*), including HEARTBEAT_SENT/ACKED (lnfct 1.0.9). */
export const SCTP_STATES: readonly string[] = [
  'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED',
  'SHUTDOWN_SENT', 'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED',
];

/** dccp_states[] (DCCP_CONNTRACK_*). */
export const DCCP_STATES: readonly string[] = [
  'NONE', 'REQUEST', 'RESPOND', 'PARTOPEN', 'OPEN',
  'CLOSEREQ', 'CLOSING', 'TIMEWAIT', 'IGNORE', 'INVALID',
];

/** Entry of `table`, or its entry 0 ("NONE") when out of range. */
function stateOf(table: readonly string[], state: number): string {
  return state >= 0 && state < table.length ? table[state] : table[0];
}

/** TCP state as the text printer shows it (__snprintf_protoinfo): out of range -> "NONE". */
export function tcpStateName(state: number): string {
  return stateOf(TCP_STATES, state);
}

/** SCTP state as the text printer shows it (__snprintf_protoinfo_sctp). */
export function sctpStateName(state: number): string {
  return stateOf(SCTP_STATES, state);
}

/**
 * DCCP state as the text printer shows it (__snprintf_protoinfo_dccp).
 * libnetfilter_conntrack 1.0.9 uses dccp_states[] here; releases up to 1.0.8
 * indexed sctp_states[] instead (fixed in 2020, before 1.0.9).
 */
export function dccpStateName(state: number): string {
  return stateOf(DCCP_STATES, state);
}

/**
 * State name as the XML printer shows it for TCP, SCTP and DCCP alike:
 * snprintf_xml.c indexes the TCP table states[] for all three protocols
 * (bounded by the protocol's *_CONNTRACK_MAX, 10 for each), so an SCTP
 * COOKIE_WAIT (2) prints as "SYN_RECV". Out of range -> "NONE".
 */
export function xmlStateName(state: number): string {
  return stateOf(TCP_STATES, state);
}

/**
 * IPS_* status bit names by bit number (nf_conntrack_common.h). Bit 12 was
 * IPS_UNTRACKED before Linux 4.14 and is IPS_NAT_CLASH since 5.6.
 */
export const STATUS_FLAG_NAMES: readonly string[] = [
  'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED', 'SRC_NAT', 'DST_NAT',
  'SEQ_ADJUST', 'SRC_NAT_DONE', 'DST_NAT_DONE', 'DYING', 'FIXED_TIMEOUT',
  'TEMPLATE', 'NAT_CLASH', 'HELPER', 'OFFLOAD', 'HW_OFFLOAD',
];

/** IPS_SEEN_REPLY */
export const IPS_SEEN_REPLY = 1 << 1;
/** IPS_ASSURED */
export const IPS_ASSURED = 1 << 2;
/** IPS_OFFLOAD */
export const IPS_OFFLOAD = 1 << 14;
/** IPS_HW_OFFLOAD */
export const IPS_HW_OFFLOAD = 1 << 15;

/** NF_CT_EXPECT_* flag names by bit number. */
export const EXPECT_FLAG_NAMES: readonly string[] = ['PERMANENT', 'INACTIVE', 'USERSPACE'];

/** NF_CT_EXPECT_PERMANENT */
export const NF_CT_EXPECT_PERMANENT = 1;
/** NF_CT_EXPECT_INACTIVE */
export const NF_CT_EXPECT_INACTIVE = 2;
/** NF_CT_EXPECT_USERSPACE */
export const NF_CT_EXPECT_USERSPACE = 4;

/**
 * Names of the set bits of a 32-bit flag word; unnamed bits appear as
 * "BIT<n>" so no information is lost.
 */
export function flagNames(value: number, names: readonly string[]): string[] {
  const out: string[] = [];
  let v = value >>> 0;
  for (let bit = 0; v !== 0; bit++, v >>>= 1) {
    if (v & 1) out.push(bit < names.length ? names[bit] : 'BIT' + bit);
  }
  return out;
}

/** IPS_* names of a CTA_STATUS value, lowest bit first. */
export function statusFlagNames(status: number): string[] {
  return flagNames(status, STATUS_FLAG_NAMES);
}

/** NF_CT_EXPECT_* names of a CTA_EXPECT_FLAGS value, lowest bit first. */
export function expectFlagNames(flags: number): string[] {
  return flagNames(flags, EXPECT_FLAG_NAMES);
}
