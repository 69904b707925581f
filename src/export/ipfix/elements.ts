// IPFIX Information Elements the exporter uses (RFC 7012; numbers from the
// IANA "IPFIX Information Elements" registry, https://www.iana.org/assignments/ipfix).
//
// Conntrack zone and mark have no IANA element (ingressVRFID/egressVRFID
// describe VRFs, not conntrack zones), so they are enterprise-specific
// elements under a Private Enterprise Number. No PEN is registered for this
// project: the default is 32473, the PEN IANA reserves for documentation
// (RFC 5612). Collectors skip unknown enterprise elements by length; set
// `enterpriseNumber` to your own PEN to keep them apart from others' data.

/** One field of a template: element id, length in bytes, enterprise number when enterprise-specific. */
export interface FieldSpec {
  readonly name: string;
  readonly id: number;
  readonly length: number;
  /** How a value is written: unsigned integer (big-endian) or an address. */
  readonly type: 'unsigned' | 'ipv4' | 'ipv6';
  readonly enterprise?: boolean;
}

/** PEN reserved for documentation use (RFC 5612), the default for the enterprise elements below. */
export const DOCUMENTATION_PEN = 32473;

const typeOf = (name: string): FieldSpec['type'] => (name.includes('IPv4Address') ? 'ipv4' : name.includes('IPv6Address') ? 'ipv6' : 'unsigned');
const ie = (name: string, id: number, length: number): FieldSpec => ({ name, id, length, type: typeOf(name) });
const pen = (name: string, id: number, length: number): FieldSpec => ({ name, id, length, type: 'unsigned', enterprise: true });

/** IANA elements (element id, registry type -> encoded length). */
export const IE = {
  octetDeltaCount: ie('octetDeltaCount', 1, 8), // unsigned64, deltaCounter
  packetDeltaCount: ie('packetDeltaCount', 2, 8), // unsigned64, deltaCounter
  protocolIdentifier: ie('protocolIdentifier', 4, 1), // unsigned8
  sourceTransportPort: ie('sourceTransportPort', 7, 2), // unsigned16
  sourceIPv4Address: ie('sourceIPv4Address', 8, 4), // ipv4Address
  destinationTransportPort: ie('destinationTransportPort', 11, 2), // unsigned16
  destinationIPv4Address: ie('destinationIPv4Address', 12, 4), // ipv4Address
  sourceIPv6Address: ie('sourceIPv6Address', 27, 16), // ipv6Address
  destinationIPv6Address: ie('destinationIPv6Address', 28, 16), // ipv6Address
  icmpTypeCodeIPv4: ie('icmpTypeCodeIPv4', 32, 2), // unsigned16: type * 256 + code
  flowDirection: ie('flowDirection', 61, 1), // unsigned8: 0 ingress, 1 egress
  octetTotalCount: ie('octetTotalCount', 85, 8), // unsigned64, totalCounter
  packetTotalCount: ie('packetTotalCount', 86, 8), // unsigned64, totalCounter
  flowEndReason: ie('flowEndReason', 136, 1), // unsigned8
  icmpTypeCodeIPv6: ie('icmpTypeCodeIPv6', 139, 2), // unsigned16
  flowId: ie('flowId', 148, 8), // unsigned64: the conntrack id (CTA_ID)
  flowStartMilliseconds: ie('flowStartMilliseconds', 152, 8), // dateTimeMilliseconds
  flowEndMilliseconds: ie('flowEndMilliseconds', 153, 8), // dateTimeMilliseconds
  postNATSourceIPv4Address: ie('postNATSourceIPv4Address', 225, 4),
  postNATDestinationIPv4Address: ie('postNATDestinationIPv4Address', 226, 4),
  postNAPTSourceTransportPort: ie('postNAPTSourceTransportPort', 227, 2),
  postNAPTDestinationTransportPort: ie('postNAPTDestinationTransportPort', 228, 2),
  biflowDirection: ie('biflowDirection', 239, 1), // unsigned8: 1 initiator, 2 reverseInitiator
  postNATSourceIPv6Address: ie('postNATSourceIPv6Address', 281, 16),
  postNATDestinationIPv6Address: ie('postNATDestinationIPv6Address', 282, 16),
} as const;

/** Enterprise-specific elements (under the exporter's enterpriseNumber). */
export const PEN_IE = {
  conntrackMark: pen('conntrackMark', 1, 4), // unsigned32: CTA_MARK
  conntrackZone: pen('conntrackZone', 2, 2), // unsigned16: CTA_ZONE
} as const;

/** flowEndReason values (IANA "flowEndReason (Value 136)" registry). */
export const FLOW_END_REASON = {
  idleTimeout: 0x01,
  activeTimeout: 0x02,
  endOfFlowDetected: 0x03,
  forcedEnd: 0x04,
  lackOfResources: 0x05,
} as const;

/** biflowDirection values (IANA "biflowDirection (Value 239)" registry). */
export const BIFLOW_DIRECTION = { arbitrary: 0, initiator: 1, reverseInitiator: 2, perimeter: 3 } as const;

/** RFC 7011 constants. */
export const IPFIX_VERSION = 10;
export const MESSAGE_HEADER_LENGTH = 16;
export const SET_HEADER_LENGTH = 4;
export const TEMPLATE_SET_ID = 2;
/** The first template id a Template Record may use (ids below 256 are Set IDs). */
export const FIRST_TEMPLATE_ID = 256;
