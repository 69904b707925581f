// The socket host against the real kernel, only ever inside private network
// namespaces created (and deleted) here: open in a namespace, dumps compared
// with conntrack-tools, events, truncation, buffer sizing, close semantics,
// fd hygiene, worker_threads, and what an unprivileged user gets.
import { execFileSync } from 'child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as ts from 'typescript';
import { Decoder } from '../src/decoder';
import { ConntrackError } from '../src/errors';
import * as A from '../src/generated/attrs';
import * as L from '../src/generated/layout';
import { loadHost, type NativeSocket } from '../src/host';
import { NetlinkSocket } from '../src/socket';
import type { Flow, Message } from '../src/types';
import { attr, be16, ctmsg, ip4, nest, u8 } from './helpers/netlink-builder';
import { Netns, tool } from './helpers/netns';
import { waitFor } from './helpers/wait';

jest.setTimeout(30000);

const ROOT = path.join(__dirname, '..');
const CT_GET = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_GET; // 0x0101
const CT_NEW = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_NEW; // 0x0100
const DUMP_FLAGS = A.NLM_F_REQUEST | A.NLM_F_DUMP; // 0x0301
const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

/** IPCTNL_MSG_CT_GET with NLM_F_REQUEST|NLM_F_DUMP, nfgenmsg AF_UNSPEC: the whole table. */
function dumpRequest(seq: number): Uint8Array {
  return ctmsg({ type: CT_GET, flags: DUMP_FLAGS, seq }, A.AF_UNSPEC);
}

/** CTA_TUPLE_ORIG for IPv4 TCP/UDP. */
function origTuple(src: string, dst: string, proto: number, sport: number, dport: number): Uint8Array {
  return nest(A.CTA_TUPLE_ORIG,
    nest(A.CTA_TUPLE_IP, attr(A.CTA_IP_V4_SRC, ip4(src)), attr(A.CTA_IP_V4_DST, ip4(dst))),
    nest(A.CTA_TUPLE_PROTO, u8(A.CTA_PROTO_NUM, proto), be16(A.CTA_PROTO_SRC_PORT, sport), be16(A.CTA_PROTO_DST_PORT, dport)));
}

/** One flow as both conntrack -L and the decoder can describe it. */
function flowKey(f: Flow): string {
  const o = f.orig;
  const l4 = o?.protoNum === 1 ? `type=${o.icmpType} code=${o.icmpCode} id=${o.icmpId}` : `sport=${o?.srcPort} dport=${o?.dstPort}`;
  return `${PROTO[o?.protoNum ?? -1]} src=${o?.src} dst=${o?.dst} ${l4} id=${f.id}`;
}

/** The same key from a line of `conntrack -L -o id` (first tuple = original direction). */
function lineKey(line: string): string {
  const proto = line.split(/\s+/)[0];
  const first = (k: string): string => (new RegExp(`\\b${k}=(\\S+)`).exec(line) ?? [])[1] ?? '?';
  const id = (/\bid=(\d+)\s*$/.exec(line) ?? [])[1];
  const l4 = proto === 'icmp' ? `type=${first('type')} code=${first('code')} id=${first('id')}` : `sport=${first('sport')} dport=${first('dport')}`;
  return `${proto} src=${first('src')} dst=${first('dst')} ${l4} id=${id}`;
}

/** `conntrack -L -o id` (every family) as sorted keys. */
function listedKeys(ns: Netns): string[] {
  return ns.conntrack('-L', '-o', 'id').split('\n').filter((l) => l.trim() !== '').map(lineKey).sort();
}

function flows(msgs: Message[]): Flow[] {
  return msgs.filter((m): m is Flow => m.kind === 'flow');
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

const until = (cond: () => boolean, ms: number, what: string): Promise<void> => waitFor(cond, ms, what, 5);

// Compiled copy of src/ for child processes and workers (which cannot use
// ts-jest): transpiled file by file (the sources are isolatedModules-clean)
// into lib/, with dist/ and build/ linked beside it so the WASM and the addon
// are found exactly as from the real dist/.
function transpileSources(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctt-js-'));
  const walk = (from: string, to: string): void => {
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, e.name);
      if (e.isDirectory()) walk(src, path.join(to, e.name));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const out = ts.transpileModule(readFileSync(src, 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
          fileName: src,
        });
        writeFileSync(path.join(to, e.name.replace(/\.ts$/, '.js')), out.outputText);
      }
    }
  };
  walk(path.join(ROOT, 'src'), path.join(dir, 'lib'));
  symlinkSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'));
  symlinkSync(path.join(ROOT, 'build'), path.join(dir, 'build'));
  // Readable by the unprivileged child.
  const open = (p: string): void => {
    chmodSync(p, 0o755);
    for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) open(path.join(p, e.name));
  };
  open(dir);
  return dir;
}

let nsA: Netns;
let nsB: Netns;

beforeAll(() => {
  nsA = Netns.create();
  nsB = Netns.create();
  nsA.exec('/bin/sh', ['-c', [
    `${tool('conntrack')} -I -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80 -t 100 --state ESTABLISHED`,
    `${tool('conntrack')} -I -p udp -s 10.0.0.3 -d 10.0.0.4 --sport 5353 --dport 53 -t 100`,
    `${tool('conntrack')} -I -p icmp -s 10.0.0.5 -d 10.0.0.6 --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 100`,
    `${tool('conntrack')} -I -p tcp -s fd00::1 -d fd00::2 --sport 2000 --dport 443 -t 100 --state ESTABLISHED`,
    // Enough entries for the dump to span several datagrams (~100 flows per 32 KiB skb).
    `for i in $(seq 1 250); do ${tool('conntrack')} -I -p tcp -s 10.1.$((i / 200)).$((i % 200 + 1)) -d 10.2.0.1 --sport $((10000 + i)) --dport 443 -t 100 --state ESTABLISHED 2>/dev/null; done`,
  ].join(' && ')]);
  nsB.conntrack('-I', '-p', 'tcp', '-s', '192.168.9.9', '-d', '192.168.9.10', '--sport', '999', '--dport', '22', '-t', '100', '--state', 'ESTABLISHED');
});

afterAll(() => {
  nsA?.destroy();
  nsB?.destroy();
});

describe('open', () => {
  test('in a namespace by name and by path; the kernel assigns distinct port ids', () => {
    const byName = NetlinkSocket.open({ netns: nsA.name });
    const byPath = NetlinkSocket.open({ netns: nsA.path });
    try {
      expect(byName.portId).toBeGreaterThan(0);
      expect(byPath.portId).toBeGreaterThan(0);
      expect(byName.portId).not.toBe(byPath.portId);
      expect(byName.native.fd).toBeGreaterThanOrEqual(0);
    } finally {
      byName.close();
      byPath.close();
    }
  });

  test('a namespace that does not exist: ERR_CT_SYSTEM with errno, syscall and the path', () => {
    const missing = `ctt-${process.pid}-missing`;
    let err: unknown;
    try {
      NetlinkSocket.open({ netns: missing });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConntrackError);
    expect(err).toMatchObject({ code: 'ERR_CT_SYSTEM', errno: os.constants.errno.ENOENT, syscall: 'open' });
    expect((err as Error).message).toContain(`/var/run/netns/${missing}`);
    // A file that is not a network namespace: setns(CLONE_NEWNET) says EINVAL.
    expect(() => NetlinkSocket.open({ netns: '/etc/hostname' })).toThrow(expect.objectContaining({ code: 'ERR_CT_SYSTEM', syscall: 'setns', errno: os.constants.errno.EINVAL }));
  });

  test('openProcNet: /proc/net/netlink as the namespace shows it, regenerated on each read from 0; bad names and namespaces are refused', () => {
    const host = loadHost();
    const fd = host.openProcNet('netlink', nsA.name);
    const read = (): string => {
      const b = Buffer.alloc(1 << 16);
      return b.toString('latin1', 0, readSync(fd, b, 0, b.length, 0));
    };
    try {
      const before = read();
      expect(before.split('\n')[0]).toMatch(/^sk\s+Eth\s+Pid\s+Groups\s+Rmem\s+Wmem\s+Dump\s+Locks\s+Drops\s+Inode/);
      const sock = NetlinkSocket.open({ netns: nsA.name });
      const row = new RegExp(`^\\S+ 12\\s+${sock.portId}\\s`, 'm'); // Eth 12 = NETLINK_NETFILTER
      try {
        expect(read()).toMatch(row);
        expect(readFileSync('/proc/thread-self/net/netlink', 'latin1')).not.toMatch(row); // our own namespace does not have it
      } finally {
        sock.close();
      }
      expect(read()).not.toMatch(row);
    } finally {
      closeSync(fd);
    }
    // (the addon's TypeError is from Node's main realm, not jest's: matched by name)
    for (const bad of ['', '../self', 'net/x', 'A']) {
      expect(() => host.openProcNet(bad, nsA.name)).toThrow(expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('/proc/net file name') }));
    }
    expect(() => host.openProcNet('netlink', `ctt-${process.pid}-missing`)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
    expect(() => host.openProcNet('no_such_table')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '/proc/thread-self/net/no_such_table' }));
  });

  test('the addon exports the descriptor layout the decoder reads', () => {
    const host = loadHost();
    expect([host.DESC_SIZE, host.DESC_OFF, host.DESC_LEN, host.DESC_SRC_PID, host.DESC_FLAGS, host.DGRAM_TRUNC])
      .toEqual([L.DESC_SIZE, L.DESC_OFF, L.DESC_LEN, L.DESC_SRC_PID, L.DESC_FLAGS, L.DGRAM_TRUNC]);
  });
});

describe('requests', () => {
  let sock: NetlinkSocket;
  beforeAll(() => {
    sock = NetlinkSocket.open({ netns: nsA.name });
  });
  afterAll(() => sock.close());

  test('the dump request is the bytes conntrack-tools sends (fixtures/ipv4-basic/dump.meta.json)', () => {
    const meta = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/ipv4-basic/dump.meta.json'), 'utf8')) as { requests: Array<{ bytes_hex: string }> };
    expect(Buffer.from(dumpRequest(1)).toString('hex')).toBe(meta.requests[0].bytes_hex);
  });

  test('a dump decodes to exactly what conntrack -L -o id lists (ids, addresses, ports)', async () => {
    const msgs = await sock.request(dumpRequest(sock.nextSeq()));
    const got = flows(msgs);
    expect(got.length).toBe(254);
    expect(got.map(flowKey).sort()).toEqual(listedKeys(nsA));
    // Counters and timestamps were switched on in the namespace.
    const f = got.find((x) => x.orig?.srcPort === 1000);
    expect(f).toMatchObject({ countersOrig: { packets: 0n, bytes: 0n }, tcp: { state: A.TCP_CONNTRACK_ESTABLISHED } });
    expect(typeof f?.timestampStart).toBe('bigint');
    // Every reply was addressed to this socket.
    expect(new Set(got.map((x) => x.pid))).toEqual(new Set([sock.portId]));
  });

  test('the socket lives in its namespace: B sees only its own entry', async () => {
    const b = NetlinkSocket.open({ netns: nsB.name });
    try {
      const got = flows(await b.request(dumpRequest(b.nextSeq())));
      expect(got.map(flowKey)).toEqual(listedKeys(nsB));
      expect(got.map((f) => f.orig?.src)).toEqual(['192.168.9.9']);
    } finally {
      b.close();
    }
  });

  test('GET with NLM_F_ACK: the entry, then the ACK; a missing entry is ERR_CT_NOT_FOUND', async () => {
    const flags = A.NLM_F_REQUEST | A.NLM_F_ACK;
    let seq = sock.nextSeq();
    const hit = await sock.request(ctmsg({ type: CT_GET, flags, seq }, A.AF_INET, origTuple('10.0.0.1', '10.0.0.2', 6, 1000, 80)), seq);
    expect(flows(hit)).toHaveLength(1);
    expect(flowKey(flows(hit)[0])).toBe(listedKeys(nsA).find((k) => k.includes('sport=1000 ')));
    seq = sock.nextSeq();
    await expect(sock.request(ctmsg({ type: CT_GET, flags, seq }, A.AF_INET, origTuple('10.0.0.1', '10.0.0.2', 6, 1001, 80))))
      .rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND', errno: os.constants.errno.ENOENT });
  });

  test('NEW with NLM_F_CREATE|NLM_F_EXCL for an existing entry is ERR_CT_EXISTS', async () => {
    const seq = sock.nextSeq();
    const req = ctmsg({ type: CT_NEW, flags: A.NLM_F_REQUEST | A.NLM_F_ACK | A.NLM_F_CREATE | A.NLM_F_EXCL, seq }, A.AF_INET,
      origTuple('10.0.0.1', '10.0.0.2', 6, 1000, 80));
    await expect(sock.request(req)).rejects.toMatchObject({ code: 'ERR_CT_EXISTS', errno: os.constants.errno.EEXIST });
  });

  test('requests on one socket are queued; each gets its own replies', async () => {
    const [a, b] = await Promise.all([sock.request(dumpRequest(sock.nextSeq())), sock.request(dumpRequest(sock.nextSeq()))]);
    expect(flows(a)).toHaveLength(254);
    expect(flows(b)).toHaveLength(254);
    expect(a.filter((m) => m.kind === 'done')).toHaveLength(0);
  });

  test('a request nobody answers is refused; a timeout rejects and later replies are dropped as stale', async () => {
    await expect(sock.request(ctmsg({ type: CT_GET, flags: A.NLM_F_REQUEST, seq: 7 }, A.AF_INET))).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
    await expect(sock.request(dumpRequest(5), 6)).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
    // Not reading makes the timeout certain: the native poll is paused behind
    // the wrapper's back, as if the kernel were silent (the wrapper's own
    // pause() holds the timer: a slow consumer is not a dead kernel). The
    // reply waits in the socket and reaches the decoder with the next
    // request, which drops it as stale.
    // (A GET, not a dump: the kernel runs one dump per socket at a time, and
    // a dump nobody reads stays open, so a new one would get EBUSY.)
    const stale = sock.nextSeq();
    const late = sock.request(ctmsg({ type: CT_GET, flags: A.NLM_F_REQUEST | A.NLM_F_ACK, seq: stale }, A.AF_INET,
      origTuple('10.0.0.1', '10.0.0.2', 6, 1000, 80)), stale, { timeout: 20 });
    // the request is sent from a microtask; pause before the event loop polls
    for (let i = 0; i < 5; i++) await Promise.resolve();
    sock.native.pause();
    await expect(late).rejects.toMatchObject({ code: 'ERR_CT_TIMEOUT', errno: os.constants.errno.ETIMEDOUT });
    const before = sock.decoder.counters().stale;
    const got = flows(await sock.request(dumpRequest(sock.nextSeq())));
    expect(got).toHaveLength(254);
    expect(sock.decoder.counters().stale).toBeGreaterThan(before);
  });
});

describe('events', () => {
  test('NEW and DESTROY arrive through the poll callback (groups 1..3)', async () => {
    const sock = NetlinkSocket.open({ netns: nsA.name, groups: [A.NFNLGRP_CONNTRACK_NEW, A.NFNLGRP_CONNTRACK_UPDATE, A.NFNLGRP_CONNTRACK_DESTROY] });
    const seen: Flow[] = [];
    let batches = 0;
    sock.listen((decoder, batch) => {
      batches++;
      expect(batch.enobufs).toBe(false);
      for (const f of flows(decoder.messages())) if (f.orig?.src === '10.9.9.1') seen.push(f);
    });
    try {
      nsA.conntrack('-I', '-p', 'tcp', '-s', '10.9.9.1', '-d', '10.9.9.2', '--sport', '4000', '--dport', '22', '-t', '100', '--state', 'ESTABLISHED');
      nsA.conntrack('-D', '-p', 'tcp', '-s', '10.9.9.1', '-d', '10.9.9.2', '--sport', '4000', '--dport', '22');
      await until(() => seen.length >= 2, 5000, 'NEW and DESTROY events');
      expect(seen.map((f) => f.event)).toEqual(['new', 'destroy']);
      expect(seen[0]).toMatchObject({ orig: { dst: '10.9.9.2', srcPort: 4000, dstPort: 22, protoNum: 6 } });
      expect(seen[1].id).toBe(seen[0].id);
      expect(batches).toBeGreaterThan(0);
    } finally {
      sock.close();
    }
  });

  test('close() inside the callback, twice, is safe; nothing is delivered after it', async () => {
    const sock = NetlinkSocket.open({ netns: nsA.name, groups: [A.NFNLGRP_CONNTRACK_NEW, A.NFNLGRP_CONNTRACK_DESTROY] });
    let calls = 0;
    sock.listen(() => {
      calls++;
      sock.close();
      sock.close();
    });
    nsA.conntrack('-I', '-p', 'udp', '-s', '10.9.8.1', '-d', '10.9.8.2', '--sport', '4001', '--dport', '53', '-t', '100');
    nsA.conntrack('-D', '-p', 'udp', '-s', '10.9.8.1', '-d', '10.9.8.2', '--sport', '4001', '--dport', '53');
    await until(() => calls > 0, 5000, 'the first batch');
    for (let i = 0; i < 5; i++) await tick();
    expect(calls).toBe(1);
    expect(sock.closed).toBe(true);
    expect(sock.native.fd).toBe(-1);
    expect(sock.portId).toBeGreaterThan(0); // remembered from open
    sock.close();
  });

  test('close() while a request is pending rejects it with ERR_CT_CLOSED', async () => {
    const sock = NetlinkSocket.open({ netns: nsA.name });
    const p = sock.request(dumpRequest(sock.nextSeq()));
    // Let the queued request start (sent, waiting) without giving the loop a turn.
    await Promise.resolve();
    await Promise.resolve();
    sock.close();
    await expect(p).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
    await expect(sock.request(dumpRequest(sock.nextSeq()))).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
  });
});

describe('native socket', () => {
  const host = loadHost();
  // One decoder (one WASM memory) shared by the raw-socket tests.
  const decoder = new Decoder();
  const memory = decoder.core.memory.buffer;

  function rawSocket(): NativeSocket {
    const s = new host.NetlinkSocket({ netns: nsA.name });
    s.bind(0);
    return s;
  }

  test('MSG_TRUNC: a datagram larger than the arena is cut and flagged, never written past', () => {
    const s = rawSocket();
    try {
      // A 64-byte arena; a guard word after it must survive.
      s.attachArena(memory, L.ARENA, 64, L.DESC, L.DESC_MAX);
      decoder.core.view.setUint32(L.ARENA + 64, 0xdeadbeef, true);
      expect(s.receiveBatch(16)).toMatchObject({ count: 0, eagain: true });
      s.send(dumpRequest(99)); // the kernel queues the first dump datagram during send()
      const b = s.receiveBatch(16);
      expect(b).toMatchObject({ count: 1, bytes: 64, truncated: true, enobufs: false });
      expect(b.flags & host.BATCH_TRUNC).toBe(host.BATCH_TRUNC);
      const dv = decoder.core.view;
      expect(dv.getUint32(L.DESC + L.DESC_OFF, true)).toBe(0);
      expect(dv.getUint32(L.DESC + L.DESC_LEN, true)).toBe(64);
      expect(dv.getUint32(L.DESC + L.DESC_SRC_PID, true)).toBe(0); // the kernel
      expect(dv.getUint32(L.DESC + L.DESC_FLAGS, true)).toBe(L.DGRAM_TRUNC);
      expect(dv.getUint32(L.ARENA + 64, true)).toBe(0xdeadbeef);
      // The decoder reports the cut datagram instead of decoding half a message.
      decoder.reset();
      decoder.adoptBatch(1);
      const before = decoder.counters().truncated;
      expect(() => decoder.messages()).toThrow(expect.objectContaining({ code: 'ERR_CT_DECODE', status: L.DERR_DGRAM_TRUNC }));
      expect(decoder.counters().truncated).toBe(before + 1);
    } finally {
      s.close();
    }
  });

  test('receiveBatch packs datagrams at 4-byte aligned offsets and respects maxDatagrams', () => {
    const s = rawSocket();
    try {
      s.attachArena(memory, L.ARENA, L.ARENA_SIZE, L.DESC, L.DESC_MAX);
      s.send(dumpRequest(100));
      const first = s.receiveBatch(1);
      expect(first.count).toBe(1);
      let total = 1;
      for (let i = 0; i < 50; i++) {
        const b = s.receiveBatch(L.DESC_MAX);
        const dv = decoder.core.view;
        let expectOff = 0;
        for (let d = 0; d < b.count; d++) {
          const off = dv.getUint32(L.DESC + d * L.DESC_SIZE + L.DESC_OFF, true);
          const len = dv.getUint32(L.DESC + d * L.DESC_SIZE + L.DESC_LEN, true);
          expect(off).toBe(expectOff);
          expectOff = (off + len + 3) & ~3;
        }
        total += b.count;
        if (b.eagain) break;
      }
      expect(total).toBeGreaterThan(2); // 254 flows do not fit one datagram
    } finally {
      s.close();
    }
  });

  test('attachArena validates its ranges', () => {
    const s = rawSocket();
    try {
      // (The addon's errors come from Node's realm, not jest's: match on the message.)
      expect(() => s.attachArena(memory, memory.byteLength - 8, 16, L.DESC, L.DESC_MAX)).toThrow(/past the end of memory/);
      expect(() => s.attachArena(memory, L.ARENA, 6, L.DESC, L.DESC_MAX)).toThrow(/multiples of 4/);
      expect(() => s.attachArena(memory, L.DESC, 64, L.DESC, L.DESC_MAX)).toThrow(/overlap/);
      expect(() => s.receiveBatch(1)).toThrow(/no arena/);
    } finally {
      s.close();
    }
  });

  test('setRcvBuf with force as root goes past net.core.rmem_max and reports the size', () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const s = rawSocket();
    try {
      const want = rmemMax + (1 << 20);
      const forced = s.setRcvBuf(want, true);
      expect(forced).toEqual({ size: want * 2, forced: true, forceDenied: false }); // the kernel doubles it
      const plain = s.setRcvBuf(want, false);
      expect(plain).toEqual({ size: rmemMax * 2, forced: false, forceDenied: false });
      expect(s.setSndBuf(65536)).toBe(131072);
      s.setExtAck(true);
      s.setNoEnobufs(true);
      s.setNoEnobufs(false);
      s.setBroadcastError(true);
      s.addMembership(A.NFNLGRP_CONNTRACK_NEW);
      s.dropMembership(A.NFNLGRP_CONNTRACK_NEW);
      // A classic BPF program accepting everything: BPF_RET|BPF_K, k = 0xffffffff.
      const accept = new Uint8Array(8);
      new DataView(accept.buffer).setUint16(0, 0x06, true);
      new DataView(accept.buffer).setUint32(4, 0xffffffff, true);
      s.attachFilter(accept);
      s.detachFilter();
      expect(() => s.attachFilter(new Uint8Array(7))).toThrow(/8 bytes each/);
    } finally {
      s.close();
    }
    // After close: Node-style EBADF errors, not crashes.
    expect(() => s.setExtAck(true)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'setsockopt', errno: -os.constants.errno.EBADF }));
  });

  test('close() inside the native callback and twice; start/pause/resume', async () => {
    const s = new host.NetlinkSocket({ netns: nsA.name });
    s.bind(0);
    s.attachArena(memory, L.ARENA, L.ARENA_SIZE, L.DESC, L.DESC_MAX);
    const calls: Array<[unknown, number, number]> = [];
    s.start((err, count, flags) => {
      calls.push([err, count, flags]);
      s.close();
      s.close();
    }, 8);
    expect(() => s.start(() => undefined, 8)).toThrow(/already started/);
    s.pause();
    s.send(dumpRequest(200));
    for (let i = 0; i < 5; i++) await tick();
    expect(calls).toHaveLength(0); // paused: nothing read
    s.resume();
    await until(() => calls.length > 0, 2000, 'a batch');
    for (let i = 0; i < 5; i++) await tick();
    expect(calls).toHaveLength(1);
    expect(calls[0][0]).toBeNull();
    expect(calls[0][1]).toBeGreaterThan(0);
    expect(calls[0][1]).toBeLessThanOrEqual(8);
    expect(s.closed).toBe(true);
    s.close();
    s.pause();
    s.resume();
  });

  test('no fd leaks across 200 open/start/close cycles (and failed opens)', async () => {
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      const s = new host.NetlinkSocket({ netns: i % 2 === 0 ? nsA.name : nsA.path });
      s.bind(0);
      if (i % 4 === 0) {
        s.attachArena(memory, L.ARENA, L.ARENA_SIZE, L.DESC, L.DESC_MAX);
        s.start(() => undefined, 4);
      }
      s.close();
      if (i % 50 === 0) expect(() => new host.NetlinkSocket({ netns: '/etc/hostname' })).toThrow();
    }
    for (let i = 0; i < 3; i++) await tick();
    expect(openFds()).toBe(before);
  });
});

describe('processes and threads', () => {
  let lib: string;
  beforeAll(() => {
    lib = transpileSources();
  });
  afterAll(() => {
    if (lib) rmSync(lib, { recursive: true, force: true });
  });

  test('works in a worker thread, and a worker exiting with a listening socket open is clean', async () => {
    const code = `
      const { parentPort, workerData } = require('worker_threads');
      const { NetlinkSocket } = require(workerData.lib + '/lib/socket.js');
      (async () => {
        const s = NetlinkSocket.open({ netns: workerData.ns });
        const msgs = await s.request(Uint8Array.from(Buffer.from(workerData.dump, 'hex')));
        const listener = NetlinkSocket.open({ netns: workerData.ns, groups: [1] });
        listener.listen(() => {});
        parentPort.postMessage(msgs.filter((m) => m.kind === 'flow').length);
      })().catch((e) => parentPort.postMessage(String(e && e.stack)));
    `;
    const w = new Worker(code, { eval: true, workerData: { lib, ns: nsA.name, dump: Buffer.from(dumpRequest(1)).toString('hex') } });
    const result = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(result).toBe(254);
    // The listening socket keeps the worker alive; terminating it runs the
    // addon's teardown hook (uv_close before the worker's loop is closed).
    await w.terminate();
  });

  test('unprivileged (nobody): dump, groups and entering a namespace fail with ERR_CT_PERMISSION', () => {
    // Run inside namespace A so the child's own socket never reaches the host's table.
    const script = `
      const { NetlinkSocket } = require(${JSON.stringify(lib + '/lib/socket.js')});
      const out = {};
      const codeOf = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
      process.on('warning', (w) => { if (w.code === 'CT_RCVBUF_CAPPED') out.warning = w.code; });
      (async () => {
        const s = NetlinkSocket.open();
        out.portId = s.portId;
        out.rcvBuf = s.setRcvBuf(1 << 30, true); // more than any net.core.rmem_max: really capped
        out.dump = await s.request(Uint8Array.from(Buffer.from(${JSON.stringify(Buffer.from(dumpRequest(1)).toString('hex'))}, 'hex')))
          .then(() => 'ok', (e) => e.code);
        out.join = codeOf(() => s.joinGroup(1));
        s.close();
        try { NetlinkSocket.open({ netns: ${JSON.stringify(nsB.name)} }); out.netns = 'ok'; }
        catch (e) { out.netns = e.code + ' ' + e.syscall + ' ' + e.message; }
        await new Promise((r) => setTimeout(r, 10));
        process.stdout.write(JSON.stringify(out));
      })().catch((e) => { process.stdout.write(JSON.stringify({ crash: String(e && e.stack) })); });
    `;
    const stdout = execFileSync(tool('ip'), ['netns', 'exec', nsA.name, tool('setpriv'), '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script], {
      encoding: 'utf8',
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.crash).toBeUndefined();
    expect(out.portId).toEqual(expect.any(Number));
    expect(out.rcvBuf).toMatchObject({ forced: false, forceDenied: true });
    expect(out.warning).toBe('CT_RCVBUF_CAPPED');
    expect(out.dump).toBe('ERR_CT_PERMISSION'); // the kernel's EPERM reply
    expect(out.join).toBe('ERR_CT_PERMISSION'); // NETLINK_ADD_MEMBERSHIP needs CAP_NET_ADMIN
    expect(out.netns).toMatch(/^ERR_CT_PERMISSION setns .*CAP_NET_ADMIN/);
  });
});
