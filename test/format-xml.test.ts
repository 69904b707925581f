// -o xml features beyond the dump fixtures (snprintf_xml.c semantics).
import type { Expectation, Flow, Tuple } from '../src/types';
import { formatExpectXml, formatFlowXml, xmlDocumentFooter, xmlDocumentHeader, type LabelMap } from '../src/format';

const A = '10.0.0.1';
const B = '10.0.0.2';

function tup(proto: number, extra: Partial<Tuple> = {}, src = A, dst = B): Tuple {
  return { l3proto: 2, src, dst, protoNum: proto, ...extra };
}

function flow(extra: Partial<Flow>): Flow {
  return { kind: 'flow', nlType: 0x100, nlFlags: 0, seq: 0, pid: 0, family: 2, ...extra };
}

const ORIG_TCP =
  '<meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3>' +
  '<layer4 protonum="6" protoname="tcp"><sport>1</sport><dport>2</dport></layer4>';
const REPLY_TCP =
  '<meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3>' +
  '<layer4 protonum="6" protoname="tcp"><sport>2</sport><dport>1</dport></layer4>';

const tcp = { orig: tup(6, { srcPort: 1, dstPort: 2 }), reply: tup(6, { srcPort: 2, dstPort: 1 }, B, A) };

describe('formatFlowXml', () => {
  test('event type attribute, no independent meta without its attributes', () => {
    expect(formatFlowXml(flow({ ...tcp, event: 'destroy' }), { event: true })).toBe(
      '<flow type="destroy">' + ORIG_TCP + '</meta>' + REPLY_TCP + '</meta></flow>',
    );
    expect(formatFlowXml(flow({ ...tcp, event: 'new' }))).toMatch(/^<flow><meta/);
  });

  test('quirk: SCTP and DCCP states come from the TCP name table', () => {
    const sctp = flow({ orig: tup(132, { srcPort: 1, dstPort: 2 }), reply: tup(132, { srcPort: 2, dstPort: 1 }, B, A), sctp: { state: 2 } });
    expect(formatFlowXml(sctp)).toContain('<meta direction="independent"><state>SYN_RECV</state></meta>');
    const dccp = flow({ orig: tup(33, { srcPort: 1, dstPort: 2 }), reply: tup(33, { srcPort: 2, dstPort: 1 }, B, A), dccp: { state: 4 } });
    expect(formatFlowXml(dccp)).toContain('<state>FIN_WAIT</state>');
    expect(formatFlowXml(flow({ ...tcp, tcp: { state: 11 } }))).toContain('<state>NONE</state>');
  });

  test('quirk: reply <counters> depend on the original counters', () => {
    const onlyReply = flow({ ...tcp, countersReply: { packets: 1n, bytes: 2n } });
    expect(formatFlowXml(onlyReply)).not.toContain('<counters>');
    const onlyOrig = flow({ ...tcp, countersOrig: { packets: 1n, bytes: 2n } });
    expect(formatFlowXml(onlyOrig)).toContain(
      '<counters><packets>1</packets><bytes>2</bytes></counters></meta>' + REPLY_TCP +
        '<counters><packets>0</packets><bytes>0</bytes></counters></meta>',
    );
  });

  test('tuple zones, meta fields in library order, labels, ktimestamp, deltatime, when, helper', () => {
    const labels: LabelMap = { byBit: ['a', undefined, 'c'], byName: new Map([['a', 0], ['c', 2]]) };
    const f = flow({
      orig: tup(6, { srcPort: 1, dstPort: 2, zone: 4 }),
      reply: tup(6, { srcPort: 2, dstPort: 1, zone: 5 }, B, A),
      tcp: { state: 3 }, timeout: 9, mark: 1, secmark: 2, secctx: 'ctx', zone: 3, use: 1, id: 77,
      status: 0x4, labels: Uint8Array.from([0b101]), helperName: 'ftp',
      timestampStart: 1795312267_900000000n, timestampStop: 1795312270_100000000n,
    });
    expect(formatFlowXml(f, { labels, ktimestamp: true, when: 1795312270, utc: true })).toBe(
      '<flow>' + ORIG_TCP + '<zone>4</zone></meta>' + REPLY_TCP + '<zone>5</zone></meta>' +
        '<meta direction="independent"><state>ESTABLISHED</state><timeout>9</timeout><mark>1</mark>' +
        '<labels><label>a</label><label>c</label></labels><secmark>2</secmark><secctx>ctx</secctx><zone>3</zone>' +
        '<use>1</use><id>77</id><assured/><unreplied/>' +
        '<timestamp><start>1795312267900000000</start><stop>1795312270100000000</stop></timestamp>' +
        // XML deltatime: (stop - start) / 1s = 2 (the text printer says 3)
        '<deltatime>2</deltatime></meta>' +
        '<when><hour>1</hour><min>51</min><sec>10</sec><wday>1</wday><day>22</day><month>11</month><year>2026</year></when>' +
        '<helper>ftp</helper></flow>',
    );
  });

  test('deltatime without a stop stamp uses now; GRE keys; missing reply tuple; IPv6 zero address', () => {
    const f = flow({ orig: tup(47, { srcPort: 0x10, dstPort: 0xab }), timestampStart: 1795312267_900000000n });
    expect(formatFlowXml(f, { now: 1795312277 })).toBe(
      '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst>' +
        '</layer3><layer4 protonum="47" protoname="gre"><srckey>0x10</srckey><dstkey>0xab</dstkey></layer4></meta>' +
        // no CTA_TUPLE_REPLY: l3protonum 0, empty addresses
        '<meta direction="reply"><layer3 protonum="0" protoname="unknown"><src></src><dst></dst></layer3>' +
        '<layer4 protonum="0" protoname="unknown"></layer4></meta>' +
        '<meta direction="independent"><deltatime>10</deltatime></meta></flow>',
    );
    // a tuple without CTA_TUPLE_IP still carries the family: zero address
    const v6 = flow({ family: 10, orig: { l3proto: 0, protoNum: 58 } });
    expect(formatFlowXml(v6)).toContain('<layer3 protonum="10" protoname="ipv6"><src>::</src><dst>::</dst></layer3>');
  });

  test('[USERSPACE] suffix on events', () => {
    expect(formatFlowXml(flow({ ...tcp, pid: 7, event: 'new' }), { event: true, userspace: true })).toMatch(
      /<\/flow> \[USERSPACE\] portid=7$/,
    );
  });

  test('document framing', () => {
    expect(xmlDocumentHeader()).toBe('<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n');
    expect(xmlDocumentFooter()).toBe('</conntrack>\n');
    expect(xmlDocumentHeader('expect')).toBe('<?xml version="1.0" encoding="utf-8"?>\n<expect>\n');
    expect(xmlDocumentFooter('expect')).toBe('</expect>\n');
  });
});

describe('formatExpectXml', () => {
  const e: Expectation = {
    kind: 'expect', nlType: 0x200, nlFlags: 0x600, seq: 0, pid: 0, family: 2, event: 'new',
    master: { l3proto: 2, src: '192.168.0.2', dst: '192.168.1.2', protoNum: 6, srcPort: 36390, dstPort: 21 },
    tuple: { l3proto: 2, src: '192.168.0.2', dst: '192.168.1.2', protoNum: 6, srcPort: 0, dstPort: 41739 },
    mask: { l3proto: 2, src: '255.255.255.255', dst: '255.255.255.255', protoNum: 6, srcPort: 0, dstPort: 65535 },
    helperName: 'ftp', timeout: 300, zone: 0, flags: 1,
  };
  test('layer3, layer4, meta', () => {
    expect(formatExpectXml(e, { event: true })).toBe(
      '<flow type="new"><layer3 protonum="2" protoname="ipv4"><expected><src>192.168.0.2</src><dst>192.168.1.2</dst>' +
        '</expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>192.168.0.2</src>' +
        '<dst>192.168.1.2</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport>' +
        '<dport>41739</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>36390</sport>' +
        '<dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>300</timeout><zone>0</zone>' +
        '<permanent/></meta></flow>',
    );
  });
});
