// ctrack and the Conntrack API against the real kernel, compared with the
// real conntrack tool on the same table, in a private network namespace
// created for this file and deleted afterwards.
//
// Only fields that change between two reads of a live table may differ (see
// helpers/compare.ts): timeout, delta-time, use. Ours always reads first.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Netns, tool } from './helpers/netns';
import { ctrack } from './helpers/cli';
import { expectSameDump } from './helpers/compare';
import { parseArgs } from '../src/cli/args';
import { Output, runLive, type LiveSignals } from '../src/cli/run';
import { Conntrack } from '../src/conntrack';
import type { Flow } from '../src/types';

let ns: Netns;

// Real traffic on loopback inside the namespace: a TCP connection with data
// both ways (ends in TIME_WAIT), and a UDP request/reply.
const TRAFFIC = `
import socket
srv = socket.socket(); srv.bind(('127.0.0.1', 5001)); srv.listen(1)
c = socket.create_connection(('127.0.0.1', 5001)); a, _ = srv.accept()
c.sendall(b'hello'); a.recv(5); a.sendall(b'world'); c.recv(5); c.close(); a.close(); srv.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 5002))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.sendto(b'q', ('127.0.0.1', 5002))
d, addr = u.recvfrom(10); u.sendto(b'r', addr); v.recvfrom(10)
`;

// conntrack -I entries: every L4 form the kernel accepts here, marks, zones,
// statuses, IPv6, and NAT-looking reply tuples.
const INSERTS: string[][] = [
  ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '1000', '--dport', '80', '-t', '500', '--state', 'ESTABLISHED', '-u', 'ASSURED,SEEN_REPLY', '-m', '7'],
  ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '1001', '--dport', '443', '-t', '400', '--state', 'SYN_SENT'],
  ['-p', 'udp', '-s', 'fd00::1', '-d', 'fd00::2', '--sport', '53', '--dport', '5353', '-t', '300', '-m', '0xff'],
  ['-p', 'udp', '-s', '192.168.1.10', '-d', '8.8.8.8', '--sport', '4000', '--dport', '53', '-r', '8.8.8.8', '-q', '203.0.113.1', '--reply-port-src', '53', '--reply-port-dst', '61000', '-t', '300', '-u', 'SEEN_REPLY'],
  ['-p', 'icmp', '-s', '10.0.0.3', '-d', '10.0.0.4', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '200'],
  ['-p', 'icmpv6', '-s', 'fd00::3', '-d', 'fd00::4', '--icmpv6-type', '128', '--icmpv6-code', '0', '--icmpv6-id', '78', '-t', '200'],
  ['-p', 'sctp', '-s', '10.0.0.5', '-d', '10.0.0.6', '--sport', '3868', '--dport', '3868', '-t', '300', '--state', 'ESTABLISHED', '--orig-vtag', '1', '--reply-vtag', '2'],
  ['-p', 'tcp', '-s', '10.1.0.1', '-d', '10.1.0.2', '--sport', '2000', '--dport', '22', '-t', '500', '--state', 'ESTABLISHED', '-w', '5'],
  // the kernel refuses both directional zones at once ("invalid parameters")
  ['-p', 'udp', '-s', '2001:db8::1', '-d', '2001:db8:0:1::2', '--sport', '1', '--dport', '2', '-t', '300', '--orig-zone', '3'],
  ['-p', 'udp', '-s', '10.9.0.1', '-d', '10.9.0.3', '--sport', '1', '--dport', '2', '-t', '300', '--reply-zone', '4'],
  // real NAT set up by the kernel (CTA_NAT_SRC / CTA_NAT_DST: status gets *_NAT_DONE)
  ['-p', 'tcp', '-s', '10.7.0.1', '-d', '10.7.0.2', '--sport', '1000', '--dport', '80', '-t', '300', '--state', 'ESTABLISHED', '--src-nat', '192.168.0.9'],
  ['-p', 'udp', '-s', '10.7.0.1', '-d', '10.7.0.2', '--sport', '1000', '--dport', '53', '-t', '300', '--dst-nat', '10.9.9.9:5353'],
];

beforeAll(() => {
  ns = Netns.create();
  ns.exec(tool('python3'), ['-c', TRAFFIC]);
  for (const args of INSERTS) ns.conntrack('-I', ...args);
});

afterAll(() => {
  ns?.destroy();
});

/** conntrack inside the namespace: stdout, stderr and status. */
const theirs = (...args: string[]): { stdout: string; stderr: string; code: number } => ns.conntrackRun(...args);

test('the namespace holds a diverse table', () => {
  const lines = theirs('-L').stdout.trim().split('\n');
  expect(lines.length).toBeGreaterThanOrEqual(INSERTS.length + 2);
  for (const p of ['tcp ', 'udp ', 'icmp ', 'icmpv6 ', 'sctp ', 'zone=5', 'zone-orig=3', 'zone-reply=4', 'mark=7', 'TIME_WAIT', '[ASSURED]']) {
    expect(lines.join('\n')).toContain(p);
  }
});

describe.each([
  [[]],
  [['-o', 'extended']],
  [['-o', 'id']],
  [['-o', 'extended,id,ktimestamp']],
  [['-o', 'xml']],
  [['-f', 'ipv6', '-o', 'extended']],
  [['-f', 'ipv4']],
  [['dying']],
  [['unconfirmed']],
  [['expect']],
  // filter flags: evaluated by our WASM filter program, by conntrack in user space
  [['-p', 'tcp']],
  [['-p', 'udp', '--dport', '53']],
  [['-s', '10.0.0.0/24']],
  [['-s', '10.0.0.1', '-d', '10.0.0.2', '-p', 'tcp', '--sport', '1000']],
  [['-d', 'fd00::2']],
  [['-r', '8.8.8.8', '-q', '203.0.113.1']],
  [['-p', 'udp', '--reply-port-src', '53']],
  [['-m', '7']],
  [['-m', '0xf0/0xf0']],
  [['-u', 'ASSURED']],
  [['-w', '5']],
  [['-p', 'tcp', '--state', 'ESTABLISHED']],
  [['-p', 'icmp', '--icmp-type', '8']],
  [['-f', 'ipv6', '-p', 'udp', '-o', 'extended']],
  [['-p', 'sctp', '--state', 'ESTABLISHED']],
  [['--src-nat']],
  [['--dst-nat']],
  [['--any-nat']],
  [['--src-nat', '--dst-nat']],
  [['--dst-nat', '10.9.9.9']],
  [['--dst-nat', '10.9.9.9:5353']],
  [['--src-nat', '192.168.0.9:1000']],
  [['--any-nat', '192.168.0.9']],
  [['-p', 'tcp', '--any-nat']],
  [['-f', 'ipv4', '-s', '10.7.0.1', '-p', 'udp', '--dport', '53']],
  // conntrack's other long names
  [['--protonum', 'tcp', '--orig-src', '10.0.0.1', '--orig-dst', '10.0.0.2', '--orig-port-src', '1000', '--orig-port-dst', '80']],
  // conntrack's netmask spelling of a prefix
  [['-s', '10.0.0.0', '--mask-src', '255.255.255.0']],
  [['-d', 'fd00::', '--mask-dst', 'ffff:ffff::']],
  [['-s', '10.0.0.0', '--mask-src', '255.0.0.0', '-d', '10.0.0.0', '--mask-dst', '255.255.0.0', '-p', 'tcp']],
  // any netmask: 10.x.0.1 (four sources); an address with bits outside its mask; IPv6
  [['-s', '10.0.0.1', '--mask-src', '255.0.255.255']],
  [['-s', '10.5.0.1', '--mask-src', '255.0.255.255', '-p', 'udp']],
  [['-s', '10.0.0.1', '--mask-src', '255.0.0.1', '-d', '10.0.0.4', '--mask-dst', '0.0.0.255']],
  [['-d', 'fd00::4', '--mask-dst', 'ffff::ff']],
  // -c (--secmark): conntrack 1.4.7 accepts it and lists every entry anyway
  [['-c', '5']],
  [['--secmark', '0', '-p', 'udp']],
  [['dying', '-c', '7']],
])('ctrack -L %j equals conntrack -L on the same table', (extra) => {
  test('stdout and summary', async () => {
    const ours = await ctrack('-L', ...extra, '--netns', ns.name);
    const ref = theirs('-L', ...extra);
    expectSameDump(ours.stdout, ref.stdout);
    expect(ours.stderr.trim()).toBe(ref.stderr);
    expect(ours.code).toBe(ref.code);
  });
});

test('-c (--secmark) goes with -L and -E only; elsewhere both tools refuse it (exit 2)', async () => {
  const udp = ['-p', 'udp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2'];
  // conntrack is asked only where a wrong guess about it could not change the table
  const readOnly = [['-L', 'expect', '-c', '5'], ['-G', ...udp, '-c', '5'], ['-C', '-c', '5'], ['-S', '-c', '5'], ['-E', 'expect', '-c', '5']];
  const writing = [['-D', '-p', 'udp', '-c', '5'], ['-F', '-c', '5'], ['-I', ...udp, '-t', '10', '-c', '5'], ['-U', '-p', 'udp', '-m', '1', '-c', '5']];
  for (const bad of [...readOnly, ...writing]) {
    const r = await ctrack(...bad, '--netns', ns.name);
    expect({ bad, code: r.code, err: /-c \(--secmark\)/.test(r.stderr) }).toEqual({ bad, code: 2, err: true });
  }
  for (const bad of readOnly) {
    const ref = theirs(...bad);
    expect({ bad, code: ref.code, err: ref.stderr.includes("Illegal option `--secmark'") }).toEqual({ bad, code: 2, err: true });
  }
  expect(parseArgs(['-E', '-c', '5']).command).toBe('event');
});

test('ctrack -S and -C equal conntrack -S and -C', async () => {
  for (const cmd of [['-S'], ['-C'], ['-S', 'expect'], ['-C', 'expect']]) {
    const ours = await ctrack(...cmd, '--netns', ns.name);
    const ref = theirs(...cmd);
    expect(ours.stdout).toBe(ref.stdout);
    expect(ours.code).toBe(ref.code);
  }
});

describe('Conntrack API', () => {
  test('list(), dump() and count() agree with conntrack -L -o id', async () => {
    const ids = [...theirs('-L', '-o', 'id').stdout.matchAll(/ id=(\d+)$/gm)].map((m) => Number(m[1])).sort();
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      const listed = (await ct.list()) as Flow[];
      expect(listed.map((f) => f.id).sort()).toEqual(ids);
      const streamed: number[] = [];
      for await (const f of ct.dump({ highWaterMark: 2 })) streamed.push((f as Flow).id as number);
      expect(streamed.sort()).toEqual(ids);
      expect((await ct.count()).entries).toBe(ids.length);
      const v6 = (await ct.list({ family: 'ipv6' })) as Flow[];
      expect(v6.length).toBeGreaterThan(0);
      expect(v6.every((f) => f.family === 10 && f.orig?.l3proto === 10)).toBe(true);
      const stats = await ct.stats();
      expect(stats.map((s) => s.cpu)).toEqual([...Array(stats.length).keys()]);
    } finally {
      ct.close();
    }
  });

  test('zeroCounters returns the counters and leaves them at zero', async () => {
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      const before = (await ct.list({ zeroCounters: true })) as Flow[];
      expect(before.some((f) => (f.countersOrig?.packets ?? 0n) > 0n)).toBe(true);
      const after = (await ct.list()) as Flow[];
      expect(after.every((f) => f.countersOrig?.packets === 0n && f.countersReply?.packets === 0n)).toBe(true);
    } finally {
      ct.close();
    }
  });

  test('a slow consumer of dump() pauses the socket without timing the request out', async () => {
    // enough entries for a dump of several datagrams, so it is really paused mid-way
    ns.exec('/bin/sh', ['-c', `for i in $(seq 1 300); do ${tool('conntrack')} -I -p udp -s 10.7.$((i / 250)).$((i % 250)) -d 10.8.0.1 --sport 9 --dport 9 -t 600 2>/dev/null; done`]);
    const ct = await Conntrack.open({ netns: ns.name, timeout: 500, maxPerWake: 1 }); // one datagram per wake: paused mid-dump
    try {
      let n = 0;
      for await (const f of ct.dump({ highWaterMark: 1 })) {
        expect(f.kind).toBe('flow');
        if (n++ === 0) await new Promise((r) => setTimeout(r, 1500)); // 3x the timeout, paused
      }
      expect(n).toBeGreaterThan(300);
      expect(n).toBe((await ct.count()).entries);
    } finally {
      ct.close();
    }
  });

  test('leaving a dump early drains the rest unkept; the next request works', async () => {
    const ct = await Conntrack.open({ netns: ns.name, maxPerWake: 1 });
    try {
      let n = 0;
      for await (const f of ct.dump({ highWaterMark: 1 })) {
        expect(f.kind).toBe('flow');
        if (++n === 3) break;
      }
      expect(n).toBe(3);
      expect((await ct.list()).length).toBe((await ct.count()).entries);
    } finally {
      ct.close();
    }
  });

  test('dumpRecords: a throw from the callback ends the dump with that error; closing from it rejects with ERR_CT_CLOSED', async () => {
    const entries = (await (async () => {
      const c = await Conntrack.open({ netns: ns.name });
      try {
        return (await c.count()).entries;
      } finally {
        c.close();
      }
    })());
    expect(entries).toBeGreaterThan(3);
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      let seen = 0;
      const boom = new Error('boom');
      await expect(ct.dumpRecords({}, () => {
        if (++seen === 3) throw boom;
      })).rejects.toBe(boom);
      expect(seen).toBe(3); // nothing after the throw
    } finally {
      ct.close();
    }
    const ct2 = await Conntrack.open({ netns: ns.name });
    let seen = 0;
    await expect(ct2.dumpRecords({}, () => {
      if (++seen === 2) ct2.close();
    })).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
    expect(seen).toBe(2);
    // the whole dump when the callback neither throws nor closes
    const ct3 = await Conntrack.open({ netns: ns.name });
    try {
      let all = 0;
      expect(await ct3.dumpRecords({}, () => void all++)).toBe(all);
      expect(all).toBe(entries);
    } finally {
      ct3.close();
    }
  });

  test('a closed Conntrack rejects with ERR_CT_CLOSED', async () => {
    const ct = await Conntrack.open({ netns: ns.name });
    ct.close();
    ct.close();
    await expect(ct.list()).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
  });
});

test('ctrack -E prints the same lines as conntrack -E for the same events', async () => {
  let stopOurs = (): void => undefined;
  const signals: LiveSignals = {
    onStop(stop) {
      stopOurs = stop;
      return () => undefined;
    },
  };
  let out = '';
  let err = '';
  const ours = runLive(parseArgs(['-E', '-o', 'id', '--netns', ns.name]), {
    out: new Output((s) => (out += s)),
    err: (l) => (err += l + '\n'),
  }, signals);
  const ref = ns.conntrackListen('-E', '-o', 'id');
  await new Promise((r) => setTimeout(r, 700)); // both listening
  // packet-caused events (nlmsg_pid 0): UDP over IPv4 and IPv6
  ns.exec(tool('python3'), ['-c', `
import socket
for fam, addr in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    for port in (7001, 7002, 7003):
        socket.socket(fam, socket.SOCK_DGRAM).sendto(b'x', (addr, port))
`]);
  await new Promise((r) => setTimeout(r, 700));
  stopOurs();
  await ref.stop();
  expect(await ours).toBe(0);
  const lines = (t: string) => t.split('\n').filter(Boolean).sort();
  expect(lines(out)).toHaveLength(6);
  expect(lines(out)).toEqual(lines(ref.out()));
  expect(err.trim()).toBe('conntrack v1.4.7 (conntrack-tools): 6 flow events have been shown.');
});

test('without privileges: exit 1 and one clear line naming CAP_NET_ADMIN', () => {
  const cli = path.join(__dirname, '..', 'dist', 'cli', 'ctrack.js');
  if (!fs.existsSync(cli)) throw new Error('dist/ is missing: run npm run build (npm install does)');
  const r = spawnSync(tool('ip'), ['netns', 'exec', ns.name, tool('setpriv'), '--reuid=nobody', '--regid=nogroup', '--clear-groups',
    process.execPath, cli, '-L'], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(/CAP_NET_ADMIN.*ERR_CT_PERMISSION/);
  expect(r.stdout).toBe('');
});

// Last in this file: it zeroes the counters of the table the tests above read.
test('ctrack -L -z prints what conntrack -L printed just before and leaves the counters at zero, as conntrack -L -z does', async () => {
  // fresh counters: a UDP exchange of a few packets
  ns.exec(tool('python3'), ['-c', `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 5102))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    v.sendto(b'q' * 100, ('127.0.0.1', 5102)); d, addr = u.recvfrom(200); u.sendto(b'r', addr); v.recvfrom(10)
`]);
  const before = theirs('-L', '-o', 'extended');
  expect(before.stdout).toMatch(/dport=5102 packets=3 bytes=\d+ src=127\.0\.0\.1 dst=127\.0\.0\.1 sport=5102 dport=\d+ packets=3 /);
  // this time conntrack reads first (expectSameDump's first argument): the
  // listing shows the counters from before the reset
  const ours = await ctrack('-L', '-z', '-o', 'extended', '--netns', ns.name);
  // Kernel quirk, seen with conntrack -L -z too (1 entry in ~1,000 over 15
  // dumps each; ours 4 in ~1,000): a CTRZERO dump now and then returns one
  // entry with its counters already zeroed. Probably the entry that did not
  // fit the rest of a dump datagram: its counters were exchanged with 0 while
  // it was being written, and it is sent again in the next datagram. At most
  // one such entry is allowed here; every other byte must match.
  const counters = /packets=\d+ bytes=\d+/g;
  let straddled = 0;
  const want = before.stdout.split('\n');
  const got = ours.stdout.split('\n').map((line, i) => {
    const was = want[i] ?? '';
    if (line === was || /packets=[1-9]|bytes=[1-9]/.test(line) || !/packets=[1-9]/.test(was)) return line;
    straddled++;
    // give it the counters conntrack printed; expectSameDump compares the rest
    const old = was.match(counters) ?? [];
    let k = 0;
    return line.replace(counters, () => old[k++] ?? '');
  });
  expect(straddled).toBeLessThanOrEqual(1);
  expectSameDump(before.stdout, got.join('\n'));
  expect(ours.stderr.trim()).toBe(before.stderr);
  expect(ours.code).toBe(0);
  const after = theirs('-L').stdout.trim().split('\n');
  expect(after.length).toBe(before.stdout.trim().split('\n').length);
  expect(after.every((l) => !/packets=[1-9]|bytes=[1-9]/.test(l))).toBe(true);
  // the real tool on the same table: zeroed already, so both list zero counters now
  const again = await ctrack('-L', '-z', '--netns', ns.name);
  expectSameDump(again.stdout, theirs('-L', '-z').stdout);
  // only with -L on the conntrack table, and never on a capture (exit 2, like conntrack's "Illegal option")
  // -f: only that family is dumped, so only it is zeroed
  ns.exec(tool('python3'), ['-c', `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 5103))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.sendto(b'q', ('127.0.0.1', 5103)); u.recvfrom(10)
`]);
  const v6 = await ctrack('-L', '-z', '-f', 'ipv6', '--netns', ns.name);
  expect(v6.code).toBe(0);
  expect(v6.stdout).not.toContain('127.0.0.1');
  expect(theirs('-L').stdout).toMatch(/dport=5103 packets=1 bytes=29 /);
  // as conntrack: no -z with filtering parameters (the kernel would zero what the filter leaves out)
  for (const bad of [['-L', '-z', '-p', 'tcp'], ['-L', '-z', '-s', '10.0.0.1'], ['-L', '-z', '-m', '1'], ['-L', '-z', '-c', '1']]) {
    const r = await ctrack(...bad, '--netns', ns.name);
    const ref = theirs(...bad);
    expect([r.code, ref.code]).toEqual([2, 2]);
    expect(ref.stderr).toContain("Can't use -z with filtering parameters");
    expect(r.stderr).toContain("Can't use -z with filtering parameters");
  }
  for (const bad of [['-L', 'expect', '-z'], ['-G', '-z', '-p', 'tcp', '-s', '1.1.1.1', '-d', '2.2.2.2'], ['-D', '-z']]) {
    const r = await ctrack(...bad, '--netns', ns.name);
    expect({ bad, code: r.code, err: /-z/.test(r.stderr) }).toEqual({ bad, code: 2, err: true });
    expect({ bad, code: theirs(...bad).code }).toEqual({ bad, code: 2 }); // conntrack: "Illegal option `--zero'"
  }
  for (const bad of [['-E', '-z'], ['-L', '-z', '--replay', 'x.pcap']]) expect((await ctrack(...bad, '--netns', ns.name)).code).toBe(2);
});
