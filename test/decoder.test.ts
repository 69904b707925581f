// Unit tests of the WASM decoder with byte fixtures built field by field.
import { Decoder, decodeDatagram } from '../src/decoder';
import { ConntrackError } from '../src/errors';
import * as A from '../src/generated/attrs';
import type { CpuStats, Expectation, ExpectStats, Flow, GlobalStats, NetlinkError } from '../src/types';
import { attr, be16, be32, be64, concat, ctmsg, ip4, ip6, nest, nlmsg, str, u8 } from './helpers/netlink-builder';

const CT_NEW = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_NEW; // 0x0100
const CT_DELETE = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_DELETE; // 0x0102
const EXP_NEW = (A.NFNL_SUBSYS_CTNETLINK_EXP << 8) | A.IPCTNL_MSG_EXP_NEW; // 0x0200

/** CTA_TUPLE_* for IPv4 + ports. */
function tuple4(type: number, src: string, dst: string, proto: number, sport: number, dport: number, extra: Uint8Array[] = []) {
  return nest(type,
    nest(A.CTA_TUPLE_IP,
      attr(A.CTA_IP_V4_SRC, ip4(src)),            // 4 bytes, network order
      attr(A.CTA_IP_V4_DST, ip4(dst))),
    nest(A.CTA_TUPLE_PROTO,
      u8(A.CTA_PROTO_NUM, proto),                 // u8
      be16(A.CTA_PROTO_SRC_PORT, sport),          // be16
      be16(A.CTA_PROTO_DST_PORT, dport)),
    ...extra);
}

function only<T>(msgs: unknown[]): T {
  expect(msgs).toHaveLength(1);
  return msgs[0] as T;
}

describe('flows', () => {
  test('TCP over IPv4 with protoinfo, counters, timestamps (a dump reply)', () => {
    const bytes = ctmsg({ type: CT_NEW, flags: 0x2 /* NLM_F_MULTI */, seq: 1, pid: 5753 }, A.AF_INET,
      tuple4(A.CTA_TUPLE_ORIG, '127.0.0.1', '127.0.0.2', 6, 40002, 5002),
      tuple4(A.CTA_TUPLE_REPLY, '127.0.0.2', '127.0.0.1', 6, 5002, 40002),
      be32(A.CTA_STATUS, 0x18e),                  // SEEN_REPLY|ASSURED|CONFIRMED|SRC_NAT_DONE|DST_NAT_DONE
      nest(A.CTA_PROTOINFO,
        nest(A.CTA_PROTOINFO_TCP,
          u8(A.CTA_PROTOINFO_TCP_STATE, A.TCP_CONNTRACK_ESTABLISHED),
          u8(A.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7),
          u8(A.CTA_PROTOINFO_TCP_WSCALE_REPLY, 8),
          attr(A.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, [0x23, 0x00]), // {flags, mask}
          attr(A.CTA_PROTOINFO_TCP_FLAGS_REPLY, [0x33, 0x00]))),
      be32(A.CTA_TIMEOUT, 431997),
      be32(A.CTA_MARK, 0),
      nest(A.CTA_COUNTERS_ORIG, be64(A.CTA_COUNTERS_PACKETS, 4n), be64(A.CTA_COUNTERS_BYTES, 222n)),
      nest(A.CTA_COUNTERS_REPLY, be64(A.CTA_COUNTERS_PACKETS, 3n), be64(A.CTA_COUNTERS_BYTES, 0xffff_ffff_ffffn)),
      be32(A.CTA_USE, 1),
      be32(A.CTA_ID, 2549649002),
      nest(A.CTA_TIMESTAMP, be64(A.CTA_TIMESTAMP_START, 1795312267228692000n)));
    const f = only<Flow>(decodeDatagram(bytes));
    expect(f).toEqual({
      // a reply (NLM_F_MULTI): no event kind
      kind: 'flow', nlType: 0x100, nlFlags: 2, seq: 1, pid: 5753, family: 2,
      orig: { l3proto: 2, src: '127.0.0.1', dst: '127.0.0.2', protoNum: 6, srcPort: 40002, dstPort: 5002 },
      reply: { l3proto: 2, src: '127.0.0.2', dst: '127.0.0.1', protoNum: 6, srcPort: 5002, dstPort: 40002 },
      status: 0x18e,
      tcp: { state: 3, wscaleOriginal: 7, wscaleReply: 8, flagsOriginal: { flags: 0x23, mask: 0 }, flagsReply: { flags: 0x33, mask: 0 } },
      timeout: 431997, mark: 0,
      countersOrig: { packets: 4n, bytes: 222n },
      countersReply: { packets: 3n, bytes: 0xffff_ffff_ffffn },
      use: 1, id: 2549649002,
      timestampStart: 1795312267228692000n,
    });
  });

  test.each([
    ['NEW: CT_NEW with NLM_F_CREATE|NLM_F_EXCL', CT_NEW, 0x600, 'new'],
    ['NEW: CT_NEW with NLM_F_CREATE alone', CT_NEW, 0x400, 'new'],
    ['UPDATE: CT_NEW without them', CT_NEW, 0, 'update'],
    ['DESTROY: CT_DELETE', CT_DELETE, 0, 'destroy'],
    ['none: a dump/GET reply (NLM_F_MULTI) is an entry, not an event', CT_NEW, 0x2, undefined],
  ])('event kind %s', (_name, type, flags, event) => {
    const f = only<Flow>(decodeDatagram(ctmsg({ type, flags }, A.AF_INET, be32(A.CTA_ID, 1))));
    expect(f.event).toBe(event);
  });

  test.each([
    ['UDP', 17, { srcPort: 1, dstPort: 2 }],
    ['UDPLite', 136, { srcPort: 1, dstPort: 2 }],
    ['SCTP', 132, { srcPort: 1, dstPort: 2 }],
    ['DCCP', 33, { srcPort: 1, dstPort: 2 }],
    ['GRE (keys in the port attributes)', 47, { srcPort: 1, dstPort: 2 }],
  ])('L4 form %s', (_name, proto, ports) => {
    const f = only<Flow>(decodeDatagram(ctmsg({ type: CT_NEW }, A.AF_INET, tuple4(A.CTA_TUPLE_ORIG, '10.0.0.1', '10.0.0.2', proto, 1, 2))));
    expect(f.orig).toEqual({ l3proto: 2, src: '10.0.0.1', dst: '10.0.0.2', protoNum: proto, ...ports });
  });

  test('ICMP and ICMPv6 id/type/code, IPv6 addresses', () => {
    const icmp = nest(A.CTA_TUPLE_ORIG,
      nest(A.CTA_TUPLE_IP, attr(A.CTA_IP_V4_SRC, ip4('1.2.3.4')), attr(A.CTA_IP_V4_DST, ip4('5.6.7.8'))),
      nest(A.CTA_TUPLE_PROTO, u8(A.CTA_PROTO_NUM, 1),
        be16(A.CTA_PROTO_ICMP_ID, 4660),          // be16
        u8(A.CTA_PROTO_ICMP_TYPE, 8),             // u8
        u8(A.CTA_PROTO_ICMP_CODE, 0)));
    const icmp6 = nest(A.CTA_TUPLE_REPLY,
      nest(A.CTA_TUPLE_IP, attr(A.CTA_IP_V6_SRC, ip6('2001:db8::1')), attr(A.CTA_IP_V6_DST, ip6('::1'))),
      nest(A.CTA_TUPLE_PROTO, u8(A.CTA_PROTO_NUM, 58),
        be16(A.CTA_PROTO_ICMPV6_ID, 7), u8(A.CTA_PROTO_ICMPV6_TYPE, 129), u8(A.CTA_PROTO_ICMPV6_CODE, 3)));
    const f = only<Flow>(decodeDatagram(ctmsg({ type: CT_NEW }, A.AF_INET, icmp, icmp6)));
    expect(f.orig).toEqual({ l3proto: 2, src: '1.2.3.4', dst: '5.6.7.8', protoNum: 1, icmpId: 4660, icmpType: 8, icmpCode: 0 });
    expect(f.reply).toEqual({ l3proto: 10, src: '2001:db8::1', dst: '::1', protoNum: 58, icmpId: 7, icmpType: 129, icmpCode: 3 });
  });

  test('tuple zones, master tuple, entry zone', () => {
    const f = only<Flow>(decodeDatagram(ctmsg({ type: CT_NEW }, A.AF_INET,
      tuple4(A.CTA_TUPLE_ORIG, '1.1.1.1', '2.2.2.2', 6, 1, 21, [be16(A.CTA_TUPLE_ZONE, 7)]),
      tuple4(A.CTA_TUPLE_REPLY, '2.2.2.2', '1.1.1.1', 6, 21, 1, [be16(A.CTA_TUPLE_ZONE, 8)]),
      tuple4(A.CTA_TUPLE_MASTER, '3.3.3.3', '4.4.4.4', 6, 5, 6),
      be16(A.CTA_ZONE, 9))));
    expect(f.orig?.zone).toBe(7);
    expect(f.reply?.zone).toBe(8);
    expect(f.master).toEqual({ l3proto: 2, src: '3.3.3.3', dst: '4.4.4.4', protoNum: 6, srcPort: 5, dstPort: 6 });
    expect(f.zone).toBe(9);
  });

  test('helper, NAT ranges, seqadj, synproxy, secctx, secmark, labels, masks, 32-bit counters, DCCP and SCTP protoinfo, event timestamp', () => {
    const labels = new Uint8Array(16);
    labels[0] = 0b101; // labels 0 and 2
    const f = only<Flow>(decodeDatagram(ctmsg({ type: CT_NEW, flags: 0x600 }, A.AF_INET,
      nest(A.CTA_HELP, str(A.CTA_HELP_NAME, 'ftp'), attr(A.CTA_HELP_INFO, [1, 2, 3])),
      nest(A.CTA_NAT_SRC,
        attr(A.CTA_NAT_V4_MINIP, ip4('192.0.2.1')),
        attr(A.CTA_NAT_V4_MAXIP, ip4('192.0.2.9')),
        nest(A.CTA_NAT_PROTO, be16(A.CTA_PROTONAT_PORT_MIN, 1024), be16(A.CTA_PROTONAT_PORT_MAX, 2048))),
      nest(A.CTA_NAT_DST, attr(A.CTA_NAT_V6_MINIP, ip6('2001:db8::5')), attr(A.CTA_NAT_V6_MAXIP, ip6('2001:db8::6'))),
      nest(A.CTA_SEQ_ADJ_ORIG, be32(A.CTA_SEQADJ_CORRECTION_POS, 1), be32(A.CTA_SEQADJ_OFFSET_BEFORE, 2), be32(A.CTA_SEQADJ_OFFSET_AFTER, 3)),
      nest(A.CTA_SEQ_ADJ_REPLY, be32(A.CTA_SEQADJ_OFFSET_AFTER, 6)),
      nest(A.CTA_SYNPROXY, be32(A.CTA_SYNPROXY_ISN, 10), be32(A.CTA_SYNPROXY_ITS, 11), be32(A.CTA_SYNPROXY_TSOFF, 12)),
      nest(A.CTA_SECCTX, str(A.CTA_SECCTX_NAME, 'system_u:object_r:ssh_t:s0')),
      be32(A.CTA_SECMARK, 77),
      attr(A.CTA_LABELS, labels),
      attr(A.CTA_LABELS_MASK, new Uint8Array(16).fill(0xff)),
      be32(A.CTA_MARK, 0x10), be32(A.CTA_MARK_MASK, 0xf0),
      be32(A.CTA_STATUS, 8), be32(A.CTA_STATUS_MASK, 8),
      nest(A.CTA_COUNTERS_ORIG, be32(A.CTA_COUNTERS32_PACKETS, 5), be32(A.CTA_COUNTERS32_BYTES, 500)),
      nest(A.CTA_PROTOINFO,
        nest(A.CTA_PROTOINFO_DCCP, u8(A.CTA_PROTOINFO_DCCP_STATE, 4), u8(A.CTA_PROTOINFO_DCCP_ROLE, 1),
          be64(A.CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ, 0x0102030405060708n), be64(A.CTA_PROTOINFO_DCCP_PAD, 0n)),
        nest(A.CTA_PROTOINFO_SCTP, u8(A.CTA_PROTOINFO_SCTP_STATE, 3),
          be32(A.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, 0xdeadbeef), be32(A.CTA_PROTOINFO_SCTP_VTAG_REPLY, 0xcafe))),
      nest(A.CTA_TIMESTAMP, be64(A.CTA_TIMESTAMP_START, 1n), be64(A.CTA_TIMESTAMP_STOP, 2n)),
      be64(A.CTA_TIMESTAMP_EVENT, 3n))));
    expect(f.event).toBe('new');
    expect(f.helperName).toBe('ftp');
    expect([...f.helperInfo!]).toEqual([1, 2, 3]);
    expect(f.natSrc).toEqual({ minIp: '192.0.2.1', maxIp: '192.0.2.9', minPort: 1024, maxPort: 2048 });
    expect(f.natDst).toEqual({ minIp: '2001:db8::5', maxIp: '2001:db8::6' });
    expect(f.seqAdjOrig).toEqual({ correctionPos: 1, offsetBefore: 2, offsetAfter: 3 });
    expect(f.seqAdjReply).toEqual({ offsetAfter: 6 });
    expect(f.synproxy).toEqual({ isn: 10, its: 11, tsoff: 12 });
    expect(f.secctx).toBe('system_u:object_r:ssh_t:s0');
    expect(f.secmark).toBe(77);
    expect([...f.labels!]).toEqual([...labels]);
    expect(f.labelsMask).toHaveLength(16);
    expect([f.mark, f.markMask, f.status, f.statusMask]).toEqual([0x10, 0xf0, 8, 8]);
    expect(f.countersOrig).toEqual({ packets: 5n, bytes: 500n });
    expect(f.dccp).toEqual({ state: 4, role: 1, handshakeSeq: 0x0102030405060708n });
    expect(f.sctp).toEqual({ state: 3, vtagOriginal: 0xdeadbeef, vtagReply: 0xcafe });
    expect([f.timestampStart, f.timestampStop, f.timestampEvent]).toEqual([1n, 2n, 3n]);
  });

  test('unknown attribute types are skipped at every level', () => {
    const unknown = attr(0x3ff, [9, 9, 9, 9, 9]); // type never assigned, odd length (padded)
    const f = only<Flow>(decodeDatagram(ctmsg({ type: CT_NEW }, A.AF_INET,
      unknown,
      nest(A.CTA_TUPLE_ORIG,
        unknown,
        nest(A.CTA_TUPLE_IP, unknown, attr(A.CTA_IP_V4_SRC, ip4('9.9.9.9')), unknown),
        nest(A.CTA_TUPLE_PROTO, unknown, u8(A.CTA_PROTO_NUM, 17), unknown, nest(30, unknown))),
      nest(A.CTA_PROTOINFO, unknown, nest(A.CTA_PROTOINFO_TCP, unknown, u8(A.CTA_PROTOINFO_TCP_STATE, 2))),
      nest(A.CTA_COUNTERS_ORIG, unknown, be64(A.CTA_COUNTERS_PACKETS, 1n), be64(A.CTA_COUNTERS_PAD, 0n)),
      nest(40, nest(41, unknown)),                 // an unknown nest
      be32(A.CTA_ID, 5))));
    expect(f.orig).toEqual({ l3proto: 2, src: '9.9.9.9', protoNum: 17 });
    expect(f.tcp).toEqual({ state: 2 });
    expect(f.countersOrig).toEqual({ packets: 1n });
    expect(f.id).toBe(5);
  });

  test('the last attribute of a container and of the message may be unpadded', () => {
    const name = attr(A.CTA_HELP_NAME, [0x61, 0x62, 0x63], true); // "abc" without NUL: nla_len 7, no padding
    expect(name.length).toBe(7);
    const help = attr(A.CTA_HELP | 0x8000, name, true); // nla_len 11, no padding
    const body = concat(be32(A.CTA_ID, 42), help);
    const bytes = ctmsg({ type: CT_NEW }, A.AF_INET, body).subarray(0, 16 + 4 + body.length);
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(39); // nlmsg_len not a multiple of 4
    const f = only<Flow>(decodeDatagram(bytes));
    expect(f.id).toBe(42);
    expect(f.helperName).toBe('abc');
  });

  test('several messages per datagram, NLMSG_DONE, NLMSG_NOOP skipped', () => {
    const dgram = concat(
      ctmsg({ type: CT_NEW, flags: 2, seq: 1 }, A.AF_INET, be32(A.CTA_ID, 1)),
      nlmsg({ type: A.NLMSG_NOOP }, new Uint8Array(0)),
      ctmsg({ type: CT_NEW, flags: 2, seq: 1 }, A.AF_INET6, be32(A.CTA_ID, 2)),
      nlmsg({ type: A.NLMSG_DONE, flags: 2, seq: 1 }, new Uint8Array(4)),
    );
    const msgs = decodeDatagram(dgram);
    expect(msgs.map((m) => m.kind)).toEqual(['flow', 'flow', 'done']);
    expect((msgs[1] as Flow).family).toBe(10);
  });
});

describe('expectations', () => {
  test('every CTA_EXPECT_* attribute', () => {
    const e = only<Expectation>(decodeDatagram(ctmsg({ type: EXP_NEW, flags: 0x600 }, A.AF_INET,
      tuple4(A.CTA_EXPECT_MASTER, '10.0.0.1', '10.0.0.2', 6, 40000, 21),
      tuple4(A.CTA_EXPECT_TUPLE, '10.0.0.2', '10.0.0.1', 6, 0, 50000),
      tuple4(A.CTA_EXPECT_MASK, '255.255.255.255', '255.255.255.255', 255, 0, 0xffff),
      be32(A.CTA_EXPECT_TIMEOUT, 300),
      be32(A.CTA_EXPECT_ID, 1234),
      str(A.CTA_EXPECT_HELP_NAME, 'ftp'),
      be16(A.CTA_EXPECT_ZONE, 3),
      be32(A.CTA_EXPECT_FLAGS, A.NF_CT_EXPECT_PERMANENT | A.NF_CT_EXPECT_USERSPACE),
      be32(A.CTA_EXPECT_CLASS, 0),
      nest(A.CTA_EXPECT_NAT, be32(A.CTA_EXPECT_NAT_DIR, 1), tuple4(A.CTA_EXPECT_NAT_TUPLE, '1.1.1.1', '2.2.2.2', 6, 1, 2)),
      str(A.CTA_EXPECT_FN, 'sip'))));
    expect(e).toEqual({
      kind: 'expect', event: 'new', nlType: 0x200, nlFlags: 0x600, seq: 0, pid: 0, family: 2,
      master: { l3proto: 2, src: '10.0.0.1', dst: '10.0.0.2', protoNum: 6, srcPort: 40000, dstPort: 21 },
      tuple: { l3proto: 2, src: '10.0.0.2', dst: '10.0.0.1', protoNum: 6, srcPort: 0, dstPort: 50000 },
      mask: { l3proto: 2, src: '255.255.255.255', dst: '255.255.255.255', protoNum: 255, srcPort: 0, dstPort: 0xffff },
      timeout: 300, id: 1234, helperName: 'ftp', zone: 3, flags: 5, class: 0,
      nat: { dir: 1, tuple: { l3proto: 2, src: '1.1.1.1', dst: '2.2.2.2', protoNum: 6, srcPort: 1, dstPort: 2 } },
      fn: 'sip',
    });
  });
});

describe('statistics', () => {
  test('per-CPU stats: CPU from res_id, every CTA_STATS_* counter', () => {
    const attrs = [];
    for (let t = A.CTA_STATS_SEARCHED; t <= A.CTA_STATS_CHAIN_TOOLONG; t++) attrs.push(be32(t, t * 10));
    const bytes = nlmsg({ type: 0x0104, flags: 2 }, concat(Uint8Array.from([0, 0, 0, 1]) /* res_id = 1 */, ...attrs));
    const s = only<CpuStats>(decodeDatagram(bytes));
    expect(s).toMatchObject({ kind: 'stats-cpu', cpu: 1, searched: 10, found: 20, new: 30, invalid: 40, ignore: 50, delete: 60,
      deleteList: 70, insert: 80, insertFailed: 90, drop: 100, earlyDrop: 110, error: 120, searchRestart: 130, clashResolve: 140, chainToolong: 150 });
  });

  test('global stats (entries, max)', () => {
    const s = only<GlobalStats>(decodeDatagram(ctmsg({ type: 0x0105 }, 0, be32(A.CTA_STATS_GLOBAL_ENTRIES, 22), be32(A.CTA_STATS_GLOBAL_MAX_ENTRIES, 262144))));
    expect(s).toMatchObject({ kind: 'stats-global', entries: 22, maxEntries: 262144 });
  });

  const expStats = ctmsg({ type: 0x0103, flags: 2 }, 0, be32(A.CTA_STATS_EXP_NEW, 1), be32(A.CTA_STATS_EXP_CREATE, 2), be32(A.CTA_STATS_EXP_DELETE, 3));

  test.each([
    ['guessed from flat be32 counters', 'guess'],
    ['told: reply to IPCTNL_MSG_EXP_GET_STATS_CPU', 'exp-stats'],
  ] as const)('nlmsg_type 0x0103 as expectation stats: %s', (_n, ctx) => {
    const m = only<ExpectStats>(decodeDatagram(expStats, { ctx0103: ctx }));
    expect(m).toMatchObject({ kind: 'stats-exp', cpu: 0, new: 1, create: 2, delete: 3 });
  });

  test('nlmsg_type 0x0103 told to be a CTRZERO flow: statistics bytes are not a valid flow', () => {
    expect(() => decodeDatagram(expStats, { ctx0103: 'flow' })).toThrow(/nla_len/);
  });

  test('nlmsg_type 0x0103 guessed as a flow when it starts with a nested tuple', () => {
    const m = only<Flow>(decodeDatagram(ctmsg({ type: 0x0103 }, 2, tuple4(A.CTA_TUPLE_ORIG, '1.1.1.1', '2.2.2.2', 6, 1, 2))));
    expect(m.kind).toBe('flow');
    expect(m.orig?.srcPort).toBe(1);
  });
});

describe('NLMSG_ERROR', () => {
  test('ACK (capped: only the request header copied)', () => {
    const req = nlmsg({ type: 0x0105, flags: 5, seq: 9, pid: 77 }, new Uint8Array(4)).subarray(0, 16);
    const e = only<NetlinkError>(decodeDatagram(nlmsg({ type: A.NLMSG_ERROR, flags: 0x100, seq: 9, pid: 77 }, concat(Uint8Array.from([0, 0, 0, 0]), req))));
    expect(e).toMatchObject({ kind: 'error', errno: 0, request: { nlType: 0x0105, nlFlags: 5, seq: 9, pid: 77 } });
  });

  test('error with the request copied and extended ACK message + offset', () => {
    const req = ctmsg({ type: 0x0101, flags: 5, seq: 3 }, 2, be32(A.CTA_MARK, 1));
    const errno = new Uint8Array(4);
    new DataView(errno.buffer).setInt32(0, -22, true); // -EINVAL, host order
    const offs = new Uint8Array(4);
    new DataView(offs.buffer).setUint32(0, 20, true); // NLMSGERR_ATTR_OFFS is host order
    const e = only<NetlinkError>(decodeDatagram(nlmsg({ type: A.NLMSG_ERROR, flags: 0x200 /* NLM_F_ACK_TLVS */ },
      concat(errno, req, str(A.NLMSGERR_ATTR_MSG, 'bad mark'), attr(A.NLMSGERR_ATTR_OFFS, offs)))));
    expect(e).toMatchObject({ errno: 22, extAckMessage: 'bad mark', extAckOffset: 20, request: { nlType: 0x0101, seq: 3 } });
  });

  test('too short is a decode error', () => {
    expect(() => decodeDatagram(nlmsg({ type: A.NLMSG_ERROR }, new Uint8Array(8)))).toThrow(ConntrackError);
  });
});

describe('bad bytes', () => {
  const good = ctmsg({ type: CT_NEW }, A.AF_INET, tuple4(A.CTA_TUPLE_ORIG, '1.1.1.1', '2.2.2.2', 6, 1, 2), be32(A.CTA_ID, 1));

  function decodeErr(bytes: Uint8Array): ConntrackError {
    try {
      decodeDatagram(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(ConntrackError);
      expect((e as ConntrackError).code).toBe('ERR_CT_DECODE');
      return e as ConntrackError;
    }
    throw new Error('expected a decode error');
  }

  test('a datagram cut inside the netlink header', () => {
    const e = decodeErr(good.subarray(0, 10));
    expect(e.offset).toBe(0);
    expect(e.message).toMatch(/netlink header/);
  });

  test('nlmsg_len larger than the datagram', () => {
    const e = decodeErr(good.subarray(0, good.length - 4));
    expect(e.message).toMatch(/nlmsg_len/);
  });

  test('nlmsg_len smaller than a header', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(0, 8, true);
    decodeErr(b);
  });

  test('no room for nfgenmsg', () => {
    const e = decodeErr(nlmsg({ type: CT_NEW }, Uint8Array.from([2, 0])));
    expect(e.offset).toBe(16);
  });

  test('nla_len runs past its container: reports attribute type and offset', () => {
    const b = good.slice();
    // first nested attribute inside CTA_TUPLE_ORIG is CTA_TUPLE_IP at message offset 24
    new DataView(b.buffer).setUint16(24, 200, true);
    const e = decodeErr(b);
    expect(e.attrType).toBe(A.CTA_TUPLE_IP);
    expect(e.offset).toBe(24);
  });

  test('nla_len below 4', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint16(20, 2, true);
    const e = decodeErr(b);
    expect(e.offset).toBe(20);
  });

  test('wrong payload size for a fixed-size attribute', () => {
    const e = decodeErr(ctmsg({ type: CT_NEW }, 2, attr(A.CTA_ID, [1, 2])));
    expect(e.attrType).toBe(A.CTA_ID);
    expect(e.message).toMatch(/wrong size/);
  });

  test('the rest of the batch still decodes, and onBad sees each fault', () => {
    const d = new Decoder();
    d.push(good.subarray(0, 30));
    d.push(good);
    const seen: string[] = [];
    const msgs = d.messages((err) => seen.push(err.code));
    expect(seen).toEqual(['ERR_CT_DECODE']);
    expect(msgs).toHaveLength(1);
    expect(d.counters().bad).toBe(1);
  });
});

describe('senders, sequence numbers, truncation', () => {
  const msg = (seq: number) => ctmsg({ type: CT_NEW, seq, pid: 99 }, 2, be32(A.CTA_ID, seq));

  test('datagrams from a port id other than 0 (the kernel) are dropped and counted', () => {
    const d = new Decoder();
    d.push(msg(1), 4242);
    d.push(msg(2), 0);
    expect(d.messages().map((m) => (m as Flow).id)).toEqual([2]);
    expect(d.counters().spoofed).toBe(1);
  });

  test('with expect(seq, pid), other replies are dropped as stale', () => {
    const d = new Decoder();
    d.expect(5, 99);
    d.push(concat(msg(4), msg(5), msg(6)));
    expect(d.messages().map((m) => (m as Flow).id)).toEqual([5]);
    expect(d.counters().stale).toBe(2);
  });

  test('a datagram flagged MSG_TRUNC is a decode error, not a silent partial', () => {
    const d = new Decoder();
    d.push(msg(1), 0, true);
    expect(() => d.messages()).toThrow(/MSG_TRUNC/);
    expect(d.counters().truncated).toBe(1);
  });

  test('a batch larger than one decode chunk (REC_MAX) comes out whole and in order', () => {
    const d = new Decoder();
    const n = 3000;
    const parts = [];
    for (let i = 1; i <= n; i++) parts.push(msg(i));
    for (let i = 0; i < n; i += 100) d.push(concat(...parts.slice(i, i + 100)));
    const ids = d.messages().map((m) => (m as Flow).id);
    expect(ids).toHaveLength(n);
    expect(ids[0]).toBe(1);
    expect(ids[n - 1]).toBe(n);
  });

  test('push() reports a full batch instead of overflowing', () => {
    const d = new Decoder();
    const big = new Uint8Array(1 << 20);
    let pushed = 0;
    while (d.push(big)) pushed++;
    expect(pushed).toBe(4);
    expect(() => d.push(new Uint8Array((4 << 20) + 1))).toThrow(ConntrackError);
  });
});
