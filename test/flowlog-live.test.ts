// The flow logger against the real kernel, in a private network namespace:
// scripted UDP exchanges with known directions and sizes, then deleted with
// conntrack -D so the DESTROY events carry the counters; every field checked.
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { Netns, tool } from './helpers/netns';
import { ConnTrack } from '../src/flowlog/tracker';
import type { FlowEventFields } from '../src/flowlog/types';
import { ctrack } from './helpers/cli';
import { sleep, until as waitUntil } from './helpers/wait';

let ns: Netns;

// The "overlay interface": 100.64.0.1 in 100.64.0.0/16; 100.64.0.5 is another
// peer; 10.9.0.2 and 10.9.0.3 are outside hosts. All on lo of the namespace.
const IFACE = { ip: '100.64.0.1', network: '100.64.0.0/16', ipv6: 'fd00:1::1', ipv6Network: 'fd00:1::/64' };

beforeAll(() => {
  ns = Netns.create();
  for (const a of ['100.64.0.1/16', '100.64.0.5/32', '10.9.0.2/32', '10.9.0.3/32']) ns.exec(tool('ip'), ['addr', 'add', a, 'dev', 'lo']);
  for (const a of ['fd00:1::1/64', 'fd00:9::2/128']) ns.exec(tool('ip'), ['-6', 'addr', 'add', a, 'dev', 'lo', 'nodad']);
  // marks like netbird's data plane: 0x1bd10 in, 0x1bd11 out
  ns.exec(tool('nft'), ['add', 'rule', 'inet', 't', 'c', 'udp', 'dport', '7003', 'ct', 'mark', 'set', '0x1bd10']);
  ns.exec(tool('nft'), ['add', 'rule', 'inet', 't', 'c', 'udp', 'dport', '7004', 'ct', 'mark', 'set', '0x1bd11']);
});

afterAll(() => ns?.destroy());

const until = (cond: () => boolean, ms = 20000): Promise<void> => waitUntil(cond, ms, 25);

// One UDP request of `req` payload bytes from src:port to dst:port and one reply of `resp` bytes.
const EXCHANGE = `
const dgram = require('dgram');
const [src, dst, port, req, resp] = process.argv.slice(1);
let timer;
const fam = src.includes(':') ? 'udp6' : 'udp4';
const server = dgram.createSocket(fam);
server.on('message', (m, r) => server.send(Buffer.alloc(Number(resp)), r.port, r.address));
server.bind(Number(port), dst, () => {
  const client = dgram.createSocket(fam);
  client.on('message', () => { client.close(); server.close(); clearTimeout(timer); console.log('ok'); });
  client.bind(Number(port), src, () => client.send(Buffer.alloc(Number(req)), Number(port), dst));
});
timer = setTimeout(() => { console.error('no reply'); process.exit(1); }, 10000);
`;

function exchange(src: string, dst: string, port: number, req: number, resp: number): void {
  const r = spawnSync(tool('ip'), ['netns', 'exec', ns.name, process.execPath, '-e', EXCHANGE, src, dst, String(port), String(req), String(resp)], {
    encoding: 'utf8',
    timeout: 30000,
  });
  if (r.stdout.trim() !== 'ok') throw new Error(`UDP exchange ${src} -> ${dst}:${port} failed: ${r.stderr}`);
}

interface Case {
  what: string;
  src: string;
  dst: string;
  port: number;
  req: number;
  resp: number;
  direction: 'ingress' | 'egress' | null; // null: not relevant, nothing logged
  hdr?: number; // IP + UDP header bytes per packet (IPv4 28, IPv6 48)
}

const CASES: Case[] = [
  { what: 'from the interface IP: egress', src: '100.64.0.1', dst: '10.9.0.2', port: 7001, req: 100, resp: 1000, direction: 'egress' },
  { what: 'to the interface IP: ingress', src: '10.9.0.2', dst: '100.64.0.1', port: 7002, req: 200, resp: 20, direction: 'ingress' },
  { what: 'DataPlaneMarkIn: ingress', src: '10.9.0.2', dst: '10.9.0.3', port: 7003, req: 300, resp: 30, direction: 'ingress' },
  { what: 'DataPlaneMarkOut: egress', src: '10.9.0.2', dst: '10.9.0.3', port: 7004, req: 40, resp: 400, direction: 'egress' },
  { what: 'outside the network, no mark: not logged', src: '10.9.0.2', dst: '10.9.0.3', port: 7005, req: 50, resp: 50, direction: null },
  { what: 'from another peer to an outside host: ingress', src: '100.64.0.5', dst: '10.9.0.2', port: 7006, req: 60, resp: 600, direction: 'ingress' },
  { what: 'IPv6 from the interface IP: egress', src: 'fd00:1::1', dst: 'fd00:9::2', port: 7007, req: 70, resp: 7, direction: 'egress', hdr: 48 },
  { what: 'IPv6 to the interface IP: ingress', src: 'fd00:9::2', dst: 'fd00:1::1', port: 7008, req: 8, resp: 80, direction: 'ingress', hdr: 48 },
];

test('scripted UDP exchanges: start and end events with direction, ports and rx/tx counters, field by field', async () => {
  const events: FlowEventFields[] = [];
  const ct = new ConnTrack({ storeEvent: (f) => events.push(f) }, { address: () => IFACE }, { netns: ns.name });
  await ct.start(true);
  try {
    for (const c of CASES) exchange(c.src, c.dst, c.port, c.req, c.resp);
    const relevant = CASES.filter((c) => c.direction !== null);
    await until(() => events.length >= relevant.length);
    for (const c of CASES) ns.conntrack('-D', '-p', 'udp', '--orig-port-src', String(c.port));
    await until(() => events.length >= 2 * relevant.length);
    await sleep(200); // nothing else may arrive (the irrelevant flow)
  } finally {
    await ct.stop();
  }
  const relevant = CASES.filter((c) => c.direction !== null);
  expect(events).toHaveLength(2 * relevant.length);
  for (const c of relevant) {
    const mine = events.filter((e) => e.sourcePort === c.port);
    expect(mine.map((e) => e.type)).toEqual(['start', 'end']);
    const [start, end] = mine;
    const hdr = c.hdr ?? 28;
    const orig = { packets: 1n, bytes: BigInt(hdr + c.req) };
    const reply = { packets: 1n, bytes: BigInt(hdr + c.resp) };
    const [rx, tx] = c.direction === 'ingress' ? [orig, reply] : [reply, orig];
    const common = {
      flowId: ct.flowId(start.conntrackId), direction: c.direction, protocol: 17,
      sourceIp: c.src, destIp: c.dst, sourcePort: c.port, destPort: c.port, icmpType: 0, icmpCode: 0,
      conntrackId: start.conntrackId,
    };
    // the kernel puts counters only into DESTROY events
    expect(start).toEqual({ ...common, type: 'start', rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n });
    expect(end).toEqual({ ...common, type: 'end', rxPackets: rx.packets, txPackets: tx.packets, rxBytes: rx.bytes, txBytes: tx.bytes });
  }
  expect(events.some((e) => e.sourcePort === 7005)).toBe(false);
  expect(new Set(events.map((e) => e.conntrackId)).size).toBe(relevant.length);
}, 180000);

test("start(true) turns nf_conntrack_acct on in the tracker's namespace only, and stop turns it back off", async () => {
  const sysctl = () => ns.exec(tool('sysctl'), ['-n', 'net.netfilter.nf_conntrack_acct']).trim();
  const hostBefore = readFileSync('/proc/sys/net/netfilter/nf_conntrack_acct', 'utf8');
  ns.exec(tool('sysctl'), ['-q', '-w', 'net.netfilter.nf_conntrack_acct=0']);
  const ct = new ConnTrack({ storeEvent() {} }, { address: () => IFACE }, { netns: ns.name });
  await ct.start(true);
  expect(sysctl()).toBe('1');
  expect(ct.accountingChanged).toBe(true);
  await ct.stop();
  expect(sysctl()).toBe('0');
  // already on: left alone, also at stop
  ns.exec(tool('sysctl'), ['-q', '-w', 'net.netfilter.nf_conntrack_acct=1']);
  await ct.start(true);
  expect(ct.accountingChanged).toBe(false);
  await ct.close();
  expect(sysctl()).toBe('1');
  expect(readFileSync('/proc/sys/net/netfilter/nf_conntrack_acct', 'utf8')).toBe(hostBefore);
});

test('a namespace that does not exist: start rejects with a typed error and the tracker stays stopped', async () => {
  const ct = new ConnTrack({ storeEvent() {} }, { address: () => IFACE }, { netns: `${ns.name}-missing` });
  await expect(ct.start(false)).rejects.toMatchObject({ name: 'ConntrackError', message: expect.stringMatching(/^dial conntrack: /) });
  expect(ct.started).toBe(false);
});


test('ctrack flows --netns --json -c 2: the start and end of one exchange', async () => {
  const run = ctrack('flows', '--netns', ns.name, '--network', '100.64.0.0/16', '--ip', '100.64.0.1', '--json', '-c', '2');
  // main() dials in microtasks: all of them have run once a timer fires
  await sleep(50);
  exchange('10.9.0.3', '100.64.0.1', 7010, 11, 22);
  ns.conntrack('-D', '-p', 'udp', '--orig-port-src', '7010');
  const r = await run;
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [start, end] = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  const common = { direction: 'ingress', protocol: 17, sourceIp: '10.9.0.3', destIp: '100.64.0.1', sourcePort: 7010, destPort: 7010, icmpType: 0, icmpCode: 0 };
  expect(start).toMatchObject({ ...common, type: 'start', rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 });
  expect(end).toMatchObject({ ...common, type: 'end', rxPackets: 1, rxBytes: 28 + 11, txPackets: 1, txBytes: 28 + 22, flowId: start.flowId, conntrackId: start.conntrackId });
}, 120000);
