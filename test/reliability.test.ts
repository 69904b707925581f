// Faults and bounds against the real kernel, in a private namespace:
// no leaked fds over 1,000 open/close cycles; close() during a dump, a
// pending get and a running deleteMatching rejects with ERR_CT_CLOSED (never
// hangs); a dump consumer that stops reading holds the rest in the kernel
// instead of growing the process; dumps under a concurrent create/delete churn.
import { spawn, type ChildProcess } from 'child_process';
import { readdirSync, readlinkSync } from 'fs';
import * as path from 'path';
import { Conntrack } from '../src/conntrack';
import { ConntrackError } from '../src/errors';
import { FilterBuilder } from '../src/filter';
import * as A from '../src/generated/attrs';
import type { Flow } from '../src/types';
import { Netns, tool } from './helpers/netns';
import { waitFor } from './helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fill } = require('../bench/fill.js') as { fill(ns: string, from: number, to: number): Promise<{ errors: number; firstError?: Error }> };

const TABLE = 20_000; // entries 0..TABLE-1 of bench/fill.js: sources in 10.1.0.0/16
const CHURN_BASE = 1 << 16; // churn entries: sources in 10.2.0.0/16
const CHURN_COUNT = 2_000;

// What every open fd points at ('socket:[inode]', a path, 'pipe:[inode]'),
// counted. A leak is a target open more times after than before; an fd that
// something else in the worker closed meanwhile (seen once in CI: a transient
// fd open at the first snapshot) is not one.
function openFds(): Map<string, number> {
  const m = new Map<string, number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink (the readdir's own fd, for one)
    }
    m.set(target, (m.get(target) ?? 0) + 1);
  }
  return m;
}

/** The fds open in `after` beyond those in `before` ("target xN"). */
function leaked(before: Map<string, number>, after: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [t, n] of after) if (n > (before.get(t) ?? 0)) out.push(`${t} x${n - (before.get(t) ?? 0)}`);
  return out;
}

/** Settle `p` or fail naming `what` after `ms` (a bound against hangs, not a timing assertion). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const until = waitFor;

const codeOf = (e: unknown): string => (e instanceof ConntrackError ? e.code : `not a ConntrackError: ${String(e)}`);

let ns: Netns;

beforeAll(() => {
  ns = Netns.create();
});

afterAll(() => {
  ns?.destroy();
});

test('1,000 open/close cycles (some with a dump and a deleteMatching socket) leak no file descriptors', async () => {
  // warm up: the addon and the WASM module are loaded once
  const warm = await Conntrack.open({ netns: ns.name });
  await warm.list();
  warm.close();
  const before = openFds();
  for (let i = 0; i < 1000; i++) {
    const ct = await Conntrack.open({ netns: ns.name });
    if (i % 100 === 0) await ct.list();
    if (i % 250 === 0) await ct.deleteMatching(new FilterBuilder().src('192.0.2.0/24'));
    ct.close();
  }
  expect(leaked(before, openFds())).toEqual([]);
}, 300_000);

// Known gap (src/events.ts, reported, not fixed here): the rest of the batch
// being delivered when close() is called is still emitted. What holds: no
// throw, one 'close', nothing from later datagrams, requests reject.
test('close() from inside an event callback: the stream and the Conntrack close, no throw, nothing from later datagrams', async () => {
  const ct = await Conntrack.open({ netns: ns.name });
  const stream = ct.events();
  const errors: unknown[] = [];
  let events = 0;
  let closed = 0;
  stream.on('error', (e) => errors.push(e));
  stream.on('close', () => closed++);
  stream.on('event', () => {
    events++;
    stream.close();
    ct.close();
  });
  const insert = (port: number): void => {
    ns.exec(tool('conntrack'), ['-I', '-p', 'udp', '-s', '192.0.2.1', '-d', '192.0.2.2', '--sport', String(port), '--dport', '53', '-t', '30']);
  };
  try {
    await new Promise((r) => setTimeout(r, 200)); // subscribed before the events happen
    insert(4000);
    await until(() => closed > 0, 30_000, 'the stream to close');
    const atClose = events;
    for (let i = 1; i <= 3; i++) insert(4000 + i);
    await new Promise((r) => setTimeout(r, 500)); // later events would have arrived by now
    expect(atClose).toBe(1);
    expect(events).toBe(atClose);
    expect(closed).toBe(1);
    expect(errors).toEqual([]);
    await expect(ct.list()).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
  } finally {
    stream.close();
    ct.close();
    ns.exec(tool('conntrack'), ['-D', '-s', '192.0.2.1']);
  }
});

describe('with a table of 20,000 entries', () => {
  beforeAll(async () => {
    const r = await fill(ns.name, 0, TABLE);
    if (r.errors > 0) throw r.firstError;
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      expect((await ct.count()).entries).toBe(TABLE);
    } finally {
      ct.close();
    }
  }, 120_000);

  test('close() during a dump: the iterator rejects with ERR_CT_CLOSED', async () => {
    const ct = await Conntrack.open({ netns: ns.name });
    let seen = 0;
    const consume = async (): Promise<string> => {
      try {
        for await (const f of ct.dump({ highWaterMark: 64 })) {
          expect(f.kind).toBe('flow');
          if (++seen === 10) ct.close();
        }
        return 'ended without an error';
      } catch (e) {
        return codeOf(e);
      }
    };
    expect(await within(consume(), 30_000, 'the dump iterator after close()')).toBe('ERR_CT_CLOSED');
    expect(seen).toBeLessThan(TABLE);
    await expect(ct.list()).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
  });

  test('close() during a pending get and a pending list: both reject with ERR_CT_CLOSED', async () => {
    const ct = await Conntrack.open({ netns: ns.name });
    const get = ct.get({ src: '10.1.0.1', dst: '192.168.200.1', protoNum: 17, srcPort: 1024, dstPort: 53 });
    ct.close();
    await expect(within(get, 30_000, 'get() after close()')).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
    const ct2 = await Conntrack.open({ netns: ns.name });
    const list = ct2.list();
    ct2.close();
    await expect(within(list, 30_000, 'list() after close()')).rejects.toMatchObject({ code: 'ERR_CT_CLOSED' });
  });

  describe('dumps under a concurrent create/delete churn', () => {
    let churn: ChildProcess;
    let cycles = 0;
    let churnErr = '';

    beforeAll(() => {
      churn = spawn(process.execPath, [path.join(__dirname, 'helpers', 'churn.js'), ns.name, String(CHURN_BASE), String(CHURN_COUNT), '10.2.0.0/16'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      churn.stdout?.on('data', (b: Buffer) => { cycles += (String(b).match(/^cycle /gm) ?? []).length; });
      churn.stderr?.on('data', (b: Buffer) => { churnErr += String(b); });
    });

    afterAll(async () => {
      if (churn.exitCode === null) {
        const exited = new Promise((r) => churn.once('exit', r));
        churn.kill('SIGTERM');
        await within(exited, 60_000, 'the churn process to stop');
      }
    }, 70_000);

    // ctnetlink_dump_table (net/netfilter/nf_conntrack_netlink.c) walks the
    // hash bucket by bucket and resumes from cb->args (bucket, id of the last
    // entry); it never sets cb->seq nor calls nl_dump_check_consistent(), so
    // conntrack dumps are never flagged NLM_F_DUMP_INTR. A dump under churn
    // is a fuzzy snapshot instead: what this test pins down.
    test('never flagged NLM_F_DUMP_INTR; every untouched entry is in every dump; churned ones come and go', async () => {
      await until(() => cycles >= 1 || churnErr !== '', 120_000, 'the first churn cycle');
      expect(churnErr).toBe('');
      const ct = await Conntrack.open({ netns: ns.name, timeout: 30_000 });
      const rounds: Array<{ stable: number; dupes: number; churned: number; intr: number }> = [];
      const startCycles = cycles;
      try {
        for (let round = 0; round < 8 || cycles - startCycles < 2; round++) {
          if (round > 40) throw new Error(`the churn made ${cycles - startCycles} cycles in 40 dumps`);
          const seen = new Map<string, number>();
          let intr = 0;
          let churned = 0;
          await ct.dumpRecords({ retries: 0 }, (rec) => {
            if ((rec.nlFlags & A.NLM_F_DUMP_INTR) !== 0) intr++;
            const o = rec.flow().orig;
            const key = `${o?.protoNum} ${o?.src} ${o?.srcPort}`;
            if (o?.src?.startsWith('10.2.')) churned++;
            else seen.set(key, (seen.get(key) ?? 0) + 1);
          }).catch((e) => {
            // if a kernel ever flags it, it must surface as this code
            expect(codeOf(e)).toBe('ERR_CT_DUMP_INTERRUPTED');
            intr++;
          });
          let dupes = 0;
          for (const v of seen.values()) if (v > 1) dupes++;
          rounds.push({ stable: seen.size, dupes, churned, intr });
        }
      } finally {
        ct.close();
      }
      expect(churnErr).toBe('');
      expect(rounds.map((r) => r.intr)).toEqual(rounds.map(() => 0));
      expect(rounds.map((r) => r.stable)).toEqual(rounds.map(() => TABLE));
      // the churn really ran through the dumps: some dumps caught churned entries in flight
      expect(rounds.some((r) => r.churned > 0)).toBe(true);
      process.stdout.write(`churn: ${cycles - startCycles} cycles during ${rounds.length} dumps; per dump ` +
        `churned entries seen ${rounds.map((r) => r.churned).join(',')}; untouched entries seen twice ${rounds.map((r) => r.dupes).join(',')}\n`);
    }, 300_000);

    test('list() under churn resolves (no DUMP_INTR to retry on) with every untouched entry', async () => {
      const ct = await Conntrack.open({ netns: ns.name, timeout: 30_000 });
      try {
        const flows = (await within(ct.list(), 120_000, 'list() under churn')) as Flow[];
        expect(new Set(flows.filter((f) => f.orig?.src?.startsWith('10.1.')).map((f) => `${f.orig?.protoNum} ${f.orig?.src} ${f.orig?.srcPort}`)).size).toBe(TABLE);
      } finally {
        ct.close();
      }
    }, 150_000);
  });

  test('close() while deleteMatching runs: rejects with ERR_CT_CLOSED, nothing hangs, no fd left', async () => {
    const before = openFds();
    const ct = await Conntrack.open({ netns: ns.name });
    let deleted = 0;
    const run = ct.deleteMatching(new FilterBuilder().src('10.1.0.0/16'), {
      onDeleted: () => {
        if (++deleted === 500) ct.close();
      },
    });
    const outcome = await within(run.then((n) => `resolved ${n}`, codeOf), 60_000, 'deleteMatching after close()');
    expect(outcome).toBe('ERR_CT_CLOSED');
    expect(deleted).toBeGreaterThanOrEqual(500);
    expect(deleted).toBeLessThan(TABLE);
    expect(leaked(before, openFds())).toEqual([]);
  }, 90_000);
});

describe('a dump consumer that stops reading (150,000 entries, more than one receive batch)', () => {
  const BIG = 150_000;
  let big: Netns;

  beforeAll(async () => {
    big = Netns.create();
    const r = await fill(big.name, 0, BIG);
    if (r.errors > 0) throw r.firstError;
  }, 180_000);

  afterAll(() => {
    big?.destroy();
  });

  // The bound: the iterator pauses the socket once `highWaterMark` entries
  // wait; the batch being decoded when that happens still completes, and one
  // batch is at most the receive arena (4 MiB of datagrams). The rest of the
  // dump stays in the kernel until the consumer reads again.
  test('the socket pauses, the kernel holds the rest, the process does not take the table in', async () => {
    const ct = await Conntrack.open({ netns: big.name, timeout: 30_000 });
    const it = ct.dump({ highWaterMark: 256 })[Symbol.asyncIterator]();
    try {
      const rss0 = process.memoryUsage().rss;
      expect((await it.next()).done).toBe(false);
      let last = -1;
      await until(() => {
        const b = ct.counters().bytes;
        const settled = b === last;
        last = b;
        return settled;
      }, 60_000, 'the socket to stop reading', 300);
      const held = ct.counters();
      await new Promise((r) => setTimeout(r, 1500));
      // nothing more was read while nobody consumed
      expect(ct.counters().bytes).toBe(held.bytes);
      expect(ct.counters().datagrams).toBe(held.datagrams);
      const tableBytes = await (async () => {
        // what the whole dump weighs, measured on a second socket
        const probe = await Conntrack.open({ netns: big.name, timeout: 30_000 });
        try {
          await probe.dumpRecords({}, () => undefined);
          return probe.counters().bytes;
        } finally {
          probe.close();
        }
      })();
      expect(held.bytes).toBeLessThanOrEqual(2 * (4 << 20)); // at most the batch before the pause and the one that paused
      expect(held.bytes).toBeLessThan(tableBytes / 2);
      // the process did not grow by the table (150,000 materialized entries are hundreds of MB)
      expect(process.memoryUsage().rss - rss0).toBeLessThan(96 << 20);
      process.stdout.write(`stalled dump: ${held.bytes} of ${tableBytes} bytes read (${held.datagrams} datagrams), ` +
        `RSS +${((process.memoryUsage().rss - rss0) / 1048576).toFixed(1)} MiB\n`);
      // the consumer comes back: the whole table arrives
      let n = 1;
      for (let r = await it.next(); !r.done; r = await it.next()) n++;
      expect(n).toBe(BIG);
    } finally {
      await it.return?.(undefined);
      ct.close();
    }
  }, 180_000);
});
