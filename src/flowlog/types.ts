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
  type: FlowEventType;
  direction: FlowDirection;
  /** IP protocol number of the orig tuple (1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6, 132 SCTP, ...). */
  protocol: number;
  sourceIp: string;
  destIp: string;
  /** TCP, UDP and SCTP only; 0 otherwise. */
  sourcePort: number;
  destPort: number;
  /** ICMP and ICMPv6 only; 0 otherwise. */
  icmpType: number;
  icmpCode: number;
  /** Counters mapped by direction (0 without nf_conntrack_acct). */
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  /** Conntrack id (CTA_ID) the flow id was derived from. */
  conntrackId: number;
}

/** Receives the flow events (netbird's FlowLogger.StoreEvent). */
export interface FlowLogger {
  storeEvent(fields: FlowEventFields): void;
}

/**
 * The overlay interface's addresses (netbird's wgaddr.Address): CIDR strings
 * or plain addresses. `network` is the IPv4 network ("100.64.0.0/16"); the
 * IPv6 pair is optional.
 */
export interface InterfaceAddress {
  ip?: string;
  network?: string;
  ipv6?: string;
  ipv6Network?: string;
}

/** The interface the tracker reports for (netbird's IFaceMapper); address() is read for every batch. */
export interface FlowInterface {
  address(): InterfaceAddress;
}

/**
 * Connection marks (CTA_MARK) that classify a flow. A mark inside
 * `dataPlane` makes a flow relevant; `ingress` / `egress` marks fix its
 * direction (at most 4 each).
 */
export interface FlowMarks {
  dataPlane?: [number, number];
  ingress: number[];
  egress: number[];
}
