// The lazy FlowView must read exactly what toMessage() materializes, field
// by field, for every flow of every capture and for flows with rare fields.
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { Decoder } from '../src/decoder';
import * as L from '../src/generated/layout';
import * as A from '../src/generated/attrs';
import { toMessage } from '../src/materialize';
import { readPcapBuffer } from '../src/pcap';
import type { Flow, Tuple, Counters } from '../src/types';
import { attr, be16, be32, be64, ctmsg, ip4, nest, str, u8 } from './helpers/netlink-builder';

const FLOW_KEYS: (keyof Flow)[] = ['kind', 'event', 'family', 'nlType', 'nlFlags', 'seq', 'pid', 'orig', 'reply', 'master',
  'status', 'statusMask', 'timeout', 'mark', 'markMask', 'use', 'id', 'secmark', 'zone', 'tcp', 'dccp', 'sctp',
  'countersOrig', 'countersReply', 'timestampStart', 'timestampStop', 'timestampEvent', 'helperName', 'helperInfo',
  'secctx', 'labels', 'labelsMask', 'natSrc', 'natDst', 'seqAdjOrig', 'seqAdjReply', 'synproxy'];
const TUPLE_KEYS: (keyof Tuple)[] = ['l3proto', 'src', 'dst', 'protoNum', 'srcPort', 'dstPort', 'icmpId', 'icmpType', 'icmpCode', 'zone'];

/** Read every interface field through the getters into a plain object (undefined = absent). */
function readView(f: Flow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FLOW_KEYS) {
    const v = f[k];
    if (v === undefined) continue;
    if (k === 'orig' || k === 'reply' || k === 'master') {
      const t: Record<string, unknown> = {};
      for (const tk of TUPLE_KEYS) if ((v as Tuple)[tk] !== undefined) t[tk] = (v as Tuple)[tk];
      out[k] = t;
    } else if (k === 'countersOrig' || k === 'countersReply') {
      const c: Record<string, unknown> = {};
      if ((v as Counters).packets !== undefined) c.packets = (v as Counters).packets;
      if ((v as Counters).bytes !== undefined) c.bytes = (v as Counters).bytes;
      out[k] = c;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function compareAll(d: Decoder): number {
  let n = 0;
  for (let c = d.decodeNext(); c > 0; c = d.decodeNext()) {
    for (let i = 0; i < c; i++) {
      const r = d.record(i);
      if (r.kind !== L.KIND_FLOW) continue;
      expect(readView(r.flow())).toEqual(toMessage(r));
      n++;
    }
  }
  return n;
}

test('every flow of every fixture capture', () => {
  const fix = path.join(__dirname, 'fixtures');
  let n = 0;
  for (const dir of readdirSync(fix, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const f of readdirSync(path.join(fix, dir.name)).filter((x) => x.endsWith('.pcap'))) {
      const d = new Decoder();
      for (const rec of readPcapBuffer(readFileSync(path.join(fix, dir.name, f)))) {
        if (!d.push(rec.data)) {
          n += compareAll(d);
          d.reset();
          d.push(rec.data);
        }
      }
      n += compareAll(d);
    }
  }
  expect(n).toBeGreaterThan(2100);
});

test('a flow with zones, master, helper, NAT, labels, seqadj, synproxy, DCCP and SCTP protoinfo', () => {
  const d = new Decoder();
  d.push(ctmsg({ type: 0x100, flags: 0x600 }, 2,
    nest(A.CTA_TUPLE_ORIG, nest(A.CTA_TUPLE_IP, attr(A.CTA_IP_V4_SRC, ip4('1.1.1.1'))), be16(A.CTA_TUPLE_ZONE, 4)),
    nest(A.CTA_TUPLE_MASTER, nest(A.CTA_TUPLE_PROTO, u8(A.CTA_PROTO_NUM, 47), be16(A.CTA_PROTO_SRC_PORT, 9))),
    nest(A.CTA_HELP, str(A.CTA_HELP_NAME, 'pptp'), attr(A.CTA_HELP_INFO, [7])),
    nest(A.CTA_NAT_SRC, attr(A.CTA_NAT_V4_MINIP, ip4('2.2.2.2'))),
    nest(A.CTA_SEQ_ADJ_REPLY, be32(A.CTA_SEQADJ_OFFSET_BEFORE, 3)),
    nest(A.CTA_SYNPROXY, be32(A.CTA_SYNPROXY_TSOFF, 5)),
    nest(A.CTA_SECCTX, str(A.CTA_SECCTX_NAME, 'ctx')),
    attr(A.CTA_LABELS, [1, 0, 0, 0]),
    nest(A.CTA_PROTOINFO, nest(A.CTA_PROTOINFO_DCCP, u8(A.CTA_PROTOINFO_DCCP_STATE, 2)), nest(A.CTA_PROTOINFO_SCTP, u8(A.CTA_PROTOINFO_SCTP_STATE, 1))),
    nest(A.CTA_COUNTERS_REPLY, be64(A.CTA_COUNTERS_BYTES, 1n << 60n)),
    be16(A.CTA_ZONE, 3), be32(A.CTA_SECMARK, 9), be64(A.CTA_TIMESTAMP_EVENT, 12n)));
  expect(compareAll(d)).toBe(1);
});
