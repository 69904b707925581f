'use strict';
// Naive JS ctnetlink decoder: the straightforward way a JavaScript developer
// would write it. A DataView over each datagram, a generic attribute walker
// that returns an array of {type, start, length} for every level, and one
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

/** Every attribute directly inside [start, end). Throws on a bad length. */
function parseAttributes(dv, start, end) {
  const attrs = [];
  let offset = start;
  while (offset < end) {
    if (end - offset < 4) throw new Error(`truncated attribute at ${offset}`);
    const length = dv.getUint16(offset, true);
    const rawType = dv.getUint16(offset + 2, true);
    if (length < 4 || offset + length > end) throw new Error(`bad attribute length ${length} at ${offset}`);
    attrs.push({ type: rawType & 0x3fff, nested: (rawType & 0x8000) !== 0, start: offset + 4, length: length - 4 });
    offset += align4(length);
  }
  return attrs;
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

function decodeTuple(dv, attr) {
  const tuple = {};
  for (const a of parseAttributes(dv, attr.start, attr.start + attr.length)) {
    switch (a.type) {
      case 1: // CTA_TUPLE_IP
        for (const ip of parseAttributes(dv, a.start, a.start + a.length)) {
          if (ip.type === 1) tuple.src = ipv4String(dv, ip.start);
          else if (ip.type === 2) tuple.dst = ipv4String(dv, ip.start);
          else if (ip.type === 3) tuple.src = ipv6String(dv, ip.start);
          else if (ip.type === 4) tuple.dst = ipv6String(dv, ip.start);
        }
        break;
      case 2: // CTA_TUPLE_PROTO
        for (const p of parseAttributes(dv, a.start, a.start + a.length)) {
          switch (p.type) {
            case 1: tuple.protoNum = dv.getUint8(p.start); break;
            case 2: tuple.srcPort = dv.getUint16(p.start); break;
            case 3: tuple.dstPort = dv.getUint16(p.start); break;
            case 4: case 7: tuple.icmpId = dv.getUint16(p.start); break;
            case 5: case 8: tuple.icmpType = dv.getUint8(p.start); break;
            case 6: case 9: tuple.icmpCode = dv.getUint8(p.start); break;
          }
        }
        break;
      case 3: // CTA_TUPLE_ZONE
        tuple.zone = dv.getUint16(a.start);
        break;
    }
  }
  return tuple;
}

function decodeCounters(dv, attr) {
  const counters = {};
  for (const a of parseAttributes(dv, attr.start, attr.start + attr.length)) {
    if (a.type === 1) counters.packets = dv.getBigUint64(a.start);
    else if (a.type === 2) counters.bytes = dv.getBigUint64(a.start);
    else if (a.type === 3) counters.packets = BigInt(dv.getUint32(a.start));
    else if (a.type === 4) counters.bytes = BigInt(dv.getUint32(a.start));
  }
  return counters;
}

function decodeProtoinfo(dv, attr) {
  const protoinfo = {};
  for (const a of parseAttributes(dv, attr.start, attr.start + attr.length)) {
    if (a.type !== 1) continue; // CTA_PROTOINFO_TCP
    const tcp = {};
    for (const t of parseAttributes(dv, a.start, a.start + a.length)) {
      switch (t.type) {
        case 1: tcp.state = dv.getUint8(t.start); break;
        case 2: tcp.wscaleOriginal = dv.getUint8(t.start); break;
        case 3: tcp.wscaleReply = dv.getUint8(t.start); break;
        case 4: tcp.flagsOriginal = { flags: dv.getUint8(t.start), mask: dv.getUint8(t.start + 1) }; break;
        case 5: tcp.flagsReply = { flags: dv.getUint8(t.start), mask: dv.getUint8(t.start + 1) }; break;
      }
    }
    protoinfo.tcp = tcp;
  }
  return protoinfo;
}

function decodeTimestamp(dv, attr) {
  const ts = {};
  for (const a of parseAttributes(dv, attr.start, attr.start + attr.length)) {
    if (a.type === 1) ts.start = dv.getBigUint64(a.start);
    else if (a.type === 2) ts.stop = dv.getBigUint64(a.start);
  }
  return ts;
}

const EVENTS = { 0: 'new', 1: 'update', 2: 'destroy' };

function decodeFlow(dv, offset, header) {
  const msgType = header.type & 0xff;
  let event;
  if (msgType === 0) event = header.flags & 0x600 ? EVENTS[0] : EVENTS[1];
  else if (msgType === 2) event = EVENTS[2];
  const flow = { kind: 'flow', header, family: dv.getUint8(offset + 16), event };
  for (const a of parseAttributes(dv, offset + 20, offset + header.length)) {
    switch (a.type) {
      case 1: flow.orig = decodeTuple(dv, a); break;
      case 2: flow.reply = decodeTuple(dv, a); break;
      case 3: flow.status = dv.getUint32(a.start); break;
      case 4: flow.protoinfo = decodeProtoinfo(dv, a); break;
      case 7: flow.timeout = dv.getUint32(a.start); break;
      case 8: flow.mark = dv.getUint32(a.start); break;
      case 9: flow.counters = { ...flow.counters, orig: decodeCounters(dv, a) }; break;
      case 10: flow.counters = { ...flow.counters, reply: decodeCounters(dv, a) }; break;
      case 11: flow.use = dv.getUint32(a.start); break;
      case 12: flow.id = dv.getUint32(a.start); break;
      case 14: flow.master = decodeTuple(dv, a); break;
      case 17: flow.secmark = dv.getUint32(a.start); break;
      case 18: flow.zone = dv.getUint16(a.start); break;
      case 20: flow.timestamp = decodeTimestamp(dv, a); break;
      case 27: flow.timestampEvent = dv.getBigUint64(a.start); break;
    }
  }
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
