'use strict';
// Naive JS ctnetlink decoder: the straightforward way a JavaScript developer
// would write it. A DataView over each datagram, one generic attribute walker
// that calls a visitor function per attribute at every nesting level, and one
// plain object per message with string addresses, bigint counters and nested
// objects for tuples / counters / protoinfo / timestamps.
//
// Decodes the same fields as the WASM decoder does for the benchmark corpus:
// tuples (IPv4/IPv6 addresses, proto, ports, ICMP id/type/code, zone),
// status, timeout, mark, use, id, secmark, zone, protoinfo TCP, counters
// (64 and 32 bit), timestamp start/stop, timestamp event.

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NFNL_SUBSYS_CTNETLINK = 1;

function align4(n) {
  return (n + 3) & ~3;
}

/**
 * Call visit(dv, type, start, length, target) for every attribute directly
 * inside [start, end); `start`/`length` describe the payload. Throws on a bad
 * attribute length.
 */
function walkAttributes(dv, start, end, visit, target) {
  let offset = start;
  while (offset < end) {
    if (end - offset < 4) throw new Error(`truncated attribute at ${offset}`);
    const length = dv.getUint16(offset, true);
    const type = dv.getUint16(offset + 2, true) & 0x3fff; // drop NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (length < 4 || offset + length > end) throw new Error(`bad attribute length ${length} at ${offset}`);
    visit(dv, type, offset + 4, length - 4, target);
    offset += align4(length);
  }
  return target;
}

function ipv4String(dv, offset) {
  return `${dv.getUint8(offset)}.${dv.getUint8(offset + 1)}.${dv.getUint8(offset + 2)}.${dv.getUint8(offset + 3)}`;
}

/** Eight hex groups, no "::" compression (e.g. 0:0:0:0:0:0:0:1). */
function ipv6String(dv, offset) {
  const groups = [];
  for (let i = 0; i < 8; i++) groups.push(dv.getUint16(offset + 2 * i).toString(16));
  return groups.join(':');
}

function visitIp(dv, type, start, length, tuple) {
  if (type === 1) tuple.src = ipv4String(dv, start); // CTA_IP_V4_SRC
  else if (type === 2) tuple.dst = ipv4String(dv, start);
  else if (type === 3) tuple.src = ipv6String(dv, start); // CTA_IP_V6_SRC
  else if (type === 4) tuple.dst = ipv6String(dv, start);
}

function visitProto(dv, type, start, length, tuple) {
  switch (type) {
    case 1: tuple.protoNum = dv.getUint8(start); break;
    case 2: tuple.srcPort = dv.getUint16(start); break;
    case 3: tuple.dstPort = dv.getUint16(start); break;
    case 4: case 7: tuple.icmpId = dv.getUint16(start); break;
    case 5: case 8: tuple.icmpType = dv.getUint8(start); break;
    case 6: case 9: tuple.icmpCode = dv.getUint8(start); break;
  }
}

function visitTuple(dv, type, start, length, tuple) {
  if (type === 1) walkAttributes(dv, start, start + length, visitIp, tuple); // CTA_TUPLE_IP
  else if (type === 2) walkAttributes(dv, start, start + length, visitProto, tuple); // CTA_TUPLE_PROTO
  else if (type === 3) tuple.zone = dv.getUint16(start); // CTA_TUPLE_ZONE
}

function visitCounters(dv, type, start, length, counters) {
  if (type === 1) counters.packets = dv.getBigUint64(start);
  else if (type === 2) counters.bytes = dv.getBigUint64(start);
  else if (type === 3) counters.packets = BigInt(dv.getUint32(start));
  else if (type === 4) counters.bytes = BigInt(dv.getUint32(start));
}

function visitTcp(dv, type, start, length, tcp) {
  switch (type) {
    case 1: tcp.state = dv.getUint8(start); break;
    case 2: tcp.wscaleOriginal = dv.getUint8(start); break;
    case 3: tcp.wscaleReply = dv.getUint8(start); break;
    case 4: tcp.flagsOriginal = { flags: dv.getUint8(start), mask: dv.getUint8(start + 1) }; break;
    case 5: tcp.flagsReply = { flags: dv.getUint8(start), mask: dv.getUint8(start + 1) }; break;
  }
}

function visitProtoinfo(dv, type, start, length, protoinfo) {
  if (type === 1) protoinfo.tcp = walkAttributes(dv, start, start + length, visitTcp, {}); // CTA_PROTOINFO_TCP
}

function visitTimestamp(dv, type, start, length, ts) {
  if (type === 1) ts.start = dv.getBigUint64(start);
  else if (type === 2) ts.stop = dv.getBigUint64(start);
}

function visitFlow(dv, type, start, length, flow) {
  const end = start + length;
  switch (type) {
    case 1: flow.orig = walkAttributes(dv, start, end, visitTuple, {}); break;
    case 2: flow.reply = walkAttributes(dv, start, end, visitTuple, {}); break;
    case 3: flow.status = dv.getUint32(start); break;
    case 4: flow.protoinfo = walkAttributes(dv, start, end, visitProtoinfo, {}); break;
    case 7: flow.timeout = dv.getUint32(start); break;
    case 8: flow.mark = dv.getUint32(start); break;
    case 9: flow.counters.orig = walkAttributes(dv, start, end, visitCounters, {}); break;
    case 10: flow.counters.reply = walkAttributes(dv, start, end, visitCounters, {}); break;
    case 11: flow.use = dv.getUint32(start); break;
    case 12: flow.id = dv.getUint32(start); break;
    case 14: flow.master = walkAttributes(dv, start, end, visitTuple, {}); break;
    case 17: flow.secmark = dv.getUint32(start); break;
    case 18: flow.zone = dv.getUint16(start); break;
    case 20: flow.timestamp = walkAttributes(dv, start, end, visitTimestamp, {}); break;
    case 27: flow.timestampEvent = dv.getBigUint64(start); break;
  }
}

const EVENTS = { 0: 'new', 1: 'update', 2: 'destroy' };

function decodeFlow(dv, offset, header) {
  const msgType = header.type & 0xff;
  let event;
  if (header.flags & 0x2) event = undefined; // NLM_F_MULTI: a dump/GET reply, not an event
  else if (msgType === 0) event = header.flags & 0x600 ? EVENTS[0] : EVENTS[1];
  else if (msgType === 2) event = EVENTS[2];
  const flow = { kind: 'flow', header, family: dv.getUint8(offset + 16), event, counters: {} };
  walkAttributes(dv, offset + 20, offset + header.length, visitFlow, flow);
  return flow;
}

/** Decode one datagram into an array of message objects. Throws on malformed input. */
function decodeDatagram(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 16) throw new Error(`truncated netlink header at ${offset}`);
    const header = {
      length: dv.getUint32(offset, true),
      type: dv.getUint16(offset + 4, true),
      flags: dv.getUint16(offset + 6, true),
      seq: dv.getUint32(offset + 8, true),
      pid: dv.getUint32(offset + 12, true),
    };
    if (header.length < 16 || offset + header.length > bytes.length) throw new Error(`bad nlmsg_len at ${offset}`);
    if (header.type === NLMSG_DONE) {
      messages.push({ kind: 'done', header });
    } else if (header.type === NLMSG_ERROR) {
      messages.push({ kind: 'error', header, errno: -dv.getInt32(offset + 16, true) });
    } else if (header.type >> 8 === NFNL_SUBSYS_CTNETLINK && header.length >= 20) {
      messages.push(decodeFlow(dv, offset, header));
    } else {
      messages.push({ kind: 'unknown', header });
    }
    offset += align4(header.length);
  }
  return messages;
}

module.exports = { decodeDatagram };
