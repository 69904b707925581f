// The event stream against the real kernel, in a private network namespace.
import { execFileSync } from 'child_process';
import { Netns, tool } from './helpers/netns';
import { Conntrack } from '../src/conntrack';
import { FilterBuilder } from '../src/filter';
import * as L from '../src/generated/layout';
import type { Flow } from '../src/types';
import { sleep, until as waitUntil } from './helpers/wait';

let ns: Netns;
let ct: Conntrack;

beforeAll(async () => {
  ns = Netns.create();
  ct = await Conntrack.open({ netns: ns.name });
});

afterAll(() => {
  ct?.close();
  ns?.destroy();
});

/** Wait until `cond` holds (polling), at most `ms`. */
const until = (cond: () => boolean, ms = 5000): Promise<void> => waitUntil(cond, ms, 20);

test("'event' and the async iterator see NEW and DESTROY of an entry; 'batch' reads records in place", async () => {
  const stream = ct.events();
  const seen: Flow[] = [];
  const batchIds: number[] = [];
  stream.on('event', (e) => seen.push(e as Flow));
  stream.on('batch', (b) => {
    for (let i = 0; i < b.size; i++) {
      const r = b.record(i);
      if (r.kind === L.KIND_FLOW) batchIds.push(r.flow().id as number);
    }
  });
  const iterated: Flow[] = [];
  const it = (async () => {
    for await (const e of stream) {
      iterated.push(e as Flow);
      if (iterated.length === 2) break;
    }
  })();
  await sleep(100);
  await ct.create({ orig: { src: '10.60.0.1', dst: '10.60.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 100 });
  await ct.delete({ src: '10.60.0.1', dst: '10.60.0.2', protoNum: 17, srcPort: 1, dstPort: 2 });
  await until(() => seen.length >= 2);
  await it;
  stream.close();
  stream.close();
  expect(seen.map((e) => e.event)).toEqual(['new', 'destroy']);
  expect(seen[0].orig).toMatchObject({ src: '10.60.0.1', dstPort: 2 });
  // events caused by our own requests carry our port id in nlmsg_pid
  expect(seen[0].pid).toBe(ct.portId);
  expect(iterated.map((e) => e.id)).toEqual(seen.map((e) => e.id));
  expect(batchIds).toEqual(seen.map((e) => e.id));
});

test("an overrun is reported as 'overflow', the stream goes on, and resync gives the table as conntrack -L has it", async () => {
  const stream = ct.events({ groups: ['new'], bufferSize: 4096, resync: true });
  let overflows = 0;
  let snapshot: Flow[] | undefined;
  const after: Flow[] = [];
  stream.on('overflow', ({ total }) => (overflows = total));
  stream.on('resync', (s) => (snapshot = s));
  stream.on('event', (e) => after.push(e as Flow));
  // 300 creates from another process while this one's event loop is blocked
  // (execFileSync): nobody reads, the 4 KiB buffer overflows, and every
  // create is done before the stream sees the overrun (so the snapshot has
  // them all, however slow the machine is).
  execFileSync(tool('ip'), ['netns', 'exec', ns.name, '/bin/sh', '-c',
    `for i in $(seq 1 300); do ${tool('conntrack')} -I -p udp -s 10.61.$((i / 250)).$((i % 250)) -d 10.61.9.9 --sport 7 --dport 7 -t 300 2>/dev/null; done`]);
  await until(() => overflows > 0 && snapshot !== undefined);
  expect(overflows).toBeGreaterThan(0);
  expect(stream.overflows).toBe(overflows);
  const ids = [...ns.conntrack('-L', '-o', 'id').matchAll(/ id=(\d+)$/gm)].map((m) => Number(m[1])).sort();
  expect(snapshot!.map((f) => f.id).sort()).toEqual(ids);
  // the stream keeps going after the overrun
  const before = after.length;
  await ct.create({ orig: { src: '10.62.0.1', dst: '10.62.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 100 });
  await until(() => after.length > before);
  expect(after.at(-1)?.orig?.src).toBe('10.62.0.1');
  stream.close();
});

test('a filtered stream resyncs to the filtered table', async () => {
  const stream = ct.events({ groups: ['new'], bufferSize: 4096, resync: true, filter: new FilterBuilder().proto('udp').src('10.65.0.0/16') });
  let snapshot: Flow[] | undefined;
  stream.on('resync', (s) => (snapshot = s));
  // UDP and TCP entries while nobody reads: the 4 KiB buffer overflows (the BPF
  // passes only the UDP ones, 300 of them, still far more than 4 KiB)
  execFileSync(tool('ip'), ['netns', 'exec', ns.name, '/bin/sh', '-c',
    `for i in $(seq 1 300); do ${tool('conntrack')} -I -p udp -s 10.65.$((i / 250)).$((i % 250)) -d 10.65.9.9 --sport 7 --dport 7 -t 300 2>/dev/null; ` +
    `${tool('conntrack')} -I -p tcp -s 10.65.$((i / 250)).$((i % 250)) -d 10.65.9.9 --sport 7 --dport 7 -t 300 --state ESTABLISHED 2>/dev/null; done`]);
  await until(() => snapshot !== undefined);
  stream.close();
  const ids = [...ns.conntrack('-L', '-p', 'udp', '-s', '10.65.0.0/16', '-o', 'id').matchAll(/ id=(\d+)$/gm)].map((m) => Number(m[1])).sort();
  expect(ids).toHaveLength(300);
  expect(snapshot!.map((f) => f.id).sort()).toEqual(ids);
});

test('growBuffer doubles the receive buffer after each overrun, up to the cap', async () => {
  const stream = ct.events({ groups: ['new'], bufferSize: 4096, growBuffer: 65536 });
  const sizes: number[] = [];
  stream.on('overflow', ({ bufferSize }) => sizes.push(bufferSize));
  const start = stream.bufferSize;
  expect(start).toBe(8192); // the kernel doubles what is asked
  // bursts while this process's event loop is blocked: each overflows the buffer
  for (let burst = 0; burst < 8 && stream.bufferSize < 131072; burst++) {
    execFileSync(tool('ip'), ['netns', 'exec', ns.name, '/bin/sh', '-c',
      `for i in $(seq 1 200); do ${tool('conntrack')} -I -p udp -s 10.64.${burst}.$i -d 10.64.9.9 --sport 7 --dport 7 -t 300 2>/dev/null; done`]);
    const seen = sizes.length;
    await until(() => sizes.length > seen, 5000).catch(() => undefined);
  }
  stream.close();
  expect(sizes.length).toBeGreaterThan(0);
  // 4 KiB asked -> 8, 16, 32, 64 KiB asked (the kernel reports twice that), never past the cap
  expect(sizes.every((s, i) => i === 0 || s >= sizes[i - 1])).toBe(true);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * 65536);
  expect(sizes[0]).toBe(16384);
  expect(() => ct.events({ growBuffer: -1 })).toThrow(/growBuffer/);
});

test('bad options are refused', () => {
  expect(() => ct.events({ groups: [] })).toThrow(/no event groups/);
  expect(() => ct.events({ groups: ['nope' as 'new'] })).toThrow(/'new', 'update' or 'destroy'/);
});

test('a forged event unicast from another netlink socket is dropped and counted, never decoded', async () => {
  const stream = ct.events({ groups: ['new'] });
  const seen: Flow[] = [];
  stream.on('event', (e) => seen.push(e as Flow));
  // A real captured NEW event (test/fixtures/ipv4-basic/events.pcap, first
  // datagram), sent by a second NETLINK_NETFILTER socket straight to our port.
  const { readPcapBuffer } = await import('../src/pcap');
  const fs = await import('fs');
  const path = await import('path');
  const forged = [...readPcapBuffer(fs.readFileSync(path.join(__dirname, 'fixtures', 'ipv4-basic', 'events.pcap')))][0].data;
  ns.exec(tool('python3'), ['-c', `
import socket, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
s.sendto(bytes.fromhex(sys.argv[1]), (${stream.portId}, 0))
`, Buffer.from(forged).toString('hex')]);
  await until(() => stream.counters().spoofed > 0, 2000);
  // a real event still arrives
  await ct.create({ orig: { src: '10.63.0.1', dst: '10.63.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 100 });
  await until(() => seen.length > 0);
  stream.close();
  expect(stream.counters().spoofed).toBe(1);
  expect(seen.map((e) => e.orig?.src)).toEqual(['10.63.0.1']);
});
