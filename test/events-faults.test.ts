// Faults under an event listener (issue 7): reconnect with exponential
// backoff, no busy loop, no duplicate listeners, no leaked fds; close() from
// inside an event callback.
import { readdirSync } from 'fs';
import { Conntrack } from '../src/conntrack';
import type { EventStream } from '../src/events';
import { ConntrackError } from '../src/errors';
import type { Flow } from '../src/types';
import { Netns } from './helpers/netns';
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

const until = (cond: () => boolean, ms = 10000): Promise<void> => waitUntil(cond, ms, 10);
const fds = (): number => readdirSync('/proc/self/fd').length;

let port = 2000;
/** Create and delete one UDP entry: a NEW and a DESTROY event. */
async function churn(): Promise<number> {
  const orig = { src: '10.80.0.1', dst: '10.80.0.2', protoNum: 17, srcPort: port++, dstPort: 53 };
  await ct.create({ orig, timeout: 60 });
  await ct.delete(orig);
  return orig.srcPort;
}

function ports(seen: Flow[]): number[] {
  return seen.map((f) => f.orig?.srcPort as number);
}

test('100 forced reconnects: each reopens the socket once, no leaked fds, events still arrive exactly once', async () => {
  const before = fds();
  const s = ct.events({ reconnect: { initialMs: 1, maxMs: 5, factor: 2 } });
  const seen: Flow[] = [];
  s.on('event', (e) => seen.push(e as Flow));
  let reconnects = 0;
  s.on('reconnect', () => reconnects++);
  for (let i = 1; i <= 100; i++) {
    s._injectFault();
    await until(() => s.reconnectCount === i);
    expect(s.reconnectCount).toBe(i);
  }
  expect(reconnects).toBe(100);
  const p = await churn();
  await until(() => seen.length >= 2);
  await sleep(100); // a duplicate listener would deliver more by now
  s.close();
  expect(ports(seen)).toEqual([p, p]);
  expect(seen.map((e) => e.event)).toEqual(['new', 'destroy']);
  // one socket open during the test, none after; a few fds of slack for the test runner itself
  expect(fds() - before).toBeLessThanOrEqual(2);
}, 60000);

test('the backoff grows by the factor up to maxMs while reconnects keep failing, and starts afresh once the socket works', async () => {
  const s = ct.events({ reconnect: { initialMs: 2, maxMs: 20, factor: 3 } });
  const delays: number[] = [];
  s.on('reconnect', ({ delayMs }) => delays.push(delayMs));
  for (let i = 1; i <= 5; i++) {
    s._injectFault();
    await until(() => s.reconnectCount === i);
  }
  expect(delays).toEqual([2, 6, 18, 20, 20]);
  // a received batch resets the attempt counter
  let got = 0;
  s.on('event', () => got++);
  await churn();
  await until(() => got >= 2);
  s._injectFault();
  await until(() => s.reconnectCount === 6);
  s.close();
  expect(delays[5]).toBe(2);
}, 30000);

test('reopening that keeps failing (the namespace is gone) backs off instead of spinning; close() ends it', async () => {
  const gone = Netns.create();
  const c2 = await Conntrack.open({ netns: gone.name });
  const s = c2.events({ reconnect: { initialMs: 20, maxMs: 10000, factor: 2 } });
  const errors: unknown[] = [];
  s.on('reconnect', ({ error }) => errors.push(error));
  c2.close();
  gone.destroy();
  s._injectFault();
  await sleep(700);
  // 20 + 40 + 80 + 160 + 320 ms: at most 5 reopen attempts in 700 ms (a busy loop would make thousands)
  expect(errors.length).toBeGreaterThanOrEqual(3);
  expect(errors.length).toBeLessThanOrEqual(6);
  expect(errors.slice(1).every((e) => e instanceof ConntrackError)).toBe(true);
  let closed = 0;
  s.on('close', () => closed++);
  s.close();
  const n = errors.length;
  await sleep(400);
  expect(errors.length).toBe(n);
  expect(closed).toBe(1);
});

test("reconnect: false: a socket failure ends the stream with 'error' and 'close'", async () => {
  const s = ct.events({ reconnect: false });
  const errs: unknown[] = [];
  let closed = false;
  s.on('error', (e) => errs.push(e));
  s.on('close', () => (closed = true));
  s._injectFault(new ConntrackError('ERR_CT_SYSTEM', 'boom'));
  expect(errs).toHaveLength(1);
  expect(closed).toBe(true);
});

test.each<[string, (s: EventStream, seen: unknown[]) => void]>([
  ["'event' listener", (s, seen) => s.on('event', (e) => { seen.push(e); s.close(); })],
  ["'batch' listener", (s, seen) => s.on('batch', (b) => { seen.push(b.size); s.close(); })],
])('close() from inside an %s: nothing more is delivered, the iterator ends, close is emitted once', async (_n, hook) => {
  const s = ct.events();
  const seen: unknown[] = [];
  let closes = 0;
  s.on('close', () => closes++);
  hook(s, seen);
  const iterated: unknown[] = [];
  const it = (async () => {
    for await (const e of s) iterated.push(e);
  })();
  // several events in the socket before the stream reads: one batch
  const orig = { src: '10.81.0.1', dst: '10.81.0.2', protoNum: 17, srcPort: 7, dstPort: 7 };
  await ct.create({ orig, timeout: 60 });
  await ct.delete(orig);
  await ct.create({ orig, timeout: 60 });
  await ct.delete(orig);
  await it;
  await sleep(100);
  expect(seen).toHaveLength(1);
  expect(closes).toBe(1);
  expect(iterated.length).toBeLessThanOrEqual(1);
});
