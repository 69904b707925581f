// The live-kernel API: one NETLINK_NETFILTER socket in a chosen network
// namespace, requests answered through the WASM decoder.
//
// Requests are encoded in WASM (src/encode.ts over assembly/encode.ts) from
// the same record layout the decoder fills; the socket host sends them and
// receives the replies straight into the decoder's arena.
import { constants as osConstants } from 'os';
import { ConntrackError } from './errors';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import { toMessage } from './materialize';
import type { RecordView } from './record';
import type { DecoderCounters } from './decoder';
import { NetlinkSocket, kernelError } from './socket';
// events.ts (with eventemitter3) and bpf.ts are loaded by the first events()
// or explain({ events: true }): a program that only dumps does not pay for them.
import type { EventStream, EventsOptions } from './events';
import type { EventPlan } from './bpf';
import { FilterBuilder, ConntrackFilter } from './filter';
import { kernelCaps, NO_CAPS, planFilter, explainText, usesNewAttributes, type FilterPlan, type KernelCaps } from './plan';
import type { CpuStats, Expectation, ExpectStats, Flow, GlobalStats, NetlinkError } from './types';
import {
  CT_DELETE, CT_GET, CT_NEW, EXP_DELETE, EXP_GET, EXP_NEW, dumpRequest, encodeRequest, encodeDeleteOf, statsRequest,
  type ExpectInput, type FlowInput, type TupleInput,
} from './encode';

/**
 * A kernel table to dump: the connections ('conntrack'), the expectations
 * ('expect'), entries being destroyed ('dying', IPCTNL_MSG_CT_GET_DYING) or
 * not yet confirmed by their first packet leaving ('unconfirmed',
 * IPCTNL_MSG_CT_GET_UNCONFIRMED).
 */
export type Table = 'conntrack' | 'expect' | 'dying' | 'unconfirmed';

/** Options of {@link Conntrack.open}. */
export interface OpenOptions {
  /** Network namespace: a name (as `ip netns` makes) or a path such as /proc/PID/ns/net. */
  netns?: string;
  /** Receive buffer in bytes (SO_RCVBUFFORCE when permitted, else capped with a warning). Default 4 MiB. */
  bufferSize?: number;
  /** Inactivity timeout of each request in ms (default 5000); time the consumer keeps the socket paused does not count. */
  timeout?: number;
  /**
   * Datagrams read per event-loop wake-up (default 16): lower it to
   * interleave other work with huge dumps. A dump's datagrams are ~32 KiB
   * each, so the default batch (~0.5 MiB) is decoded while the kernel's copy
   * of it is still in the CPU cache.
   */
  maxPerWake?: number;
}

/** Options of the dumps: {@link Conntrack.list}, {@link Conntrack.dump}, {@link Conntrack.dumpRecords}. */
export interface DumpOptions {
  /** Which table (default 'conntrack'). */
  table?: Table;
  /** Only this address family, filtered by the kernel (nfgen_family): 'ipv4', 'ipv6' or 2 / 10. */
  family?: 'ipv4' | 'ipv6' | number;
  /** Only entries with (mark & markMask) == mark, filtered by the kernel (CTA_MARK / CTA_MARK_MASK). */
  mark?: number;
  /** Mask for `mark` (default 0xffffffff). */
  markMask?: number;
  /**
   * Only entries this filter matches: evaluated in WASM while the dump is
   * decoded, so entries that do not match never become records or objects.
   */
  filter?: FilterBuilder | ConntrackFilter;
  /**
   * Let the kernel pre-filter the dump with the conditions it can evaluate
   * (family, mark, status, zone, exact tuple fields: see explain()); default
   * true. The result is the same either way: every condition is still
   * checked in user space.
   */
  pushdown?: boolean;
  /**
   * Read and zero the counters atomically (IPCTNL_MSG_CT_GET_CTRZERO;
   * conntrack table only). The kernel zeroes every entry it dumps: with a
   * filter, only what is pushed down to the kernel (family, mark, and what
   * {@link Conntrack.explain} lists under "kernel") limits the zeroing; the
   * user-space part only limits what you receive. (`conntrack -L -z`
   * refuses filter flags for this reason.)
   */
  zeroCounters?: boolean;
  /**
   * A dump that raced with table changes (NLM_F_DUMP_INTR) is retried up to
   * this many times by list() (default 3); streaming dumps cannot un-yield
   * entries and reject with ERR_CT_DUMP_INTERRUPTED instead.
   */
  retries?: number;
}

function familyNumber(f: DumpOptions['family']): number {
  if (f === undefined) return A.AF_UNSPEC;
  if (f === 'ipv4' || f === A.AF_INET) return A.AF_INET;
  if (f === 'ipv6' || f === A.AF_INET6) return A.AF_INET6;
  throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `family must be 'ipv4' or 'ipv6', not ${String(f)}`);
}

const ACK = A.NLM_F_REQUEST | A.NLM_F_ACK;

/**
 * Datagrams per wake-up on a Conntrack's socket. Receiving a whole 4 MiB
 * arena (~128 dump datagrams) before decoding made the decoder read data that
 * had already left the cache: at 10k entries the first decode pass cost ~4x a
 * second pass over the same bytes. 16 datagrams (~0.5 MiB) stay cached.
 */
export const DUMP_MAX_PER_WAKE = 16;

/**
 * The live-kernel API: one NETLINK_NETFILTER socket (in a chosen network
 * namespace) for dumps, gets, creates, updates, deletes, flushes, statistics
 * and event streams, with replies decoded in WASM. Open it with
 * {@link Conntrack.open} and close it with {@link Conntrack.close}. Failures
 * are {@link ConntrackError}s (ERR_CT_PERMISSION without CAP_NET_ADMIN).
 */
export class Conntrack {
  /** What this kernel accepts on dumps; narrowed to NO_CAPS after the kernel rejects a pushed attribute. */
  private caps: KernelCaps = kernelCaps();
  /** Second socket for deleteMatching()'s pipelined deletes (the first one carries the dump). */
  private deleter: NetlinkSocket | undefined;

  private constructor(
    private readonly sock: NetlinkSocket,
    private readonly timeout: number,
    private readonly netns: string | undefined,
  ) {}

  /** Open a socket (in `netns` if given). Fails with ERR_CT_PERMISSION without CAP_NET_ADMIN for a foreign namespace. */
  static async open(opts: OpenOptions = {}): Promise<Conntrack> {
    const sock = NetlinkSocket.open({ netns: opts.netns, rcvBuf: opts.bufferSize ?? 4 << 20, maxPerWake: opts.maxPerWake ?? DUMP_MAX_PER_WAKE });
    return new Conntrack(sock, opts.timeout ?? 5000, opts.netns);
  }

  /**
   * The decoder's running counters for this socket's replies: `filtered`
   * counts entries the user-space filter dropped (what pushdown saves).
   */
  counters(): DecoderCounters {
    return this.sock.decoder.counters();
  }

  /** The netlink port id of this socket (nlmsg_pid of its requests' replies). */
  get portId(): number {
    return this.sock.portId;
  }

  /**
   * Stream a dump through the reused record view, without creating an
   * object per entry (the fastest path: `ctrack -L` uses it). `onRecord`
   * sees flow records (or expectation records for table 'expect').
   * Resolves with the number of entries.
   */
  async dumpRecords(opts: DumpOptions, onRecord: (rec: RecordView) => void): Promise<number> {
    const plan = this.plan(opts);
    const delivered = { n: 0 };
    try {
      return await this.dumpPlanned(opts, plan, onRecord, delivered);
    } catch (e) {
      // A kernel that rejects an attribute it does not know (EINVAL /
      // EOPNOTSUPP before the first entry): plan again without them, once.
      if (delivered.n > 0 || !usesNewAttributes(plan.kernel) || !isRejected(e)) throw e;
      this.caps = NO_CAPS;
      return this.dumpRecords(opts, onRecord);
    }
  }

  /**
   * What a dump with this filter asks of the kernel and what runs in user
   * space, for this kernel (ctrack --explain prints `text`).
   */
  explain(filter: FilterBuilder | ConntrackFilter | undefined, opts: Omit<DumpOptions, 'filter'> & { events?: false }): FilterPlan & {
    /** The plan as text, as `ctrack --explain` prints it. */
    text: string;
  };
  /** With `events: true`: what an event stream with this filter puts into its BPF socket filter and what only WASM checks. */
  explain(filter: FilterBuilder | ConntrackFilter | undefined, opts: { events: true; bpf?: boolean }): EventPlan;
  /** The plan of a dump of the conntrack table with this filter and no other options. */
  explain(filter: FilterBuilder | ConntrackFilter | undefined): FilterPlan & {
    /** The plan as text, as `ctrack --explain` prints it. */
    text: string;
  };
  explain(filter: FilterBuilder | ConntrackFilter | undefined, opts: (Omit<DumpOptions, 'filter'> & { events?: false }) | { events: true; bpf?: boolean } = {}): (FilterPlan & { text: string }) | EventPlan {
    if (opts.events === true) {
      const { planEvents } = require('./bpf') as typeof import('./bpf');
      return planEvents(filter ? filter.conditions() : [], { bpf: opts.bpf, wasm: filter?.compile() });
    }
    const plan = this.plan({ ...opts, filter });
    return { ...plan, text: explainText(plan) };
  }

  private plan(opts: DumpOptions): FilterPlan {
    const conds = opts.filter ? opts.filter.conditions() : [];
    if (opts.markMask !== undefined && opts.mark === undefined) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'markMask needs mark');
    return planFilter(conds, {
      caps: this.caps,
      table: opts.table ?? 'conntrack',
      family: familyNumber(opts.family),
      mark: opts.mark !== undefined ? { value: opts.mark >>> 0, mask: (opts.markMask ?? 0xffffffff) >>> 0 } : undefined,
      pushdown: opts.pushdown,
    });
  }

  private async dumpPlanned(opts: DumpOptions, plan: FilterPlan, onRecord: (rec: RecordView) => void, delivered: { n: number }): Promise<number> {
    const table = opts.table ?? 'conntrack';
    const zero = opts.zeroCounters === true;
    const k = plan.kernel;
    const req = dumpRequest(this.core, this.sock.nextSeq(), {
      table, zero, family: k.family, mark: k.mark?.value, markMask: k.mark?.mask,
      filter: {
        status: k.status?.value, statusMask: k.status?.mask, zone: k.zone,
        orig: k.orig?.tuple, origFlags: k.orig?.flags, reply: k.reply?.tuple, replyFlags: k.reply?.flags,
      },
    });
    const wantKind = table === 'expect' ? L.KIND_EXPECT : L.KIND_FLOW;
    // IPCTNL_MSG_CT_GET_CTRZERO replies carry nlmsg_type 0x0103 like expectation statistics
    const ctx0103 = zero ? 'flow' : 'guess';
    // the records of that kind go from the socket's reply loop straight to onRecord
    return this.sock.streamRecords(req, wantKind, onRecord, { timeout: this.timeout, ctx0103, filter: plan.program }, delivered);
  }

  /**
   * Dump a table as an async iterator of plain objects, streaming: entries
   * are yielded batch by batch and the socket pauses while more than
   * `highWaterMark` entries wait for the consumer, so the whole table is
   * never held in memory (the kernel holds the rest of the dump meanwhile).
   */
  async *dump(opts: DumpOptions & { highWaterMark?: number } = {}): AsyncGenerator<Flow | Expectation> {
    const hwm = opts.highWaterMark ?? 4096;
    const queue: (Flow | Expectation)[] = [];
    let head = 0;
    let wake: (() => void) | undefined;
    let done = false;
    let failure: unknown;
    let paused = false;
    let abandoned = false; // the consumer left early: drain the rest without keeping it
    const p = this.dumpRecords(opts, (rec) => {
      if (abandoned) return;
      queue.push(toMessage(rec) as Flow | Expectation);
      if (!paused && queue.length - head >= hwm) {
        paused = true;
        this.sock.pause();
      }
      wake?.();
    }).then(
      () => { done = true; wake?.(); },
      (e) => { failure = e; done = true; wake?.(); },
    );
    try {
      for (;;) {
        if (head < queue.length) {
          const item = queue[head++];
          if (head > 1024 && head * 2 > queue.length) {
            queue.splice(0, head);
            head = 0;
          }
          if (paused && queue.length - head < hwm / 2) {
            paused = false;
            this.sock.resume();
          }
          yield item;
          continue;
        }
        if (done) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      await p;
      if (failure !== undefined) throw failure;
    } finally {
      if (!done) {
        // An early `break`: the kernel still sends the rest of the dump (one
        // dump per socket at a time), so let it drain, unkept, in the background.
        abandoned = true;
        queue.length = 0;
        p.catch(() => undefined);
      }
      if (paused) this.sock.resume();
    }
  }

  /** Dump a table into an array; a dump interrupted by table changes is retried (opts.retries). */
  async list(opts: DumpOptions = {}): Promise<(Flow | Expectation)[]> {
    const retries = opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const out: (Flow | Expectation)[] = [];
      try {
        await this.dumpRecords(opts, (rec) => out.push(toMessage(rec) as Flow | Expectation));
        return out;
      } catch (e) {
        if (!(e instanceof ConntrackError && e.code === 'ERR_CT_DUMP_INTERRUPTED') || attempt >= retries) throw e;
      }
    }
  }

  /** Per-CPU conntrack statistics (IPCTNL_MSG_CT_GET_STATS_CPU), one entry per CPU. */
  async stats(): Promise<CpuStats[]> {
    const msgs = await this.sock.request(statsRequest(this.core, this.sock.nextSeq(), 'cpu'), undefined, { timeout: this.timeout });
    return msgs.filter((m): m is CpuStats => m.kind === 'stats-cpu');
  }

  /** Per-CPU expectation statistics (IPCTNL_MSG_EXP_GET_STATS_CPU). */
  async expectStats(): Promise<ExpectStats[]> {
    // the kernel answers with nlmsg_type 0x0103
    const msgs = await this.sock.request(statsRequest(this.core, this.sock.nextSeq(), 'expect'), undefined, { timeout: this.timeout, ctx0103: 'exp-stats' });
    return msgs.filter((m): m is ExpectStats => m.kind === 'stats-exp');
  }

  /** Table size: entries and the maximum (IPCTNL_MSG_CT_GET_STATS). */
  async count(): Promise<{
    /** Entries in the table now (CTA_STATS_GLOBAL_ENTRIES). */
    entries: number;
    /** Table size limit, net.netfilter.nf_conntrack_max (CTA_STATS_GLOBAL_MAX_ENTRIES; 0 when the kernel does not send it). */
    maxEntries: number;
  }> {
    const msgs = await this.sock.request(statsRequest(this.core, this.sock.nextSeq(), 'global'), undefined, { timeout: this.timeout });
    const g = msgs.find((m): m is GlobalStats => m.kind === 'stats-global');
    if (!g || g.entries === undefined) throw new ConntrackError('ERR_CT_KERNEL', 'the kernel sent no CTA_STATS_GLOBAL_ENTRIES');
    return { entries: g.entries, maxEntries: g.maxEntries ?? 0 };
  }

  private get core() {
    return this.sock.decoder.core;
  }

  /** Send one request with NLM_F_ACK and return the replies before the ACK. */
  private async ack(type: number, flags: number, body: Parameters<typeof encodeRequest>[2], family?: number) {
    const req = encodeRequest(this.core, { type, flags: ACK | flags, seq: this.sock.nextSeq(), family }, body);
    return this.sock.request(req, undefined, { timeout: this.timeout });
  }

  /**
   * Look up one entry by its original tuple (IPCTNL_MSG_CT_GET). Rejects with
   * ERR_CT_NOT_FOUND when the kernel has none. `zone` selects the CTA_ZONE.
   */
  async get(orig: TupleInput, opts: { zone?: number } = {}): Promise<Flow> {
    const msgs = await this.ack(CT_GET, 0, { kind: 'flow', flow: { orig, zone: opts.zone } });
    const f = msgs.find((m): m is Flow => m.kind === 'flow');
    if (!f) throw new ConntrackError('ERR_CT_NOT_FOUND', 'the kernel answered the GET without an entry');
    return f;
  }

  /**
   * Create an entry (IPCTNL_MSG_CT_NEW with NLM_F_CREATE|NLM_F_EXCL). Needs the
   * original tuple and a timeout (TCP also a state). The kernel needs a reply
   * tuple too: when you give none, the original is inverted, as conntrack -I
   * does (addresses and ports swapped, ICMP echo request -> reply). A given
   * status gets IPS_CONFIRMED added (the kernel requires it on create).
   * Rejects with ERR_CT_EXISTS if the entry exists.
   */
  async create(flow: FlowInput): Promise<void> {
    let full = flow.reply || !flow.orig ? flow : { ...flow, reply: invertTuple(flow.orig) };
    // The kernel answers EBUSY to a new entry whose status lacks IPS_CONFIRMED;
    // libnetfilter_conntrack adds it silently, and so do we.
    if (full.status !== undefined) full = { ...full, status: (full.status | (1 << A.IPS_CONFIRMED_BIT)) >>> 0 };
    await this.ack(CT_NEW, A.NLM_F_CREATE | A.NLM_F_EXCL, { kind: 'flow', flow: full });
  }

  /**
   * Change an existing entry (IPCTNL_MSG_CT_NEW without NLM_F_CREATE). Only
   * the fields you set are sent: a mark, timeout or label you do not mention
   * stays as it is. Rejects with ERR_CT_NOT_FOUND when there is no such entry.
   */
  async update(flow: FlowInput): Promise<void> {
    if (!flow.orig && !flow.reply) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'update needs the entry\'s orig (or reply) tuple');
    await this.ack(CT_NEW, 0, { kind: 'flow', flow });
  }

  /**
   * Delete one entry (IPCTNL_MSG_CT_DELETE) given by a flow (its orig tuple,
   * and its id when present so a recycled tuple is not hit) or a tuple.
   */
  async delete(target: FlowInput | TupleInput): Promise<void> {
    const flow: FlowInput = isFlowInput(target) ? { orig: target.orig, reply: target.orig ? undefined : target.reply, id: target.id, zone: target.zone } : { orig: target };
    await this.ack(CT_DELETE, 0, { kind: 'flow', flow });
  }

  /**
   * Delete every entry `filter` matches; resolves with the number deleted.
   * The dump is pre-filtered by the kernel where it can (see explain()), the
   * rest of the filter runs in WASM, and the deletes are pipelined on a
   * second socket: up to 256 IPCTNL_MSG_CT_DELETE per datagram, each by orig
   * tuple, zone and id, several datagrams in flight while the dump goes on
   * (the dump pauses when they pile up). An entry that vanished meanwhile
   * (ENOENT) is not counted and not an error. An empty FilterBuilder matches
   * every entry; an empty ConntrackFilter none (the seed's rule).
   * `onDeleted` receives each deleted entry (materialized only when given).
   */
  async deleteMatching(
    filter: FilterBuilder | ConntrackFilter,
    opts: { family?: 'ipv4' | 'ipv6' | number; mark?: number; markMask?: number; pushdown?: boolean; onDeleted?: (flow: Flow) => void } = {},
  ): Promise<number> {
    if (!(filter instanceof FilterBuilder) && !(filter instanceof ConntrackFilter)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'deleteMatching needs a FilterBuilder or ConntrackFilter (flush() deletes everything)');
    }
    let deleted = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        deleted += await this.deletePass(filter, opts);
        return deleted;
      } catch (e) {
        // a dump that raced with changes may have skipped entries: go again
        if (!(e instanceof PassInterrupted) || attempt >= 3) throw e instanceof PassInterrupted ? e.cause : e;
        deleted += e.deleted;
      }
    }
  }

  private async deletePass(filter: FilterBuilder | ConntrackFilter, opts: Parameters<Conntrack['deleteMatching']>[1] & object): Promise<number> {
    const del = (this.deleter ??= NetlinkSocket.open({ netns: this.netns, rcvBuf: 4 << 20 }));
    const onDeleted = opts.onDeleted;
    const CHUNK_BYTES = 64 * 1024;
    const CHUNK_MSGS = 256;
    let buf = new Uint8Array(CHUNK_BYTES);
    let len = 0;
    let count = 0;
    let flows: Flow[] = [];
    let seq = del.nextSeq();
    let deleted = 0;
    let failure: unknown;
    let paused = false;
    const inflight = new Set<Promise<void>>();
    const send = (): void => {
      if (count === 0) return;
      const bytes = buf.subarray(0, len);
      const n = count;
      const sent = flows;
      buf = new Uint8Array(CHUNK_BYTES);
      len = 0;
      count = 0;
      flows = [];
      const p: Promise<void> = del.requestAcks(bytes, seq, n, { timeout: this.timeout }).then((errnos) => {
        for (let i = 0; i < errnos.length; i++) {
          if (errnos[i] === 0) {
            deleted++;
            onDeleted?.(sent[i]);
          } else if (errnos[i] !== osConstants.errno.ENOENT) {
            failure ??= kernelError({ kind: 'error', errno: errnos[i] } as NetlinkError);
          }
        }
      }, (e) => {
        failure ??= e;
      }).finally(() => {
        inflight.delete(p);
        if (paused && inflight.size < 2) {
          paused = false;
          this.sock.resume();
        }
      });
      inflight.add(p);
      if (inflight.size >= 4 && !paused) {
        paused = true; // the deletes lag: hold the dump in the kernel meanwhile
        this.sock.pause();
      }
      seq = del.nextSeq();
    };
    let dumpError: unknown;
    try {
      await this.dumpRecords({ family: opts.family, mark: opts.mark, markMask: opts.markMask, filter, pushdown: opts.pushdown }, (rec) => {
        if (failure !== undefined) throw failure;
        if (count >= CHUNK_MSGS || len + 1024 > CHUNK_BYTES) send();
        const n = encodeDeleteOf(this.core, rec.base, seq);
        buf.set(this.core.bytes.subarray(L.ENC_OUT, L.ENC_OUT + n), len);
        len += n;
        count++;
        if (onDeleted) flows.push(toMessage(rec) as Flow);
      });
    } catch (e) {
      dumpError = e;
    }
    if (dumpError === undefined || dumpError instanceof ConntrackError && dumpError.code === 'ERR_CT_DUMP_INTERRUPTED') send();
    while (inflight.size > 0) await Promise.all([...inflight]);
    if (paused) this.sock.resume();
    if (failure !== undefined) throw failure;
    if (dumpError instanceof ConntrackError && dumpError.code === 'ERR_CT_DUMP_INTERRUPTED') throw new PassInterrupted(dumpError, deleted);
    if (dumpError !== undefined) throw dumpError;
    return deleted;
  }

  /**
   * Flush the table (IPCTNL_MSG_CT_DELETE without a tuple), or only the
   * entries matching a mark/mask (filtered by the kernel), or only one family.
   *
   * The kernel ignores nfgen_family on a flush (Linux 6.18; `conntrack -F -f
   * ipv6` empties the whole table), so a family flush is a deleteMatching()
   * of that family (pipelined deletes; an entry that vanished meanwhile is
   * not an error). Resolves with the number deleted for a family flush,
   * undefined otherwise.
   */
  async flush(opts: { family?: 'ipv4' | 'ipv6' | number; mark?: number; markMask?: number } = {}): Promise<number | undefined> {
    const family = familyNumber(opts.family);
    if (family !== A.AF_UNSPEC) {
      return this.deleteMatching(new FilterBuilder().family(family as 2 | 10), { mark: opts.mark, markMask: opts.markMask });
    }
    const body = opts.mark !== undefined ? { kind: 'filter' as const, filter: { mark: opts.mark, markMask: opts.markMask ?? 0xffffffff } } : undefined;
    await this.ack(CT_DELETE, 0, body);
    return undefined;
  }

  /** Look up one expectation by its tuple (IPCTNL_MSG_EXP_GET). */
  async getExpect(tuple: TupleInput): Promise<Expectation> {
    const msgs = await this.ack(EXP_GET, 0, { kind: 'expect', expect: { tuple } });
    const e = msgs.find((m): m is Expectation => m.kind === 'expect');
    if (!e) throw new ConntrackError('ERR_CT_NOT_FOUND', 'the kernel answered the GET without an expectation');
    return e;
  }

  /** Create an expectation (IPCTNL_MSG_EXP_NEW): needs master, tuple, mask, timeout and the master's helper. */
  async createExpect(expect: ExpectInput): Promise<void> {
    await this.ack(EXP_NEW, A.NLM_F_CREATE | A.NLM_F_EXCL, { kind: 'expect', expect });
  }

  /** Delete one expectation by its tuple (IPCTNL_MSG_EXP_DELETE). */
  async deleteExpect(tuple: TupleInput): Promise<void> {
    await this.ack(EXP_DELETE, 0, { kind: 'expect', expect: { tuple } });
  }

  /** Flush the expectation table (optionally one family). */
  async flushExpect(opts: { family?: 'ipv4' | 'ipv6' | number } = {}): Promise<void> {
    await this.ack(EXP_DELETE, 0, undefined, familyNumber(opts.family));
  }

  /**
   * Listen to events on a socket of its own in the same namespace: a typed
   * EventEmitter3 ('event', 'batch', 'overflow', 'resync', 'error', 'close')
   * that is also an async iterator. With `resync`, an overrun is followed by
   * a dump of the table on this Conntrack's socket, emitted as 'resync'.
   */
  events(opts: EventsOptions = {}): EventStream {
    const { EventStream } = require('./events') as typeof import('./events');
    // a filtered stream resyncs to the filtered table: the mirror it feeds
    return new EventStream({ ...opts, netns: this.netns }, async () => (await this.list({ filter: opts.filter })) as Flow[]);
  }

  /** Close the socket; pending requests reject with ERR_CT_CLOSED. Idempotent. */
  close(): void {
    this.sock.close();
    this.deleter?.close();
  }
}

/** A delete pass whose dump was interrupted (NLM_F_DUMP_INTR), with what it deleted. */
class PassInterrupted extends Error {
  constructor(override readonly cause: unknown, readonly deleted: number) {
    super('delete pass interrupted');
  }
}

function isRejected(e: unknown): boolean {
  return e instanceof ConntrackError && e.code === 'ERR_CT_KERNEL' && (e.errno === osConstants.errno.EINVAL || e.errno === osConstants.errno.EOPNOTSUPP);
}

function isFlowInput(t: FlowInput | TupleInput): t is FlowInput {
  return typeof t === 'object' && t !== null && ('orig' in t || 'reply' in t || 'id' in t);
}

// ICMP / ICMPv6 types whose reply has another type (the kernel's invmap in
// nf_conntrack_proto_icmp.c / _icmpv6.c): echo, timestamp, info, address mask;
// ICMPv6 echo and node information.
const ICMP_INVERSE: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };
const ICMPV6_INVERSE: Record<number, number> = { 128: 129, 129: 128, 139: 140, 140: 139 };

/** The reply direction of a tuple, as conntrack -I sets it up. */
export function invertTuple(t: TupleInput): TupleInput {
  const out: { -readonly [K in keyof TupleInput]: TupleInput[K] } = { ...t, src: t.dst, dst: t.src, srcPort: t.dstPort, dstPort: t.srcPort };
  if (t.srcPort === undefined) delete out.dstPort;
  if (t.dstPort === undefined) delete out.srcPort;
  if (t.src === undefined) delete out.dst;
  if (t.dst === undefined) delete out.src;
  if (t.icmpType !== undefined) {
    const inv = t.protoNum === 58 ? ICMPV6_INVERSE : ICMP_INVERSE;
    out.icmpType = inv[t.icmpType] ?? t.icmpType;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The seed's Go API (vishvananda/netlink), for code ported from it. Each call
// opens a socket (in `netns` if given), does one thing and closes it.

/** ConntrackTableType of the seed: ConntrackTable = 1, ConntrackExpectTable = 2. */
export const ConntrackTable = 1;
/** ConntrackTableType of the seed for the expectation table (`'expect'`). */
export const ConntrackExpectTable = 2;

function seedTable(table: number | Table): Table {
  if (table === ConntrackTable || table === 'conntrack') return 'conntrack';
  if (table === ConntrackExpectTable || table === 'expect') return 'expect';
  throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `table must be ConntrackTable (1) or ConntrackExpectTable (2), not ${String(table)}`);
}

/** ConntrackTableList(table, family): every entry of the table (family 0 = all, 2 = IPv4, 10 = IPv6). */
export async function conntrackTableList(table: number | Table, family: number, opts: { netns?: string } = {}): Promise<(Flow | Expectation)[]> {
  const ct = await Conntrack.open(opts);
  try {
    return await ct.list({ table: seedTable(table), family: family === A.AF_UNSPEC ? undefined : family });
  } finally {
    ct.close();
  }
}

/**
 * ConntrackDeleteFilter(table, family, filter): delete the entries of the
 * conntrack table (family 0 = all) that the filter matches; resolves with
 * the number deleted (the seed returns it as uint).
 */
export async function conntrackDeleteFilter(table: number | Table, family: number, filter: ConntrackFilter | FilterBuilder, opts: { netns?: string } = {}): Promise<number> {
  return conntrackDeleteFilters(table, family, [filter], opts);
}

/** ConntrackDeleteFilters(table, family, ...filters): an entry goes when any filter matches it. */
export async function conntrackDeleteFilters(table: number | Table, family: number, filters: ReadonlyArray<ConntrackFilter | FilterBuilder>, opts: { netns?: string } = {}): Promise<number> {
  if (seedTable(table) !== 'conntrack') {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'delete by filter works on the conntrack table (ConntrackTable) only');
  }
  const ct = await Conntrack.open(opts);
  try {
    let n = 0;
    // one pass per filter: an entry the first deletes is gone for the next,
    // so the total is the size of the union
    for (const f of filters) n += await ct.deleteMatching(f, { family: family === A.AF_UNSPEC ? undefined : family });
    return n;
  } finally {
    ct.close();
  }
}

/** ConntrackTableFlush(table): empty the table. */
export async function conntrackTableFlush(table: number | Table, opts: { netns?: string } = {}): Promise<void> {
  const ct = await Conntrack.open(opts);
  try {
    if (seedTable(table) === 'expect') await ct.flushExpect();
    else await ct.flush();
  } finally {
    ct.close();
  }
}
