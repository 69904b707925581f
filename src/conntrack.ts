// The live-kernel API: one NETLINK_NETFILTER socket in a chosen network
// namespace, requests answered through the WASM decoder.
//
// This slice covers reading: dumps of every table (streaming), per-CPU and
// global statistics. Writes (create, update, delete, flush, get by tuple) come
// with the request encoder.
import { ConntrackError } from './errors';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import { toMessage } from './materialize';
import type { RecordView } from './record';
import { NetlinkSocket } from './socket';
import type { CpuStats, Expectation, ExpectStats, Flow, GlobalStats } from './types';
import { endianness } from 'os';

export type Table = 'conntrack' | 'expect' | 'dying' | 'unconfirmed';

export interface OpenOptions {
  /** Network namespace: a name (as `ip netns` makes) or a path such as /proc/PID/ns/net. */
  netns?: string;
  /** Receive buffer in bytes (SO_RCVBUFFORCE when permitted, else capped with a warning). Default 4 MiB. */
  bufferSize?: number;
  /** Inactivity timeout of each request in ms (default 5000); time the consumer keeps the socket paused does not count. */
  timeout?: number;
  /** Datagrams read per event-loop wake-up (default 256): lower it to interleave other work with huge dumps. */
  maxPerWake?: number;
}

export interface DumpOptions {
  /** Which table (default 'conntrack'). */
  table?: Table;
  /** Only this address family, filtered by the kernel (nfgen_family): 'ipv4', 'ipv6' or 2 / 10. */
  family?: 'ipv4' | 'ipv6' | number;
  /** Read and zero the counters atomically (IPCTNL_MSG_CT_GET_CTRZERO; conntrack table only). */
  zeroCounters?: boolean;
  /**
   * A dump that raced with table changes (NLM_F_DUMP_INTR) is retried up to
   * this many times by list() (default 3); streaming dumps cannot un-yield
   * entries and reject with ERR_CT_DUMP_INTERRUPTED instead.
   */
  retries?: number;
}

const HOST_LE = endianness() === 'LE';

function familyNumber(f: DumpOptions['family']): number {
  if (f === undefined) return A.AF_UNSPEC;
  if (f === 'ipv4' || f === A.AF_INET) return A.AF_INET;
  if (f === 'ipv6' || f === A.AF_INET6) return A.AF_INET6;
  throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `family must be 'ipv4' or 'ipv6', not ${String(f)}`);
}

/** nlmsg_type of the dump request for a table. */
function dumpType(table: Table, zero: boolean): number {
  const ct = (msg: number) => (A.NFNL_SUBSYS_CTNETLINK << 8) | msg;
  switch (table) {
    case 'conntrack': return ct(zero ? A.IPCTNL_MSG_CT_GET_CTRZERO : A.IPCTNL_MSG_CT_GET);
    case 'dying': return ct(A.IPCTNL_MSG_CT_GET_DYING);
    case 'unconfirmed': return ct(A.IPCTNL_MSG_CT_GET_UNCONFIRMED);
    case 'expect': return (A.NFNL_SUBSYS_CTNETLINK_EXP << 8) | A.IPCTNL_MSG_EXP_GET;
    default: throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `unknown table '${String(table)}' (conntrack, expect, dying, unconfirmed)`);
  }
}

/**
 * A request without attributes: nlmsghdr + nfgenmsg. (Requests with
 * attributes are encoded in WASM; these 20 bytes need no encoder.)
 */
function bareRequest(type: number, flags: number, seq: number, family: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 20, HOST_LE);
  dv.setUint16(4, type, HOST_LE);
  dv.setUint16(6, flags, HOST_LE);
  dv.setUint32(8, seq, HOST_LE);
  b[16] = family; // nfgenmsg: family, version 0, res_id 0
  return b;
}

const DUMP = A.NLM_F_REQUEST | A.NLM_F_DUMP;

export class Conntrack {
  private constructor(
    private readonly sock: NetlinkSocket,
    private readonly timeout: number,
  ) {}

  /** Open a socket (in `netns` if given). Fails with ERR_CT_PERMISSION without CAP_NET_ADMIN for a foreign namespace. */
  static async open(opts: OpenOptions = {}): Promise<Conntrack> {
    const sock = NetlinkSocket.open({ netns: opts.netns, rcvBuf: opts.bufferSize ?? 4 << 20, maxPerWake: opts.maxPerWake });
    return new Conntrack(sock, opts.timeout ?? 5000);
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
    const table = opts.table ?? 'conntrack';
    const zero = opts.zeroCounters === true;
    if (zero && table !== 'conntrack') throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'zeroCounters works on the conntrack table only');
    const type = dumpType(table, zero);
    const family = familyNumber(opts.family);
    const wantKind = table === 'expect' ? L.KIND_EXPECT : L.KIND_FLOW;
    // IPCTNL_MSG_CT_GET_CTRZERO replies carry nlmsg_type 0x0103 like expectation statistics.
    this.sock.decoder.setContext0103(zero ? 'flow' : 'guess');
    let n = 0;
    await this.sock.requestRecords(bareRequest(type, DUMP, this.sock.nextSeq(), family), (rec) => {
      if (rec.kind !== wantKind) return;
      n++;
      onRecord(rec);
    }, { timeout: this.timeout });
    return n;
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
    const p = this.dumpRecords(opts, (rec) => {
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
    const type = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_GET_STATS_CPU;
    const msgs = await this.sock.request(bareRequest(type, DUMP, this.sock.nextSeq(), A.AF_UNSPEC), undefined, { timeout: this.timeout });
    return msgs.filter((m): m is CpuStats => m.kind === 'stats-cpu');
  }

  /** Per-CPU expectation statistics (IPCTNL_MSG_EXP_GET_STATS_CPU). */
  async expectStats(): Promise<ExpectStats[]> {
    const type = (A.NFNL_SUBSYS_CTNETLINK_EXP << 8) | A.IPCTNL_MSG_EXP_GET_STATS_CPU;
    this.sock.decoder.setContext0103('exp-stats'); // the kernel answers with nlmsg_type 0x0103
    try {
      const msgs = await this.sock.request(bareRequest(type, DUMP, this.sock.nextSeq(), A.AF_UNSPEC), undefined, { timeout: this.timeout });
      return msgs.filter((m): m is ExpectStats => m.kind === 'stats-exp');
    } finally {
      this.sock.decoder.setContext0103('guess');
    }
  }

  /** Table size: entries and the maximum (IPCTNL_MSG_CT_GET_STATS). */
  async count(): Promise<{ entries: number; maxEntries: number }> {
    const type = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_GET_STATS;
    const msgs = await this.sock.request(bareRequest(type, A.NLM_F_REQUEST | A.NLM_F_ACK, this.sock.nextSeq(), A.AF_UNSPEC), undefined, { timeout: this.timeout });
    const g = msgs.find((m): m is GlobalStats => m.kind === 'stats-global');
    if (!g || g.entries === undefined) throw new ConntrackError('ERR_CT_KERNEL', 'the kernel sent no CTA_STATS_GLOBAL_ENTRIES');
    return { entries: g.entries, maxEntries: g.maxEntries ?? 0 };
  }

  /** Close the socket; pending requests reject with ERR_CT_CLOSED. Idempotent. */
  close(): void {
    this.sock.close();
  }
}
