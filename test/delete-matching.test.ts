// Delete by filter against the real kernel in a private namespace:
// Conntrack.deleteMatching() (pipelined), the seed's conntrackDeleteFilter(s),
// and the label filter (-l), each checked by reading the table back with the
// real conntrack tool.
import { mkdtempSync, writeFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Netns, tool } from './helpers/netns';
import { ctrack } from './helpers/cli';
import { Conntrack, conntrackDeleteFilter, conntrackDeleteFilters, ConntrackTable, ConntrackExpectTable } from '../src/conntrack';
import { FilterBuilder, ConntrackFilter, ConntrackFilterType } from '../src/filter';
import { NetlinkSocket } from '../src/socket';
import type { Flow } from '../src/types';

let ns: Netns;
let ct: Conntrack;

const N = 1200; // more than four datagrams of 256 deletes

/** Entries i: TCP 10.30.(i>>8).(i&255):2000 -> 10.31.0.1:80, mark i % 3; UDP every 10th to port 53. */
async function fill(): Promise<void> {
  const creates: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    const udp = i % 10 === 0;
    creates.push(ct.create({
      orig: { src: `10.30.${i >> 8}.${i & 255}`, dst: '10.31.0.1', protoNum: udp ? 17 : 6, srcPort: 2000, dstPort: udp ? 53 : 80 },
      timeout: 600, mark: i % 3, ...(udp ? {} : { tcp: { state: 3 } }),
    }));
  }
  await Promise.all(creates);
}

function count(...args: string[]): number {
  return ns.conntrack('-L', ...args).split('\n').filter(Boolean).length;
}

beforeAll(async () => {
  ns = Netns.create();
  // a `ct label` rule makes the kernel give new entries room for labels
  ns.exec(tool('nft'), ['add', 'rule', 'inet', 't', 'c', 'ct', 'label', 'set', '127']);
  ct = await Conntrack.open({ netns: ns.name });
});

afterAll(() => {
  ct?.close();
  ns?.destroy();
});

describe('deleteMatching', () => {
  beforeEach(async () => {
    ns.conntrack('-F');
    await fill();
    expect(count()).toBe(N);
  });

  test('deletes exactly the matching entries, pipelined (a few datagrams, not one round trip each)', async () => {
    const spy = jest.spyOn(NetlinkSocket.prototype, 'requestAcks');
    try {
      const n = await ct.deleteMatching(new FilterBuilder().mark(1).proto('tcp'));
      const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === 1 && i % 10 !== 0).length;
      expect(n).toBe(expected);
      expect(count('-m', '1')).toBe(Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === 1 && i % 10 === 0).length);
      expect(count()).toBe(N - expected);
      const messages = spy.mock.calls.reduce((s, c) => s + (c[2] as number), 0);
      expect(messages).toBe(expected);
      expect(spy.mock.calls.length).toBeLessThanOrEqual(Math.ceil(expected / 256) + 1);
    } finally {
      spy.mockRestore();
    }
  });

  test('onDeleted sees every deleted entry; a second run finds nothing to delete', async () => {
    const seen: Flow[] = [];
    const n = await ct.deleteMatching(new FilterBuilder().proto('udp'), { onDeleted: (f) => seen.push(f) });
    expect(n).toBe(N / 10);
    expect(seen.map((f) => f.orig?.dstPort)).toEqual(new Array(N / 10).fill(53));
    expect(count('-p', 'udp')).toBe(0);
    expect(await ct.deleteMatching(new FilterBuilder().proto('udp'))).toBe(0);
  });

  test('pushdown off deletes the same entries; an empty FilterBuilder deletes everything', async () => {
    const mark2 = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === 2).length;
    expect(await ct.deleteMatching(new FilterBuilder().mark(2), { pushdown: false })).toBe(mark2);
    expect(count('-m', '2')).toBe(0);
    expect(await ct.deleteMatching(new FilterBuilder())).toBe(N - mark2);
    expect(count()).toBe(0);
  });

  test('a filter that is not a filter is refused before anything is sent', async () => {
    await expect(ct.deleteMatching({} as FilterBuilder)).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
    expect(count()).toBe(N);
  });
});

describe("the seed's ConntrackDeleteFilter(s)", () => {
  beforeEach(async () => {
    ns.conntrack('-F');
    await fill();
  });

  test('returns the number deleted; the table agrees', async () => {
    const f = new ConntrackFilter().addProtocol(17).addIPNet(ConntrackFilterType.OrigSrcIP, '10.30.0.0/24').addPort(ConntrackFilterType.OrigDstPort, 53);
    const n = await conntrackDeleteFilter(ConntrackTable, 2, f, { netns: ns.name });
    expect(n).toBe(26); // i = 0, 10, ..., 250
    expect(count('-p', 'udp')).toBe(N / 10 - 26);
  });

  test('an empty filter deletes nothing; an IPv6 family deletes nothing from an IPv4 table', async () => {
    expect(await conntrackDeleteFilter(ConntrackTable, 0, new ConntrackFilter(), { netns: ns.name })).toBe(0);
    expect(await conntrackDeleteFilter(ConntrackTable, 10, new ConntrackFilter().addProtocol(6), { netns: ns.name })).toBe(0);
    expect(count()).toBe(N);
  });

  test('several filters: an entry goes when any matches (the union, counted once)', async () => {
    const udp = new ConntrackFilter().addProtocol(17);
    const one = new ConntrackFilter().addIP(ConntrackFilterType.OrigSrcIP, '10.30.0.10'); // a UDP entry too
    const two = new ConntrackFilter().addIP(ConntrackFilterType.OrigSrcIP, '10.30.0.11');
    expect(await conntrackDeleteFilters(ConntrackTable, 0, [udp, one, two], { netns: ns.name })).toBe(N / 10 + 1);
    expect(count()).toBe(N - N / 10 - 1);
  });

  test('the expectation table is refused with a typed error', async () => {
    await expect(conntrackDeleteFilter(ConntrackExpectTable, 0, new ConntrackFilter().addProtocol(6), { netns: ns.name }))
      .rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
  });
});

describe('-l: labels are a bit test', () => {
  let dir: string;

  beforeAll(async () => {
    ns.conntrack('-F');
    dir = mkdtempSync(join(tmpdir(), 'ctt-labels-'));
    writeFileSync(join(dir, 'connlabel.conf'), '3 blocked\n5 audit\n');
    const bits = (...b: number[]) => {
      const out = new Uint8Array(16);
      for (const x of b) out[x >> 3] |= 1 << (x & 7);
      return out;
    };
    const mk = (i: number, labels: Uint8Array) => ct.create({
      orig: { src: `10.40.0.${i}`, dst: '10.41.0.1', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 600, labels,
    });
    await mk(1, bits(3));
    await mk(2, bits(3, 5));
    await mk(3, bits(5));
    await mk(4, bits(4)); // neighbours of 3 and 5, so a byte or substring test would be caught
    await mk(5, bits(35));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const listed = async (...args: string[]) => {
    const r = await ctrack('-L', ...args, '--netns', ns.name);
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter(Boolean).map((l) => /src=(10\.40\.0\.\d+)/.exec(l)?.[1]).sort();
  };

  test.each([
    [['-l', '3'], ['10.40.0.1', '10.40.0.2']],
    [['-l', '3,5'], ['10.40.0.2']],
    [['-l', '3', '-l', '5'], ['10.40.0.2']],
    [['-l', '35'], ['10.40.0.5']],
    [['-l', 'blocked,audit'], ['10.40.0.2']],
    [['-l', 'audit'], ['10.40.0.2', '10.40.0.3']],
  ])('ctrack -L %j', async (args, expected) => {
    expect(await listed(...args, '--labels-file', join(dir, 'connlabel.conf'))).toEqual(expected);
  });

  test('ctrack -U --label-add / --label-del set and clear only those bits (read back from the kernel)', async () => {
    const file = join(dir, 'connlabel.conf');
    const setBits = async (): Promise<number[]> => {
      const f = await ct.get({ src: '10.40.0.4', dst: '10.41.0.1', protoNum: 17, srcPort: 1, dstPort: 2 });
      const out: number[] = [];
      for (let b = 0; b < 128; b++) if (f.labels && (f.labels[b >> 3] & (1 << (b & 7))) !== 0) out.push(b);
      return out;
    };
    expect(await setBits()).toEqual([4]);
    let r = await ctrack('-U', '-s', '10.40.0.4', '--label-add', 'blocked,35', '--labels-file', file, '--netns', ns.name);
    expect([r.code, r.stderr.trim()]).toEqual([0, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been updated.']);
    expect(r.stdout).toMatch(/src=10\.40\.0\.4 /);
    expect(await setBits()).toEqual([3, 4, 35]);
    r = await ctrack('-U', '-s', '10.40.0.4', '--label-del', '4', '--label-del', 'blocked', '--label-add', 'audit', '--labels-file', file, '--netns', ns.name);
    expect(r.code).toBe(0);
    expect(await setBits()).toEqual([5, 35]);
    expect(await listed('-l', 'audit', '--labels-file', file)).toContain('10.40.0.4');
    // the other entries kept theirs
    expect(await listed('-l', '3', '--labels-file', file)).toEqual(['10.40.0.1', '10.40.0.2']);
    for (const bad of [['-L', '--label-add', '3'], ['-U', '-s', '10.40.0.4', '--label-add', 'nosuch', '--labels-file', file], ['-U', '-s', '10.40.0.4', '--label-del', '128']]) {
      expect((await ctrack(...bad, '--netns', ns.name)).code).toBe(2);
    }
  });

  test('deleteMatching with a label filter deletes only entries with both bits; conntrack sees the rest', async () => {
    expect(await ct.deleteMatching(new FilterBuilder().label(3).label(5))).toBe(1);
    expect(ns.conntrack('-L')).not.toContain('src=10.40.0.2 ');
    expect(count()).toBe(4);
  });

  test('an unknown label name is a usage error (exit 2)', async () => {
    const r = await ctrack('-L', '-l', 'nosuch', '--labels-file', join(dir, 'connlabel.conf'), '--netns', ns.name);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown label 'nosuch'/);
  });
});
