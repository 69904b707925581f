// The flow logger (src/flowlog, assembly/direction.ts) against netbird's
// conntrack tracker semantics, with hand-made ctnetlink events pushed through
// a ManualListener and an injected clock: no kernel, no real waiting.
import * as path from 'path';
import * as fc from 'fast-check';
import { v5 as uuidv5 } from 'uuid';
import * as A from '../src/generated/attrs';
import { ConnTrack, type Clock, type ConnTrackOptions } from '../src/flowlog/tracker';
import { ManualListener, replayDialer, type FlowListener } from '../src/flowlog/listener';
import { ExponentialBackoff } from '../src/flowlog/backoff';
import { netbirdMarks } from '../src/flowlog/marks';
import type { FlowEventFields, InterfaceAddress } from '../src/flowlog/types';
import { replayAll } from '../src/replay';
import { ctrack } from './helpers/cli';
import type { Flow } from '../src/types';
import { be16, be32, be64, ctmsg, ip4, ip6, nest, u8, attr } from './helpers/netlink-builder';

const CT_NEW = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_NEW;
const CT_DELETE = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_DELETE;

const M = netbirdMarks(); // 0x1bd10..0x1bdff; in 0x1bd10, 0x1bd20, 0x1bd21; out 0x1bd11, 0x1bd22
const IN = 0x1bd10;
const OUT = 0x1bd11;
const IFACE: InterfaceAddress = { ip: '100.64.0.1', network: '100.64.0.0/16', ipv6: 'fd00:1::1', ipv6Network: 'fd00:1::/64' };

interface Ev {
  event?: 'new' | 'update' | 'destroy';
  src?: string;
  dst?: string;
  proto?: number | null; // null: no CTA_PROTO_NUM
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  mark?: number;
  id?: number;
  orig?: [bigint, bigint];
  reply?: [bigint, bigint];
}

function addr(a: string): number[] {
  return a.includes(':') ? ip6(a) : ip4(a);
}

function tuple(type: number, e: Ev, swap: boolean): Uint8Array {
  const src = (swap ? e.dst : e.src) ?? '10.0.0.1';
  const dst = (swap ? e.src : e.dst) ?? '10.0.0.2';
  const v6 = src.includes(':');
  const proto = e.proto === undefined ? 6 : e.proto;
  const l4: Uint8Array[] = [];
  if (proto !== null) l4.push(u8(A.CTA_PROTO_NUM, proto));
  if (proto === 1 || proto === 58) {
    l4.push(be16(A.CTA_PROTO_ICMP_ID, 7), u8(A.CTA_PROTO_ICMP_TYPE, e.icmpType ?? 8), u8(A.CTA_PROTO_ICMP_CODE, e.icmpCode ?? 0));
  } else if (proto !== null) {
    l4.push(be16(A.CTA_PROTO_SRC_PORT, (swap ? e.dport : e.sport) ?? 40000), be16(A.CTA_PROTO_DST_PORT, (swap ? e.sport : e.dport) ?? 443));
  }
  return nest(
    type,
    nest(A.CTA_TUPLE_IP, attr(v6 ? A.CTA_IP_V6_SRC : A.CTA_IP_V4_SRC, addr(src)), attr(v6 ? A.CTA_IP_V6_DST : A.CTA_IP_V4_DST, addr(dst))),
    nest(A.CTA_TUPLE_PROTO, ...l4),
  );
}

/** One ctnetlink event message, as the kernel multicasts it. */
function event(e: Ev): Uint8Array {
  const kind = e.event ?? 'new';
  const h = kind === 'destroy' ? { type: CT_DELETE } : { type: CT_NEW, flags: kind === 'new' ? A.NLM_F_CREATE | A.NLM_F_EXCL : 0 };
  const v6 = (e.src ?? '').includes(':');
  const parts = [tuple(A.CTA_TUPLE_ORIG, e, false), tuple(A.CTA_TUPLE_REPLY, e, true), be32(A.CTA_ID, e.id ?? 1)];
  if (e.mark !== undefined) parts.push(be32(A.CTA_MARK, e.mark));
  if (e.orig) parts.push(nest(A.CTA_COUNTERS_ORIG, be64(A.CTA_COUNTERS_PACKETS, e.orig[0]), be64(A.CTA_COUNTERS_BYTES, e.orig[1])));
  if (e.reply) parts.push(nest(A.CTA_COUNTERS_REPLY, be64(A.CTA_COUNTERS_PACKETS, e.reply[0]), be64(A.CTA_COUNTERS_BYTES, e.reply[1])));
  return ctmsg(h, v6 ? A.AF_INET6 : A.AF_INET, ...parts);
}

/** A clock whose timers run only when the test fires them. */
class ManualClock implements Clock {
  timers: { fn: () => void; ms: number; live: boolean }[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { fn, ms, live: true };
    this.timers.push(t);
    return t;
  }
  clearTimeout(h: unknown): void {
    (h as { live: boolean }).live = false;
  }
  get pending() {
    return this.timers.filter((t) => t.live);
  }
  /** Run the pending timers; returns their delays. */
  fire(): number[] {
    const due = this.pending;
    for (const t of due) {
      t.live = false;
      t.fn();
    }
    return due.map((t) => t.ms);
  }
}

const flush = () => new Promise((r) => setImmediate(r));

/** Wait (by event-loop turns, not by time) until cond holds. */
async function until(cond: () => boolean, turns = 1000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await flush();
  if (!cond()) throw new Error('condition never became true');
}

function setup(opts: Partial<ConnTrackOptions> & { iface?: () => InterfaceAddress; dial?: ConnTrackOptions['dial'] } = {}) {
  const events: FlowEventFields[] = [];
  const listeners: ManualListener[] = [];
  const clock = new ManualClock();
  let sysctlValue = 1;
  const sysctlWrites: number[] = [];
  const ct = new ConnTrack(
    { storeEvent: (f) => events.push(f) },
    { address: opts.iface ?? (() => IFACE) },
    {
      clock,
      random: () => 0.5,
      sysctl: { read: () => sysctlValue, write: (v) => { sysctlWrites.push(v); sysctlValue = v; } },
      dial: () => {
        const l = new ManualListener();
        listeners.push(l);
        return l;
      },
      ...opts,
    },
  );
  return {
    ct, events, listeners, clock, sysctlWrites,
    setSysctl: (v: number) => (sysctlValue = v),
    get sysctl() {
      return sysctlValue;
    },
    last: () => listeners[listeners.length - 1],
  };
}

/** Push events through a fresh started tracker and return what it logged. */
async function logged(evs: Ev[], opts: Partial<ConnTrackOptions> & { iface?: () => InterfaceAddress } = {}): Promise<FlowEventFields[]> {
  const s = setup(opts);
  await s.ct.start(false);
  expect(s.last().push(...evs.map(event))).toBe(true);
  await s.ct.stop();
  return s.events;
}

describe('lifecycle', () => {
  test('start is idempotent: a second (or concurrent) start dials nothing', async () => {
    const s = setup();
    await Promise.all([s.ct.start(false), s.ct.start(false)]);
    await s.ct.start(false);
    expect(s.listeners).toHaveLength(1);
    expect(s.ct.started).toBe(true);
    await s.ct.stop();
  });

  test('stop is idempotent, closes the listener, and later events are ignored', async () => {
    const s = setup();
    await s.ct.stop(); // before start: nothing
    await s.ct.start(false);
    const l = s.last();
    await s.ct.stop();
    await s.ct.stop();
    expect(l.closed).toBe(true);
    expect(s.ct.started).toBe(false);
    expect(s.ct.connected).toBe(false);
    expect(l.push(event({ dst: '100.64.0.1' }))).toBe(false);
    expect(s.events).toHaveLength(0);
  });

  test('close is idempotent and reports a failing connection close', async () => {
    const s = setup();
    await s.ct.close(); // before start
    await s.ct.start(false);
    await s.ct.close();
    await s.ct.close();
    expect(s.last().closed).toBe(true);

    const bad = setup({ dial: () => ({ listen() {}, close() { throw new Error('EBADF'); } }) });
    await bad.ct.start(false);
    await expect(bad.ct.close()).rejects.toMatchObject({ code: 'ERR_CT_SYSTEM', message: expect.stringContaining('EBADF') });
    expect(bad.ct.started).toBe(false);
    await bad.ct.close(); // already closed
  });

  test('start, stop, start again gets a new listener that delivers', async () => {
    const s = setup();
    await s.ct.start(false);
    await s.ct.stop();
    await s.ct.start(false);
    expect(s.listeners).toHaveLength(2);
    s.last().push(event({ dst: '100.64.0.1', id: 5 }));
    expect(s.events).toHaveLength(1);
    await s.ct.stop();
  });

  test('a failing dial or listen rejects with a ConntrackError, closes what was opened, restores accounting', async () => {
    const dialFail = setup({ dial: () => { throw new Error('EPERM'); } });
    dialFail.setSysctl(0);
    await expect(dialFail.ct.start(true)).rejects.toMatchObject({ code: 'ERR_CT_SYSTEM', message: 'dial conntrack: EPERM' });
    expect(dialFail.ct.started).toBe(false);
    expect(dialFail.sysctlWrites).toEqual([1, 0]);

    let closed = false;
    const listenFail = setup({ dial: () => ({ listen() { throw new Error('ENOBUFS'); }, close() { closed = true; } }) });
    await expect(listenFail.ct.start(false)).rejects.toMatchObject({ message: 'start conntrack listener: ENOBUFS' });
    expect(closed).toBe(true);
    expect(listenFail.ct.started).toBe(false);
  });
});

describe('reconnect', () => {
  test('a listener failure closes it and redials after the backoff; the new listener delivers; a second failure reconnects again', async () => {
    const s = setup();
    await s.ct.start(false);
    const first = s.last();
    first.fail(new Error('recv failed'));
    expect(first.closed).toBe(true);
    expect(s.ct.connected).toBe(false);
    expect(s.ct.started).toBe(true);
    expect(s.clock.pending.map((t) => t.ms)).toEqual([5000]); // random 0.5: the middle of 2500..7500
    expect(s.listeners).toHaveLength(1);
    s.clock.fire();
    await until(() => s.ct.connected);
    expect(s.listeners).toHaveLength(2);
    expect(s.ct.reconnectCount).toBe(1);
    s.last().push(event({ dst: '100.64.0.1', id: 9 }));
    expect(s.events.map((e) => e.conntrackId)).toEqual([9]);
    s.last().fail(new Error('again'));
    expect(s.clock.pending.map((t) => t.ms)).toEqual([5000]); // a fresh backoff per reconnect
    s.clock.fire();
    await until(() => s.ct.connected);
    expect(s.listeners).toHaveLength(3);
    await s.ct.stop();
    expect(s.last().closed).toBe(true);
  });

  test('failed redials back off exponentially (x1.5, capped at 5 min) and retry forever', async () => {
    let n = 0;
    const s = setup({
      random: () => 0, // lowest delay: interval * 0.5
      dial: () => {
        n++;
        if (n === 1) return s.listeners[0];
        if (n < 20) throw new Error('no netlink');
        return new ManualListener();
      },
    });
    s.listeners.push(new ManualListener());
    await s.ct.start(false);
    s.listeners[0].fail(new Error('gone'));
    const delays: number[] = [];
    while (!s.ct.connected) {
      await until(() => s.clock.pending.length > 0 || s.ct.connected);
      if (!s.ct.connected) delays.push(...s.clock.fire());
    }
    expect(n).toBe(20);
    const expected: number[] = [];
    for (let i = 0, cur = 5000; i < 19; i++) {
      expected.push(Math.floor(cur * 0.5));
      cur = cur >= 300000 / 1.5 ? 300000 : cur * 1.5;
    }
    expect(delays).toEqual(expected);
    expect(Math.max(...delays)).toBe(150000); // half of the 5 min cap
    await s.ct.stop();
  });

  test('stop while waiting in the backoff ends the reconnect: timer cancelled, nothing dialed', async () => {
    const s = setup();
    await s.ct.start(false);
    s.last().fail(new Error('x'));
    expect(s.clock.pending).toHaveLength(1);
    await s.ct.stop();
    expect(s.clock.pending).toHaveLength(0);
    expect(s.ct.started).toBe(false);
    expect(s.ct.connected).toBe(false);
    await flush();
    expect(s.listeners).toHaveLength(1);
  });

  test.each(['stop', 'close'] as const)('%s while a reconnect dial is in flight: the new connection is closed, not leaked', async (how) => {
    let release!: (l: FlowListener) => void;
    let dials = 0;
    const second = new ManualListener();
    const first = new ManualListener();
    const s = setup({
      dial: () => {
        dials++;
        return dials === 1 ? first : new Promise<FlowListener>((r) => (release = r));
      },
    });
    await s.ct.start(false);
    first.fail(new Error('x'));
    s.clock.fire();
    await until(() => dials === 2);
    await s.ct[how]();
    release(second);
    await until(() => second.closed);
    expect(s.ct.started).toBe(false);
    expect(s.ct.connected).toBe(false);
  });

  test('the stop signal left by a stop during a reconnect dial is drained: the next start keeps running', async () => {
    let release!: (l: FlowListener) => void;
    let dials = 0;
    const s = setup({
      dial: () => {
        dials++;
        const l = new ManualListener();
        s.listeners.push(l);
        return dials === 2 ? new Promise<FlowListener>((r) => (release = () => r(l))) : l;
      },
    });
    await s.ct.start(false);
    s.last().fail(new Error('x'));
    s.clock.fire();
    await until(() => dials === 2);
    await s.ct.stop(); // the receiver is dialing: the signal stays pending
    release(s.last());
    await until(() => s.last().closed);
    await s.ct.start(false);
    const third = s.last();
    expect(dials).toBe(3);
    third.push(event({ dst: '100.64.0.1', id: 33 }));
    expect(s.events.map((e) => e.conntrackId)).toEqual([33]);
    // and it still reacts to failures (its receiver is alive)
    third.fail(new Error('y'));
    expect(s.clock.pending).toHaveLength(1);
    await s.ct.stop();
  });

  test('stop during the backoff and an immediate start: the old reconnect ends without touching the new run', async () => {
    const s = setup();
    await s.ct.start(false);
    s.last().fail(new Error('x'));
    const stopped = s.ct.stop();
    const started = s.ct.start(false);
    await Promise.all([stopped, started]);
    await flush();
    expect(s.ct.started).toBe(true);
    expect(s.ct.connected).toBe(true);
    expect(s.clock.pending).toHaveLength(0);
    s.last().push(event({ dst: '100.64.0.1', id: 12 }));
    expect(s.events.map((e) => e.conntrackId)).toEqual([12]);
    await s.ct.stop();
  });

  test('backoff delays: 5 s +- 50 %, then x1.5', () => {
    const table: [number, number[]][] = [
      [0, [2500, 3750, 5625, 8437]],
      [0.999999, [7500, 11250, 16875, 25313]],
    ];
    for (const [r, want] of table) {
      const bo = new ExponentialBackoff({ random: () => r });
      expect([bo.next(), bo.next(), bo.next(), bo.next()]).toEqual(want);
    }
  });
});

describe('events', () => {
  test('NEW and DESTROY become start and end with the same flow id uuidv5(BE32(id), instanceId); UPDATE is dropped', async () => {
    const s = setup();
    await s.ct.start(false);
    s.last().push(
      event({ event: 'new', dst: '100.64.0.1', id: 0x01020304 }),
      event({ event: 'update', dst: '100.64.0.1', id: 0x01020304 }),
      event({ event: 'destroy', dst: '100.64.0.1', id: 0x01020304 }),
    );
    await s.ct.stop();
    expect(s.events.map((e) => e.type)).toEqual(['start', 'end']);
    const want = uuidv5(Uint8Array.from([1, 2, 3, 4]), s.ct.instanceId);
    expect(s.events.map((e) => e.flowId)).toEqual([want, want]);
    expect(s.ct.flowId(0x01020304)).toBe(want);
    // another tracker: another instance id, other flow ids
    expect(setup().ct.flowId(0x01020304)).not.toBe(want);
  });

  test('events without a protocol number are dropped; other protocols (GRE) pass like the seed', async () => {
    const out = await logged([
      { dst: '100.64.0.1', proto: null, id: 1 },
      { dst: '100.64.0.1', proto: 47, id: 2 },
    ]);
    expect(out.map((e) => [e.conntrackId, e.protocol, e.sourcePort, e.destPort])).toEqual([[2, 47, 0, 0]]);
  });

  test('records that are not flows are ignored', async () => {
    const s = setup();
    await s.ct.start(false);
    const done = new Uint8Array(20);
    new DataView(done.buffer).setUint32(0, 20, true);
    new DataView(done.buffer).setUint16(4, 3, true); // NLMSG_DONE
    s.last().push(done, event({ dst: '100.64.0.1', id: 4 }));
    await s.ct.stop();
    expect(s.events.map((e) => e.conntrackId)).toEqual([4]);
  });

  test.each([
    // [what, event, relevant]
    ['data-plane mark, lowest', { mark: 0x1bd10 }, true],
    ['data-plane mark, highest', { mark: 0x1bdff }, true],
    ['control-plane mark (below the range)', { mark: 0x1bd00 }, false],
    ['mark above the range', { mark: 0x1be00 }, false],
    ['no mark, addresses outside', {}, false],
    ['orig src in the IPv4 network', { src: '100.64.3.4' }, true],
    ['orig dst in the IPv4 network', { dst: '100.64.255.255' }, true],
    ['just outside the network', { src: '100.65.0.1', dst: '100.63.255.255' }, false],
    ['orig src in the IPv6 network', { src: 'fd00:1::99', dst: '2001:db8::1' }, true],
    ['orig dst in the IPv6 network', { src: '2001:db8::1', dst: 'fd00:1:0:0:ffff::1' }, true],
    ['IPv6 outside', { src: 'fd00:2::1', dst: '2001:db8::1' }, false],
  ] as [string, Ev, boolean][])('relevance: %s', async (_what, e, relevant) => {
    const out = await logged([{ src: '10.1.1.1', dst: '192.168.1.1', ...e }]);
    expect(out.length).toBe(relevant ? 1 : 0);
  });

  test('an IPv6 network is optional; without one IPv6 flows are only relevant by mark', async () => {
    const iface = () => ({ ip: '100.64.0.1', network: '100.64.0.0/16' });
    expect(await logged([{ src: 'fd00:1::2', dst: 'fd00:1::1' }], { iface })).toHaveLength(0);
    expect(await logged([{ src: 'fd00:1::2', dst: 'fd00:1::1', mark: IN }], { iface })).toHaveLength(1);
  });

  test.each([
    // [what, event, direction]
    ['DataPlaneMarkIn', { mark: M.ingress[0] }, 'ingress'],
    ['PreroutingFwmarkRedirected', { mark: M.ingress[1] }, 'ingress'],
    ['PreroutingFwmarkMasquerade', { mark: M.ingress[2] }, 'ingress'],
    ['DataPlaneMarkOut', { mark: M.egress[0] }, 'egress'],
    ['PreroutingFwmarkMasqueradeReturn', { mark: M.egress[1] }, 'egress'],
    ['the in mark wins over the addresses', { mark: IN, src: '100.64.0.1' }, 'ingress'],
    ['the out mark wins over the addresses', { mark: OUT, dst: '100.64.0.1' }, 'egress'],
    ['data-plane mark without a direction: unknown', { mark: 0x1bd30 }, 'unknown'],
    ['src is the interface IP', { src: '100.64.0.1', dst: '8.8.8.8' }, 'egress'],
    ['dst is the interface IP', { src: '8.8.8.8', dst: '100.64.0.1' }, 'ingress'],
    ['src is the IP and dst in the network: src first', { src: '100.64.0.1', dst: '100.64.0.2' }, 'egress'],
    ['dst is the IP and src in the network: the IP case first', { src: '100.64.0.2', dst: '100.64.0.1' }, 'ingress'],
    ['src in the network (peer -> routed resource)', { src: '100.64.7.7', dst: '192.168.1.1' }, 'ingress'],
    ['dst in the network (resource -> peer)', { src: '192.168.1.1', dst: '100.64.7.7' }, 'egress'],
    ['src is the IPv6 interface IP', { src: 'fd00:1::1', dst: '2001:db8::1' }, 'egress'],
    ['dst is the IPv6 interface IP', { src: '2001:db8::1', dst: 'fd00:1::1' }, 'ingress'],
    ['src in the IPv6 network', { src: 'fd00:1::5', dst: '2001:db8::1' }, 'ingress'],
    ['dst in the IPv6 network', { src: '2001:db8::1', dst: 'fd00:1::5' }, 'egress'],
  ] as [string, Ev, string][])('direction: %s', async (_what, e, direction) => {
    const out = await logged([{ src: '10.1.1.1', dst: '192.168.1.1', ...e }]);
    expect(out.map((x) => x.direction)).toEqual([direction]);
  });

  test('an address of the other family never equals the interface IP (IPv4-mapped IPv6 is IPv6)', async () => {
    const out = await logged([{ src: '::ffff:100.64.0.1', dst: '2001:db8::1', mark: 0x1bd30 }]);
    expect(out.map((x) => x.direction)).toEqual(['unknown']);
  });

  test.each([
    // [direction by, event, rx packets/bytes, tx packets/bytes]
    ['ingress: rx = orig, tx = reply', { mark: IN }, [3n, 300n], [5n, 5000n]],
    ['egress: rx = reply, tx = orig', { mark: OUT }, [5n, 5000n], [3n, 300n]],
    ['unknown maps like egress', { mark: 0x1bd30 }, [5n, 5000n], [3n, 300n]],
    ['ingress by address', { dst: '100.64.0.1' }, [3n, 300n], [5n, 5000n]],
    ['egress by address', { src: '100.64.0.1' }, [5n, 5000n], [3n, 300n]],
  ] as [string, Ev, [bigint, bigint], [bigint, bigint]][])('counters: %s', async (_what, e, rx, tx) => {
    const out = await logged([{ event: 'destroy', orig: [3n, 300n], reply: [5n, 5000n], ...e }]);
    expect(out).toHaveLength(1);
    expect([out[0].rxPackets, out[0].rxBytes]).toEqual(rx);
    expect([out[0].txPackets, out[0].txBytes]).toEqual(tx);
  });

  test('counters are 0 without accounting; 64-bit values stay exact', async () => {
    const out = await logged([
      { dst: '100.64.0.1', id: 1 },
      { dst: '100.64.0.1', id: 2, orig: [2n ** 63n + 1n, 2n ** 64n - 1n], reply: [0n, 1n] },
    ]);
    expect(out.map((e) => [e.rxPackets, e.rxBytes, e.txPackets, e.txBytes])).toEqual([
      [0n, 0n, 0n, 0n],
      [2n ** 63n + 1n, 2n ** 64n - 1n, 0n, 1n],
    ]);
  });

  test.each([
    ['TCP ports', { proto: 6, sport: 1234, dport: 80 }, [1234, 80, 0, 0]],
    ['UDP ports', { proto: 17, sport: 53, dport: 5353 }, [53, 5353, 0, 0]],
    ['SCTP ports', { proto: 132, sport: 9, dport: 10 }, [9, 10, 0, 0]],
    ['ICMP type/code', { proto: 1, icmpType: 8, icmpCode: 0 }, [0, 0, 8, 0]],
    ['ICMP unreachable', { proto: 1, icmpType: 3, icmpCode: 1 }, [0, 0, 3, 1]],
    ['ICMPv6 type/code', { proto: 58, src: 'fd00:1::2', dst: 'fd00:1::1', icmpType: 128, icmpCode: 0 }, [0, 0, 128, 0]],
    ['DCCP: no ports in the event', { proto: 33, sport: 1, dport: 2 }, [0, 0, 0, 0]],
  ] as [string, Ev, number[]][])('%s', async (_what, e, want) => {
    const out = await logged([{ dst: '100.64.0.1', ...e }]);
    expect(out).toHaveLength(1);
    expect([out[0].sourcePort, out[0].destPort, out[0].icmpType, out[0].icmpCode]).toEqual(want);
    expect(out[0].protocol).toBe(e.proto);
  });

  test('all fields of one event', async () => {
    const s = setup();
    await s.ct.start(false);
    s.last().push(event({ event: 'destroy', src: '100.64.0.9', dst: '10.0.0.5', proto: 17, sport: 4000, dport: 53, id: 77, orig: [1n, 60n], reply: [1n, 120n] }));
    await s.ct.stop();
    expect(s.events).toEqual([{
      flowId: s.ct.flowId(77), type: 'end', direction: 'ingress', protocol: 17,
      sourceIp: '100.64.0.9', destIp: '10.0.0.5', sourcePort: 4000, destPort: 53, icmpType: 0, icmpCode: 0,
      rxPackets: 1n, txPackets: 1n, rxBytes: 60n, txBytes: 120n, conntrackId: 77,
    }]);
  });

  test('the interface address is read per batch: a change applies to the next batch', async () => {
    let a: InterfaceAddress = { ip: '100.64.0.1', network: '100.64.0.0/16' };
    const s = setup({ iface: () => a });
    await s.ct.start(false);
    s.last().push(event({ src: '10.9.9.9', dst: '100.65.0.1', id: 1 }));
    a = { ip: '100.65.0.1', network: '100.65.0.0/16' };
    s.last().push(event({ src: '10.9.9.9', dst: '100.65.0.1', id: 2 }));
    await s.ct.stop();
    expect(s.events.map((e) => [e.conntrackId, e.direction])).toEqual([[2, 'ingress']]);
  });

  test("the interface ip may carry the network as 'addr/len' (wgaddr form)", async () => {
    const out = await logged([{ src: '100.64.2.2', dst: '1.1.1.1' }], { iface: () => ({ ip: '100.64.0.1/16' }) });
    expect(out.map((e) => e.direction)).toEqual(['ingress']);
  });

  test('custom marks replace the netbird ones', async () => {
    const marks = { dataPlane: [100, 200] as [number, number], ingress: [150], egress: [151] };
    const out = await logged([{ mark: 150, id: 1 }, { mark: 151, id: 2 }, { mark: 0x1bd10, id: 3 }], { marks });
    expect(out.map((e) => [e.conntrackId, e.direction])).toEqual([[1, 'ingress'], [2, 'egress']]);
  });

  test('a throwing flow logger does not stop the tracker', async () => {
    const seen: number[] = [];
    const logs: string[] = [];
    const l = new ManualListener();
    const ct = new ConnTrack(
      { storeEvent: (f) => { seen.push(f.conntrackId); throw new Error('full'); } },
      { address: () => IFACE },
      { dial: () => l, log: (_lvl, m) => logs.push(m) },
    );
    await ct.start(false);
    l.push(event({ dst: '100.64.0.1', id: 1 }), event({ dst: '100.64.0.1', id: 2 }));
    await ct.stop();
    expect(seen).toEqual([1, 2]);
    expect(logs.filter((m) => m.includes('storeEvent failed'))).toHaveLength(2);
  });

  test('bad arguments are ConntrackErrors', () => {
    const table: [() => unknown, RegExp][] = [
      [() => new ConnTrack({} as never, { address: () => IFACE }), /storeEvent/],
      [() => new ConnTrack({ storeEvent() {} }, {} as never), /address/],
      [() => new ConnTrack({ storeEvent() {} }, { address: () => ({ ip: '100.64.0.300' }) }), /not a valid/],
      [() => new ConnTrack({ storeEvent() {} }, { address: () => ({ network: '100.64.0.0/33' }) }), /prefix length/],
      [() => new ConnTrack({ storeEvent() {} }, { address: () => ({ network: 'fd00::/64' }) }), /IPv4/],
      [() => new ConnTrack({ storeEvent() {} }, { address: () => IFACE }, { marks: { ingress: [1, 2, 3, 4, 5], egress: [] } }), /at most 4/],
      [() => new ConnTrack({ storeEvent() {} }, { address: () => IFACE }, { instanceId: 'nope' }), /UUID/],
    ];
    for (const [fn, msg] of table) expect(fn).toThrow(expect.objectContaining({ code: 'ERR_CT_INVALID_ARGUMENT', message: expect.stringMatching(msg) }));
  });
});

describe('the WASM direction pass against a plain reading of the seed', () => {
  // Address pool: for each, whether it is the interface IP and whether it is in the interface network.
  const V4 = [['100.64.0.1', true, true], ['100.64.3.3', false, true], ['100.65.0.1', false, false], ['10.0.0.1', false, false]] as const;
  const V6 = [['fd00:1::1', true, true], ['fd00:1::7', false, true], ['fd00:2::1', false, false], ['2001:db8::1', false, false]] as const;
  const MARKS = [undefined, 0, 0x1bd00, 0x1bd10, 0x1bd11, 0x1bd20, 0x1bd21, 0x1bd22, 0x1bd30, 0x1bdff, 0x1be00];
  type A = readonly [string, boolean, boolean];

  function reference(mark: number | undefined, s: A, d: A, v6: boolean, withV6: boolean) {
    const m = mark ?? 0;
    const known = !v6 || withV6; // without an IPv6 config an IPv6 address is neither the IP nor in the network
    const isIp = (a: A) => known && a[1];
    const inNet = (a: A) => known && a[2];
    const relevant = (m >= 0x1bd10 && m <= 0x1bdff) || inNet(s) || inNet(d);
    let direction = 'unknown';
    if ([0x1bd10, 0x1bd20, 0x1bd21].includes(m)) direction = 'ingress';
    else if ([0x1bd11, 0x1bd22].includes(m)) direction = 'egress';
    else if (isIp(s)) direction = 'egress';
    else if (isIp(d)) direction = 'ingress';
    else if (inNet(s)) direction = 'ingress';
    else if (inNet(d)) direction = 'egress';
    return { relevant, direction };
  }

  test('relevance, direction and the rx/tx mapping agree on random events', async () => {
    const ev = fc.record({
      v6: fc.boolean(),
      s: fc.nat(3),
      d: fc.nat(3),
      mark: fc.constantFrom(...MARKS),
      op: fc.bigInt(0n, 2n ** 64n - 1n),
      ob: fc.bigInt(0n, 2n ** 64n - 1n),
      rp: fc.bigInt(0n, 2n ** 40n),
      rb: fc.bigInt(0n, 2n ** 40n),
      destroy: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(ev, { minLength: 1, maxLength: 40 }), fc.boolean(), async (evs, withV6) => {
        const iface = withV6 ? IFACE : { ip: IFACE.ip, network: IFACE.network };
        const out = await logged(
          evs.map((e, i) => {
            const pool = e.v6 ? V6 : V4;
            return { event: e.destroy ? 'destroy' : 'new', src: pool[e.s][0], dst: pool[e.d][0], mark: e.mark, id: i + 1, orig: [e.op, e.ob], reply: [e.rp, e.rb] } as Ev;
          }),
          { iface: () => iface },
        );
        const want = evs.flatMap((e, i) => {
          const pool = e.v6 ? V6 : V4;
          const r = reference(e.mark, pool[e.s], pool[e.d], e.v6, withV6);
          if (!r.relevant) return [];
          const ingress = r.direction === 'ingress';
          return [{ id: i + 1, direction: r.direction, rx: ingress ? [e.op, e.ob] : [e.rp, e.rb], tx: ingress ? [e.rp, e.rb] : [e.op, e.ob] }];
        });
        expect(out.map((f) => ({ id: f.conntrackId, direction: f.direction, rx: [f.rxPackets, f.rxBytes], tx: [f.txPackets, f.txBytes] }))).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });
});

describe('accounting', () => {
  test('start(true) turns nf_conntrack_acct on when off and stop restores it', async () => {
    const s = setup();
    s.setSysctl(0);
    await s.ct.start(true);
    expect(s.sysctl).toBe(1);
    expect(s.ct.accountingChanged).toBe(true);
    await s.ct.stop();
    expect(s.sysctl).toBe(0);
    expect(s.sysctlWrites).toEqual([1, 0]);
  });

  test('close restores it too', async () => {
    const s = setup();
    s.setSysctl(0);
    await s.ct.start(true);
    await s.ct.close();
    expect(s.sysctlWrites).toEqual([1, 0]);
  });

  test('already on: nothing written, nothing restored; start(false) never touches it', async () => {
    const s = setup();
    s.setSysctl(1);
    await s.ct.start(true);
    await s.ct.stop();
    s.setSysctl(0);
    await s.ct.start(false);
    await s.ct.stop();
    expect(s.sysctlWrites).toEqual([]);
  });

  test('a sysctl that cannot be changed is a warning, not a failure', async () => {
    const logs: string[] = [];
    const l = new ManualListener();
    const ct = new ConnTrack({ storeEvent() {} }, { address: () => IFACE }, {
      dial: () => l, log: (_lvl, m) => logs.push(m),
      sysctl: { read: () => 0, write: () => { throw new Error('read-only file system'); } },
    });
    await ct.start(true);
    expect(ct.started).toBe(true);
    expect(ct.accountingChanged).toBe(false);
    expect(logs.join('\n')).toMatch(/failed to enable conntrack accounting: read-only/);
    await ct.stop();
  });
});

describe('replay through the dialer seam', () => {
  test('a capture of 300 TCP connections gives 300 starts and 300 ends, paired by flow id, as the decoded events say', async () => {
    const pcap = path.join(__dirname, 'fixtures', 'events-churn', 'events.pcap');
    const events: FlowEventFields[] = [];
    let ended = false;
    const ct = new ConnTrack({ storeEvent: (f) => events.push(f) }, { address: () => ({ ip: '127.0.0.1', network: '127.0.0.0/8' }) }, {
      dial: replayDialer(pcap, { onEnd: () => (ended = true) }),
    });
    await ct.start(false);
    await until(() => ended, 100000);
    await ct.stop();
    const flows = (await replayAll(pcap)).map((i) => i.message as Flow).filter((m) => m.event === 'new' || m.event === 'destroy');
    expect(events).toHaveLength(flows.length);
    expect(events.filter((e) => e.type === 'start')).toHaveLength(300);
    events.forEach((e, i) => {
      const f = flows[i];
      expect([e.type, e.conntrackId, e.sourceIp, e.sourcePort, e.destPort]).toEqual([
        f.event === 'new' ? 'start' : 'end', f.id, f.orig?.src, f.orig?.srcPort, f.orig?.dstPort,
      ]);
      // 127.0.0.1 is the interface IP and the source: egress, rx = reply, tx = orig
      expect(e.direction).toBe('egress');
      expect([e.rxPackets, e.rxBytes, e.txPackets, e.txBytes]).toEqual([
        f.countersReply?.packets ?? 0n, f.countersReply?.bytes ?? 0n, f.countersOrig?.packets ?? 0n, f.countersOrig?.bytes ?? 0n,
      ]);
    });
    const ends = new Map(events.filter((e) => e.type === 'end').map((e) => [e.flowId, e]));
    for (const s of events.filter((e) => e.type === 'start')) expect(ends.get(s.flowId)?.conntrackId).toBe(s.conntrackId);
  });
});

describe('ctrack flows', () => {
  const pcap = path.join(__dirname, 'fixtures', 'events-churn', 'events.pcap');

  test('text lines from a capture: start and end with direction, endpoints, rx/tx, conntrack id and flow id', async () => {
    const r = await ctrack('flows', '--replay', pcap, '--ip', '127.0.0.1/8');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(600);
    const flows = (await replayAll(pcap)).map((i) => i.message as Flow).filter((m) => m.event === 'new' || m.event === 'destroy');
    lines.forEach((line, i) => {
      const f = flows[i];
      const m = /^(start|end  ) egress  tcp 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:5100 rx=(\d+)\/(\d+) tx=(\d+)\/(\d+) id=(\d+) flow=([0-9a-f-]{36})$/.exec(line);
      expect(m).not.toBeNull();
      const [, type, sport, rxp, rxb, txp, txb, id] = m as RegExpExecArray;
      expect([type.trim(), Number(sport), BigInt(rxp), BigInt(rxb), BigInt(txp), BigInt(txb), Number(id)]).toEqual([
        f.event === 'new' ? 'start' : 'end', f.orig?.srcPort,
        f.countersReply?.packets ?? 0n, f.countersReply?.bytes ?? 0n, f.countersOrig?.packets ?? 0n, f.countersOrig?.bytes ?? 0n, f.id,
      ]);
    });
  });

  test('--json -c: exactly n objects with every field; counters are JSON integers', async () => {
    const r = await ctrack('flows', '--replay', pcap, '--network', '127.0.0.0/8', '--json', '-c', '3');
    expect(r.code).toBe(0);
    const objs = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(objs).toHaveLength(3);
    for (const o of objs) {
      expect(Object.keys(o).sort()).toEqual(['conntrackId', 'destIp', 'destPort', 'direction', 'flowId', 'icmpCode', 'icmpType', 'protocol',
        'rxBytes', 'rxPackets', 'sourceIp', 'sourcePort', 'txBytes', 'txPackets', 'type']);
      expect(o).toMatchObject({ type: 'start', protocol: 6, sourceIp: '127.0.0.1', destPort: 5100, rxBytes: 0, txPackets: 0 });
      // only a network, no interface ip: the source inside it makes the flow ingress
      expect(o.direction).toBe('ingress');
    }
  });

  test('no network or ip: a warning, and flows without data-plane marks are not logged', async () => {
    const r = await ctrack('flows', '--replay', pcap);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no --network or --ip given/);
  });

  test.each([
    [['--count', '0'], /--count must be a positive integer/],
    [['--fwmark-base', '0x1bd01'], /low byte free/],
    [['--network', '100.64.0.0/40'], /prefix length/],
    [['--network', '10.0.0.0/8', '--network', '11.0.0.0/8'], /twice/],
    [['--replay', pcap, '--netns', 'x'], /need the kernel/],
    [['--frobnicate'], /unknown option/],
  ])('bad arguments %j exit 2 with one message', async (args, msg) => {
    const r = await ctrack('flows', ...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr).toMatch(/\[ERR_CT_INVALID_ARGUMENT\]\n$/);
  });

  test('a capture that is missing or not a pcap: exit 1 with ERR_CT_CAPTURE', async () => {
    for (const file of [path.join(__dirname, 'no-such.pcap'), __filename]) {
      const r = await ctrack('flows', '--replay', file, '--ip', '127.0.0.1');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/\[ERR_CT_CAPTURE\]\n$/);
    }
  });
});
