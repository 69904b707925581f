// ctrack -E against the kernel: filter flags (BPF + WASM), --write then
// --replay, and the [USERSPACE] portid=N progname=X tag, each side by side
// with conntrack -E on the same events.
import { spawn, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { parseArgs } from '../src/cli/args';
import { Output, runLive, type LiveSignals } from '../src/cli/run';
import { readPcapBuffer } from '../src/pcap';
import { netlinkInode, prognameResolver, statName, type ProcSource } from '../src/cli/progname';
import { Netns, tool } from './helpers/netns';
import { ctrack } from './helpers/cli';
import { sleep } from './helpers/wait';

let ns: Netns;
let dir: string;
beforeAll(() => {
  ns = Netns.create();
  dir = mkdtempSync(path.join(tmpdir(), 'ctrack-events-'));
});
afterAll(() => {
  ns?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const lines = (t: string) => t.split('\n').filter(Boolean).sort();

/** ctrack -E in-process until stop(). */
function ours(argv: string[]): { stop: () => void; done: Promise<{ code: number; out: string; err: string }> } {
  let stopFn = (): void => undefined;
  const signals: LiveSignals = { onStop(stop) { stopFn = stop; return () => undefined; } };
  let out = '';
  let err = '';
  const done = runLive(parseArgs([...argv, '--netns', ns.name]), { out: new Output((s) => (out += s)), err: (l) => (err += l + '\n') }, signals)
    .then((code) => ({ code, out, err }));
  return { stop: () => stopFn(), done };
}

/** conntrack -E in the namespace until stopped. */
const theirs = (argv: string[]) => ns.conntrackListen('-E', ...argv);

function udpTraffic(ports: number[]): void {
  ns.exec(tool('python3'), ['-c', `
import socket
for fam, addr in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    for port in (${ports.join(', ')},):
        socket.socket(fam, socket.SOCK_DGRAM).sendto(b'x', (addr, port))
`]);
}

test('ctrack -E -p udp --dport N: the same lines as conntrack -E with the same filter; --write records only what passed the BPF; --replay prints the same lines', async () => {
  const file = path.join(dir, 'events.pcap');
  const a = ours(['-E', '-o', 'id', '-p', 'udp', '--dport', '7101', '--write', file]);
  const b = theirs(['-o', 'id', '-p', 'udp', '--dport', '7101']);
  await sleep(800); // both listening
  udpTraffic([7101, 7102, 7103, 7104]);
  await sleep(800);
  a.stop();
  await b.stop();
  const r = await a.done;
  expect(r.code).toBe(0);
  expect(lines(r.out)).toHaveLength(2); // IPv4 and IPv6 to port 7101
  expect(lines(r.out)).toEqual(lines(b.out()));
  // the capture holds exactly the datagrams of those two events: the others were dropped by the kernel
  const recs = [...readPcapBuffer(readFileSync(file))];
  expect(recs).toHaveLength(2);
  const replayed = await ctrack('-E', '-o', 'id', '--replay', file);
  expect(lines(replayed.stdout)).toEqual(lines(r.out));
  expect(replayed.stderr.trim()).toBe('conntrack v1.4.7 (conntrack-tools): 2 flow events have been shown.');
}, 30000);

test('ctrack -E --write then --replay: the same lines, the receive time prefix included', async () => {
  const file = path.join(dir, 'all.pcap');
  const a = ours(['-E', '-o', 'timestamp,id,extended', '--write', file]);
  await sleep(500);
  udpTraffic([7201, 7202]);
  ns.conntrack('-I', '-p', 'tcp', '-s', '10.90.0.1', '-d', '10.90.0.2', '--sport', '1', '--dport', '2', '--state', 'ESTABLISHED', '-t', '50');
  ns.conntrack('-D', '-p', 'tcp', '-s', '10.90.0.1');
  await sleep(500);
  a.stop();
  const r = await a.done;
  const replayed = await ctrack('-E', '-o', 'timestamp,id,extended', '--replay', file);
  expect(lines(r.out).length).toBeGreaterThanOrEqual(6);
  // progname is looked up live only (the capture cannot say which process it was)
  const noProg = (t: string) => lines(t).map((l) => l.replace(/ progname=\S+$/, ''));
  expect(noProg(replayed.stdout)).toEqual(noProg(r.out));
  // and tshark dissects the capture: one netlink-netfilter frame per event, ctnetlink NEW (0x100) / DELETE (0x102)
  const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.protocols', '-e', 'netlink.hdr_type'],
    { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (t.error || t.status !== 0) throw new Error(`tshark failed (install the Debian package tshark): ${String(t.error ?? t.stderr)}`);
  const rows = t.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  expect(rows).toHaveLength(lines(r.out).length);
  for (const [protocols, type] of rows) {
    expect(protocols).toContain('netlink-netfilter');
    expect([0x100, 0x102]).toContain(Number(type));
  }
}, 30000);

/**
 * Runs `body` (JS with `ct`, an open Conntrack in the namespace) in a node
 * child that keeps its sockets open for 1.5 s afterwards, so that both tools
 * can still find it in /proc when they print its events. Returns its pid.
 */
async function liveRequester(body: string): Promise<number> {
  const script = `
const { Conntrack, FilterBuilder } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
(async () => {
  const ct = await Conntrack.open({ netns: ${JSON.stringify(ns.name)} });
  ${body}
  setTimeout(() => ct.close(), 1500);
})();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  await new Promise((r) => child.on('close', r));
  return child.pid!;
}

test('[USERSPACE] portid=N progname=X: the same as conntrack -E for events a live process caused', async () => {
  const a = ours(['-E', '-o', 'id']);
  const b = theirs(['-o', 'id']);
  await sleep(800);
  // requests on the process's first netlink socket: its port id is the pid
  const pid = await liveRequester(`
  for (let i = 0; i < 3; i++) {
    const orig = { src: '10.91.0.' + (i + 1), dst: '10.91.0.9', protoNum: 17, srcPort: 5, dstPort: 6 };
    await ct.create({ orig, timeout: 60 });
    await ct.delete(orig);
  }`);
  a.stop();
  await b.stop();
  const r = await a.done;
  expect(lines(r.out)).toHaveLength(6);
  for (const l of lines(r.out)) expect(l).toMatch(new RegExp(` \\[USERSPACE\\] portid=${pid} progname=node$`));
  expect(lines(r.out)).toEqual(lines(b.out()));
}, 30000);

test('[USERSPACE]: a port id that is not a pid is found by its socket in /proc/*/fd, as conntrack finds it', async () => {
  const a = ours(['-E', '-o', 'id', '-p', 'udp', '--dport', '7301']);
  const b = theirs(['-o', 'id', '-p', 'udp', '--dport', '7301']);
  await sleep(800);
  for (let i = 1; i <= 3; i++) ns.conntrack('-I', '-p', 'udp', '-s', `10.92.0.${i}`, '-d', '10.92.0.9', '--sport', '5', '--dport', '7301', '-t', '60');
  // deleteMatching deletes on a second socket: the kernel gives it a port id that is no pid
  const pid = await liveRequester(`await ct.deleteMatching(new FilterBuilder().proto('udp').dport(7301));`);
  await sleep(300);
  a.stop();
  await b.stop();
  const destroys = lines((await a.done).out).filter((l) => l.startsWith('[DESTROY]'));
  expect(destroys).toHaveLength(3);
  for (const l of destroys) {
    const portid = Number(/ portid=(\d+)/.exec(l)?.[1]);
    expect(portid).not.toBe(pid);
    expect(l).toMatch(/ progname=node$/);
  }
  expect(destroys).toEqual(lines(b.out()).filter((l) => l.startsWith('[DESTROY]')));
}, 30000);

/** A fake /proc: netlink sockets (protocol, port id, inode), processes with their fds and stat names. */
function fakeProc(sockets: Array<[number, number, number]>, procs: Record<number, { fds: string[]; name: string }>, reads: string[] = []): ProcSource {
  return {
    netlinkTable() {
      reads.push('netlink');
      return 'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n' +
        sockets.map(([proto, portid, inode]) => `00000000abe34a75 ${proto}  ${portid}      00000000 0        0        0     2        0        ${inode} \n`).join('');
    },
    pids: () => Object.keys(procs).map(Number),
    fdLinks(pid) {
      reads.push(`fd ${pid}`);
      return procs[pid]?.fds ?? [];
    },
    stat: (pid) => (procs[pid] ? `${pid} (${procs[pid].name}) S 1 2 3` : undefined),
  };
}

test('progname lookup, step by step as conntrack 1.4.7 does it', () => {
  const procs = {
    1: { fds: ['socket:[500]'], name: 'init' },
    4242: { fds: ['/dev/null', 'socket:[100]'], name: 'node' },
    77: { fds: ['pipe:[9]', 'socket:[200]'], name: 'conntrack' },
    78: { fds: ['socket:[300]'], name: 'a (b) c' },
  };
  const sockets: Array<[number, number, number]> = [
    [0, 4242, 99], // NETLINK_ROUTE with the same port id: not ours
    [12, 4242, 100], // port id = pid
    [12, 2944228115, 200], // a second socket: a port id that is no pid
    [12, 5, 300],
    [12, 6, 500], // held only by pid 1, which the search skips
    [12, 7, 600], // held by nobody any more
  ];
  const cases: Array<[number, string | undefined]> = [
    [4242, 'node'],
    [2944228115, 'conntrack'],
    [5, 'a (b'], // cut at the first ')' like fscanf("%*u (%m[^)]")
    [6, undefined],
    [7, undefined],
    [8, undefined], // not in /proc/net/netlink: the socket is closed
  ];
  for (const [portid, want] of cases) {
    let t = 0;
    const p = prognameResolver(fakeProc(sockets, procs), () => (t += 10));
    expect({ portid, name: p(portid) }).toEqual({ portid, name: want });
  }
  expect(netlinkInode('garbage\n12 1 2\n', 1)).toBeUndefined();
  expect(statName('12 () S')).toBeUndefined();
  expect(statName('12 (node) S')).toBe('node');
});

test('progname lookup reads /proc/net/netlink once per millisecond per port id, and searches /proc once per (port id, inode)', () => {
  const reads: string[] = [];
  const procs = { 10: { fds: [], name: 'x' }, 11: { fds: ['socket:[200]'], name: 'conntrack' } };
  const sockets: Array<[number, number, number]> = [[12, 3000000000, 200]];
  let t = 0;
  const p = prognameResolver(fakeProc(sockets, procs, reads), () => t);
  expect([p(3000000000), p(3000000000)]).toEqual(['conntrack', 'conntrack']);
  expect(reads).toEqual(['netlink', 'fd 10', 'fd 11']); // the second event: no /proc read at all
  t = 5;
  expect(p(3000000000)).toBe('conntrack');
  expect(reads.slice(3)).toEqual(['netlink']); // the table again, the same inode: no search
  t = 10;
  sockets[0] = [12, 3000000000, 201]; // the port id now belongs to another socket
  expect(p(3000000000)).toBeUndefined();
  expect(reads.slice(4)).toEqual(['netlink', 'fd 10', 'fd 11']);
  t = 20;
  sockets.length = 0; // closed
  expect(p(3000000000)).toBeUndefined();
  expect(reads.slice(7)).toEqual(['netlink']);
});

test('ctrack -E -e NEW,DESTROY: the same lines as conntrack -E -e NEW,DESTROY (no UPDATE events); -b sets the buffer', async () => {
  const a = ours(['-E', '-o', 'id', '-e', 'NEW,DESTROY', '-b', '4194304', '-p', 'udp', '--dport', '7201']);
  const b = theirs(['-o', 'id', '-e', 'NEW,DESTROY', '-p', 'udp', '--dport', '7201']);
  const all = ours(['-E', '-o', 'id', '-p', 'udp', '--dport', '7201']);
  await sleep(800); // all listening
  // NEW, then an UPDATE (the reply makes it SEEN_REPLY), then DESTROY
  ns.exec(tool('python3'), ['-c', `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 7201))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.sendto(b'q', ('127.0.0.1', 7201))
d, addr = u.recvfrom(10); u.sendto(b'r', addr); v.recvfrom(10)
`]);
  // deleted by a process that outlives the prints: a conntrack -D that has
  // exited may or may not have been found in /proc by either tool
  await liveRequester(`await ct.deleteMatching(new FilterBuilder().proto('udp').dport(7201));`);
  await sleep(300);
  a.stop();
  all.stop();
  await b.stop();
  const r = await a.done;
  const everything = lines((await all.done).out);
  expect(r.code).toBe(0);
  expect(everything.some((l) => l.includes('[UPDATE]'))).toBe(true); // there was one to leave out
  const want = everything.filter((l) => !l.includes('[UPDATE]'));
  expect(want.some((l) => l.includes('[NEW]')) && want.some((l) => l.includes('[DESTROY]'))).toBe(true);
  expect(lines(r.out)).toEqual(want);
  expect(lines(r.out)).toEqual(lines(b.out()));
});

test('-e and -b are checked like conntrack checks them (exit 2); -e on a replayed capture keeps only those events', async () => {
  for (const bad of [['-E', '-e', 'FOO'], ['-E', '-e', 'NEW,'], ['-L', '-e', 'NEW'], ['-E', 'expect', '-e', 'NEW'], ['-L', '-b', '100'], ['-E', '-b', 'lots'], ['-E', '-b', '0']]) {
    const r = await ctrack(...bad, '--netns', ns.name);
    expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
    expect(r.stderr).toMatch(/^ctrack: .*(-e|-b)/);
  }
  // conntrack's spellings: case-insensitive prefixes
  expect(parseArgs(['-E', '-e', 'new,UPDATE,dest']).eventMask).toEqual(['new', 'update', 'destroy']);
  expect(parseArgs(['-E', '-e', 'ALL']).eventMask).toEqual(['new', 'update', 'destroy']);
  const capture = path.join(__dirname, 'fixtures', 'events-churn', 'events.pcap');
  const all = await ctrack('-E', '--replay', capture);
  const destroys = await ctrack('-E', '-e', 'DESTROY', '--replay', capture);
  expect(all.code).toBe(0);
  const want = all.stdout.split('\n').filter((l) => l.includes('[DESTROY]'));
  expect(want.length).toBeGreaterThan(10);
  expect(want.length).toBeLessThan(all.stdout.split('\n').filter(Boolean).length);
  expect(destroys.stdout.split('\n').filter(Boolean)).toEqual(want);
});
