// ConnTrack: a port of netbird's Linux conntrack flow tracker
// (client/internal/netflow/conntrack). It listens for conntrack NEW and
// DESTROY events, keeps the flows that concern the overlay interface, and
// hands each one to a FlowLogger with its direction and rx/tx counters.
//
// Direction, relevance and the counter mapping are computed in WASM while the
// events are decoded (assembly/direction.ts); this file only reads the
// finished side-table entry, formats addresses and derives the flow id.
//
// Lifecycle, as in the seed: start/stop/close are idempotent and serialized
// (the seed's mutex). When the listener fails, the connection is closed and
// redialed with exponential backoff (5 s, x1.5, +-50 %, max 5 min, forever).
// Stop is a capacity-one signal: the receiver takes it while it waits (for
// events or for the next reconnect attempt); one sent while a reconnect dial
// is in flight stays pending, and start drains it so it cannot end the next
// run.
import { parse as uuidParse, v4 as uuidv4, v5 as uuidv5, validate as uuidValidate } from 'uuid';
import type { Decoder } from '../decoder';
import { ConntrackError, isConntrackError } from '../errors';
import * as A from '../generated/attrs';
import * as L from '../generated/layout';
import type { RecordView } from '../record';
import type { WasmCore } from '../wasm';
import { Accounting, acctSysctl, type SysctlAccess } from './accounting';
import { ExponentialBackoff } from './backoff';
import { checkFlowMarks, ifaceConfig, writeDirectionConfig, type IfaceConfig } from './config';
import { netlinkDialer, type FlowBatchInfo, type FlowDialer, type FlowListener } from './listener';
import { netbirdMarks } from './marks';
import type { FlowDirection, FlowEventFields, FlowInterface, FlowLogger, FlowMarks, InterfaceAddress } from './types';

/** Timers the tracker waits with; inject one to run reconnect tests in milliseconds. */
export interface Clock {
  /** Call `fn` after `ms` milliseconds; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a timer made by setTimeout. */
  clearTimeout(handle: unknown): void;
}

/** Severity of a message the tracker passes to `log`. */
export type LogLevel = 'debug' | 'info' | 'warn';

/** Options of a {@link ConnTrack} flow tracker. */
export interface ConnTrackOptions {
  /** Makes the listener (default: a ctnetlink socket in `netns`). Doubles as the replay seam (replayDialer). */
  dial?: FlowDialer;
  /** Marks that classify flows (default: netbird's range at 0x1BD00, see netbirdMarks()). */
  marks?: FlowMarks;
  /** Timers for the reconnect backoff (default: the global ones). */
  clock?: Clock;
  /** Network namespace of the default dialer and of the accounting sysctl. */
  netns?: string;
  /** Overrides the nf_conntrack_acct access (default: the sysctl of `netns`). */
  sysctl?: SysctlAccess;
  /** Backoff jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /** Namespace UUID of the flow ids (default: a random v4 UUID per tracker, as the seed). */
  instanceId?: string;
  /** Where the tracker's own messages go (default: nowhere). */
  log?: (level: LogLevel, message: string) => void;
}

const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const DIRECTIONS: FlowDirection[] = ['unknown', 'ingress', 'egress'];
// IP protocol numbers (netinet/in.h): which carry ports, which ICMP type/code
const PORT_PROTOS = new Set([6 /* TCP */, 17 /* UDP */, 132 /* SCTP */]);
const ICMP_PROTOS = new Set([1 /* ICMP */, 58 /* ICMPv6 */]);

/** Go's buffered `chan struct{}` of capacity one, as the seed's done channel. */
class StopSignal {
  private pending = false;
  private waiter: (() => void) | undefined;

  /** Non-blocking send: wakes the waiter, else stays pending (a second send is dropped). */
  send(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w();
    } else {
      this.pending = true;
    }
  }
  /** Receive when it arrives (now, if one is pending). */
  wait(fn: () => void): void {
    if (this.pending) {
      this.pending = false;
      fn();
    } else {
      this.waiter = fn;
    }
  }
  unwait(): void {
    this.waiter = undefined;
  }
  /** Drop a stale signal. */
  drain(): void {
    this.pending = false;
  }
  get isPending(): boolean {
    return this.pending;
  }
}

/** One receiver run (the seed's receiverRoutine goroutine). */
interface Routine {
  ended: boolean;
}

/**
 * A port of netbird's Linux conntrack flow tracker: it listens for conntrack
 * NEW and DESTROY events, keeps the flows that concern the overlay interface
 * (by connection mark and by address), and hands each one to a
 * {@link FlowLogger} with its direction and rx/tx counters
 * ({@link FlowEventFields}). Direction, relevance and the counter mapping are
 * computed in WASM while the events are decoded. When the listener fails, it
 * is redialed with exponential backoff (5 s, x1.5, +-50 %, max 5 min, forever).
 * start/stop/close are idempotent and serialized.
 */
export class ConnTrack {
  /** Namespace UUID of this tracker's flow ids. */
  readonly instanceId: string;
  private readonly namespace: Uint8Array; // instanceId parsed once: uuid re-parses a string namespace on every call
  private readonly idBytes = new Uint8Array(4);
  private readonly idView = new DataView(this.idBytes.buffer);
  private readonly dial: FlowDialer;
  private readonly marks: FlowMarks;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: (level: LogLevel, message: string) => void;
  private readonly accounting: Accounting;
  private readonly done = new StopSignal();
  private conn: FlowListener | undefined;
  private routine: Routine | undefined;
  private isStarted = false;
  private ops: Promise<unknown> = Promise.resolve();
  private reconnects = 0;
  private overruns = 0;
  // direction config last written, per decoder memory
  private cfgCore: WasmCore | undefined;
  private cfgKey = '';
  private cfg: IfaceConfig;

  constructor(private readonly flowLogger: FlowLogger, private readonly iface: FlowInterface, opts: ConnTrackOptions = {}) {
    if (typeof flowLogger?.storeEvent !== 'function') throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'flowLogger must have a storeEvent(fields) method');
    if (typeof iface?.address !== 'function') throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'iface must have an address() method');
    if (opts.instanceId !== undefined && !uuidValidate(opts.instanceId)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `instanceId must be a UUID, not ${String(opts.instanceId)}`);
    }
    this.instanceId = opts.instanceId ?? uuidv4();
    this.namespace = uuidParse(this.instanceId);
    this.dial = opts.dial ?? netlinkDialer({ netns: opts.netns });
    this.marks = checkFlowMarks(opts.marks ?? netbirdMarks());
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? (() => undefined);
    this.accounting = new Accounting(opts.sysctl ?? acctSysctl(opts.netns), (m) => this.log('warn', m));
    // fail fast on an unusable interface address; later changes are re-read per batch
    const a = iface.address();
    this.cfg = ifaceConfig(a);
    this.cfgKey = addressKey(a);
  }

  /** A listener is running (between start and stop/close, reconnects included). */
  get started(): boolean {
    return this.isStarted;
  }

  /** A listener connection is open (false while reconnecting). */
  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** Successful reconnects so far. */
  get reconnectCount(): number {
    return this.reconnects;
  }

  /** Event overruns (ENOBUFS) reported by the listener: flows were missed. */
  get overflows(): number {
    return this.overruns;
  }

  /** Whether start(true) turned nf_conntrack_acct on (and stop/close will turn it off). */
  get accountingChanged(): boolean {
    return this.accounting.changed;
  }

  /** The flow id of a conntrack id: uuidv5(BE32(id), instanceId). */
  flowId(conntrackId: number): string {
    this.idView.setUint32(0, conntrackId >>> 0, false);
    return uuidv5(this.idBytes, this.namespace);
  }

  /** Start listening; idempotent. enableCounters turns nf_conntrack_acct on in the namespace if it is off. */
  start(enableCounters = false): Promise<void> {
    return this.serialized(() => this.doStart(enableCounters));
  }

  /** Stop listening (also ends a reconnect in progress); idempotent. */
  stop(): Promise<void> {
    return this.serialized(() => {
      this.shutdown('stop');
    });
  }

  /** Like stop(), but reports a failure to close the connection; idempotent. */
  close(): Promise<void> {
    return this.serialized(() => {
      const err = this.shutdown('close');
      if (err !== undefined) throw new ConntrackError('ERR_CT_SYSTEM', `close conntrack: ${(err as Error).message ?? String(err)}`, { cause: err });
    });
  }

  private serialized<T>(fn: () => T | Promise<T>): Promise<T> {
    const p = this.ops.then(fn);
    this.ops = p.catch(() => undefined);
    return p;
  }

  private async doStart(enableCounters: boolean): Promise<void> {
    if (this.isStarted) return;
    this.log('info', 'starting conntrack event listening');
    if (enableCounters) this.accounting.enable();
    let conn: FlowListener;
    try {
      conn = await this.dial();
    } catch (e) {
      this.accounting.restore();
      throw wrap(e, 'dial conntrack');
    }
    const routine: Routine = { ended: false };
    this.routine = routine; // before listen: a listener may deliver inside listen()
    try {
      this.attach(conn, routine);
    } catch (e) {
      routine.ended = true;
      this.closeQuietly(conn);
      this.accounting.restore();
      throw wrap(e, 'start conntrack listener');
    }
    this.conn = conn;
    // a stop signal left over from a previous run must not end this one
    this.done.drain();
    this.isStarted = true;
    this.awaitStop(routine);
  }

  // Stop/Close body: signal the receiver, close the connection, restore accounting.
  private shutdown(what: string): unknown {
    if (!this.isStarted) return undefined;
    this.log('info', `${what}: stopping conntrack event listening`);
    this.done.send();
    let err: unknown;
    if (this.conn) {
      try {
        this.conn.close();
      } catch (e) {
        err = e;
        this.log('warn', `error closing conntrack connection: ${(e as Error).message}`);
      }
      this.conn = undefined;
    }
    this.isStarted = false;
    this.accounting.restore();
    return err;
  }

  private attach(conn: FlowListener, routine: Routine): void {
    conn.listen(
      (d, info) => this.onBatch(routine, d, info),
      (err) => this.onListenerError(routine, err),
    );
  }

  // The receiver waits for the stop signal while it waits for events.
  private awaitStop(routine: Routine): void {
    this.done.wait(() => {
      routine.ended = true;
    });
  }

  private onListenerError(routine: Routine, err: unknown): void {
    if (routine.ended || routine !== this.routine) return;
    this.log('warn', `conntrack event listener failed: ${(err as Error)?.message ?? String(err)}`);
    this.done.unwait(); // the receiver is busy reconnecting; it waits again during the backoff
    if (this.conn) {
      this.closeQuietly(this.conn);
      this.conn = undefined;
    }
    void this.reconnect(routine);
  }

  // Redial with backoff until it works or a stop arrives.
  private async reconnect(routine: Routine): Promise<void> {
    const bo = new ExponentialBackoff({ random: this.random });
    for (;;) {
      const delay = bo.next();
      this.log('info', `reconnecting conntrack listener in ${delay} ms`);
      if (await this.sleepUnlessStopped(delay)) {
        // (stop already cleared it; a start queued behind that stop must keep its own run)
        if (this.routine === routine) this.isStarted = false;
        routine.ended = true;
        return;
      }
      let conn: FlowListener;
      try {
        conn = await this.dial();
      } catch (e) {
        this.log('warn', `reconnect conntrack dial: ${(e as Error)?.message ?? String(e)}`);
        continue;
      }
      try {
        this.attach(conn, routine);
      } catch (e) {
        this.log('warn', `reconnect conntrack listen: ${(e as Error)?.message ?? String(e)}`);
        this.closeQuietly(conn);
        continue;
      }
      // stop() ran while we were dialing (or a new start() owns the tracker now)
      if (!this.isStarted || this.routine !== routine) {
        this.closeQuietly(conn);
        routine.ended = true;
        return;
      }
      this.conn = conn;
      this.reconnects++;
      this.log('info', 'conntrack listener reconnected');
      this.awaitStop(routine);
      return;
    }
  }

  /** Resolves true when the stop signal came before `ms` elapsed. */
  private sleepUnlessStopped(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        this.done.unwait();
        resolve(false);
      }, ms);
      this.done.wait(() => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private closeQuietly(conn: FlowListener): void {
    try {
      conn.close();
    } catch (e) {
      this.log('debug', `close conntrack connection: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  // ---------------------------------------------------------------------------
  // Events.

  private onBatch(routine: Routine, d: Decoder, info: FlowBatchInfo): void {
    if (routine.ended || routine !== this.routine) return;
    if (info.enobufs) {
      this.overruns++;
      this.log('warn', `conntrack events were lost (ENOBUFS, ${this.overruns} overruns)`);
    }
    this.configure(d.core);
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      for (let i = 0; i < n; i++) this.handleRecord(d.record(i), i);
    }
  }

  // Put the interface addresses and marks into the decoder's memory before it
  // decodes; the address is re-read every batch (it can change, as in the seed).
  private configure(core: WasmCore): void {
    if (this.cfgCore !== core && typeof (core.exports as unknown as { directionBatch?: unknown }).directionBatch !== 'function') {
      throw new ConntrackError('ERR_CT_WASM', 'the WASM module has no direction pass (stale dist/wasm); run "npm run build"');
    }
    let a: InterfaceAddress;
    try {
      a = this.iface.address();
      const key = addressKey(a);
      if (key !== this.cfgKey) {
        this.cfg = ifaceConfig(a);
        this.cfgKey = key;
        this.cfgCore = undefined;
      }
    } catch (e) {
      this.log('warn', `iface.address() failed, keeping the previous address: ${(e as Error)?.message ?? String(e)}`);
    }
    if (this.cfgCore !== core) {
      writeDirectionConfig(core, this.cfg, this.marks);
      this.cfgCore = core;
    }
  }

  private handleRecord(r: RecordView, slot: number): void {
    if (r.kind !== L.KIND_FLOW) return; // the seed's "event without a flow"
    const ev = r.event;
    if (ev !== L.EVENT_NEW && ev !== L.EVENT_DESTROY) return;
    const e = L.DIR_TABLE + slot * L.DIR_ENT_SIZE;
    const flags = r.bytes[e + L.DIRE_FLAGS];
    if ((flags & L.DIRF_FLOW) === 0) return;
    const orig = r.flow().orig;
    const proto = orig?.protoNum ?? 0;
    if (proto === 0) return; // the seed's ProtocolUnknown
    if ((flags & L.DIRF_RELEVANT) === 0) return;
    const ports = PORT_PROTOS.has(proto);
    const icmp = ICMP_PROTOS.has(proto);
    const id = r.has(A.CTA_ID) ? r.u32(L.REC_ID) : 0;
    const dv = r.dv;
    const fields: FlowEventFields = {
      flowId: this.flowId(id),
      type: ev === L.EVENT_NEW ? 'start' : 'end',
      direction: DIRECTIONS[r.bytes[e + L.DIRE_DIRECTION]] ?? 'unknown',
      protocol: proto,
      sourceIp: orig?.src ?? '',
      destIp: orig?.dst ?? '',
      sourcePort: ports ? orig?.srcPort ?? 0 : 0,
      destPort: ports ? orig?.dstPort ?? 0 : 0,
      icmpType: icmp ? orig?.icmpType ?? 0 : 0,
      icmpCode: icmp ? orig?.icmpCode ?? 0 : 0,
      rxPackets: dv.getBigUint64(e + L.DIRE_RX_PACKETS, true),
      txPackets: dv.getBigUint64(e + L.DIRE_TX_PACKETS, true),
      rxBytes: dv.getBigUint64(e + L.DIRE_RX_BYTES, true),
      txBytes: dv.getBigUint64(e + L.DIRE_TX_BYTES, true),
      conntrackId: id,
    };
    try {
      this.flowLogger.storeEvent(fields);
    } catch (err) {
      this.log('warn', `flowLogger.storeEvent failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}

function addressKey(a: InterfaceAddress): string {
  return a === null || typeof a !== 'object' ? String(a) : `${a.ip}|${a.network}|${a.ipv6}|${a.ipv6Network}`;
}

function wrap(e: unknown, what: string): ConntrackError {
  if (isConntrackError(e)) return new ConntrackError(e.code, `${what}: ${e.message}`, { cause: e });
  return new ConntrackError('ERR_CT_SYSTEM', `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
