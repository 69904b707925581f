// ctrack -E against the kernel: filter flags (BPF + WASM), --write then
// --replay, and the [USERSPACE] portid=N progname=X tag, each side by side
// with conntrack -E on the same events.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { parseArgs } from '../src/cli/args';
import { Output, runLive, type LiveSignals } from '../src/cli/run';
import { readPcapBuffer } from '../src/pcap';
import { readFileSync } from 'fs';
import { prognameCache } from '../src/cli/progname';
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
function theirs(argv: string[]): { proc: ChildProcessWithoutNullStreams; out: () => string; stop: () => Promise<void> } {
  const proc = spawn(tool('ip'), ['netns', 'exec', ns.name, tool('conntrack'), '-E', ...argv]);
  let out = '';
  proc.stdout.on('data', (b) => (out += b));
  return {
    proc,
    out: () => out,
    stop: async () => {
      proc.kill('SIGINT');
      await new Promise((r) => proc.on('close', r));
    },
  };
}

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

test('[USERSPACE] portid=N progname=X: the same as conntrack -E for events a live process caused', async () => {
  const a = ours(['-E', '-o', 'id']);
  const b = theirs(['-o', 'id']);
  await sleep(800);
  // a node process whose first netlink socket has port id = its pid, alive while the events are printed
  const script = `
const { Conntrack } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'conntrack.js'))});
(async () => {
  const ct = await Conntrack.open({ netns: ${JSON.stringify(ns.name)} });
  for (let i = 0; i < 3; i++) {
    const orig = { src: '10.91.0.' + (i + 1), dst: '10.91.0.9', protoNum: 17, srcPort: 5, dstPort: 6 };
    await ct.create({ orig, timeout: 60 });
    await ct.delete(orig);
  }
  setTimeout(() => ct.close(), 1500);
})();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  await new Promise((r) => child.on('close', r));
  a.stop();
  await b.stop();
  const r = await a.done;
  expect(lines(r.out)).toHaveLength(6);
  for (const l of lines(r.out)) expect(l).toMatch(new RegExp(` \\[USERSPACE\\] portid=${child.pid} progname=node$`));
  expect(lines(r.out)).toEqual(lines(b.out()));
}, 30000);

test('the progname cache reads /proc once per port id and stays bounded', () => {
  const reads: number[] = [];
  const p = prognameCache(2, (pid) => {
    reads.push(pid);
    return pid === 1 ? 'init' : undefined;
  });
  expect([p(1), p(1), p(7), p(7), p(1)]).toEqual(['init', 'init', undefined, undefined, 'init']);
  expect(reads).toEqual([1, 7]);
  p(8); // evicts the oldest (1)
  p(1);
  expect(reads).toEqual([1, 7, 8, 1]);
  expect(prognameCache()(process.pid)).toBe(readFileSync('/proc/self/comm', 'utf8').trim());
  expect(prognameCache()(3151671392)).toBeUndefined(); // not a pid
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
  ns.conntrack('-D', '-p', 'udp', '--dport', '7201');
  await sleep(800);
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
