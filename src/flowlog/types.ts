// The flow logger's vocabulary, after netbird's netflow types
// (client/internal/netflow/types): what a tracker hands to a FlowLogger.

/** Start of a connection (conntrack NEW) or its end (DESTROY). */
export type FlowEventType = 'start' | 'end';

/** Seen from the interface: ingress = towards us / our network, egress = away from it. */
export type FlowDirection = 'ingress' | 'egress' | 'unknown';

/** One flow event, as netbird's EventFields (minus rule and resource ids, which conntrack does not know). */
export interface FlowEventFields {
  /** uuidv5(BE32(conntrack id), tracker instance id): the same for the start and the end of a connection. */
  flowId: string;
  /** 'start' for a conntrack NEW event, 'end' for DESTROY. */
  type: FlowEventType;
  /** Ingress or egress as seen from the interface (marks, then addresses); 'unknown' when neither says. */
  direction: FlowDirection;
  /** IP protocol number of the orig tuple (1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6, 132 SCTP, ...). */
  protocol: number;
  /** Source address of the orig tuple (the initiator). */
  sourceIp: string;
  /** Destination address of the orig tuple. */
  destIp: string;
  /** TCP, UDP and SCTP only; 0 otherwise. */
  sourcePort: number;
  /** Destination port of the orig tuple: TCP, UDP and SCTP only; 0 otherwise. */
  destPort: number;
  /** ICMP and ICMPv6 only; 0 otherwise. */
  icmpType: number;
  /** ICMP / ICMPv6 code: ICMP and ICMPv6 only; 0 otherwise. */
  icmpCode: number;
  /**
   * Counters mapped by direction (0 without nf_conntrack_acct): for an
   * ingress flow rx = the orig counters and tx = the reply counters; for
   * egress and unknown flows the other way round.
   */
  rxPackets: bigint;
  /** Packets sent, mapped by direction as `rxPackets`. */
  txPackets: bigint;
  /** Bytes received, mapped by direction as `rxPackets`. */
  rxBytes: bigint;
  /** Bytes sent, mapped by direction as `rxPackets`. */
  txBytes: bigint;
  /** Conntrack id (CTA_ID) the flow id was derived from. */
  conntrackId: number;
}

/** Receives the flow events (netbird's FlowLogger.StoreEvent). */
export interface FlowLogger {
  /** Called once per flow event, synchronously, in the order the events arrive. */
  storeEvent(fields: FlowEventFields): void;
}

/**
 * The overlay interface's addresses (netbird's wgaddr.Address): CIDR strings
 * or plain addresses. `network` is the IPv4 network ("100.64.0.0/16"); the
 * IPv6 pair is optional.
 */
export interface InterfaceAddress {
  /** The interface's IPv4 address ("100.64.0.1" or "100.64.0.1/16"). */
  ip?: string;
  /** Its IPv4 network in CIDR form ("100.64.0.0/16"). */
  network?: string;
  /** The interface's IPv6 address. */
  ipv6?: string;
  /** Its IPv6 network in CIDR form. */
  ipv6Network?: string;
}

/** The interface the tracker reports for (netbird's IFaceMapper); address() is read for every batch. */
export interface FlowInterface {
  /** The interface's current addresses; read for every batch, so address changes take effect at once. */
  address(): InterfaceAddress;
}

/**
 * Connection marks (CTA_MARK) that classify a flow. A mark inside
 * `dataPlane` makes a flow relevant; `ingress` / `egress` marks fix its
 * direction (at most 4 each).
 */
export interface FlowMarks {
  /** [lowest, highest] inclusive range of data-plane marks; absent: marks do not decide relevance. */
  dataPlane?: [number, number];
  /** Marks that make a flow ingress (at most 4). */
  ingress: number[];
  /** Marks that make a flow egress (at most 4). */
  egress: number[];
}
