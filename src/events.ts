// Conntrack events (NFNLGRP_CONNTRACK_*): a typed EventEmitter3 that is also
// an async iterator. One socket per stream (the kernel multicasts to it), the
// decoder reads the datagrams in place.
//
// Loss: when the reader falls behind, the kernel drops events and the next
// receive reports ENOBUFS. The stream then emits 'overflow'; with `resync` it
// takes a fresh dump and emits it as 'resync', so a consumer's mirror of the
// table is correct again (conntrackd's overrun resync).
//
// Filters: the filter's conditions run in WASM on every received event, and
// the part a classic BPF program can express also runs in the kernel
// (src/bpf.ts, SO_ATTACH_FILTER), so unwanted events never reach the socket.
//
// Faults: when the socket fails under the listener (any error but ENOBUFS),
// the stream closes it and opens a new one after an exponential backoff,
// emitting 'reconnect'; with `resync` the table is dumped once the new
// socket listens (events of the gap are lost).
import EventEmitter from 'eventemitter3';
import { ConntrackError } from './errors';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import { decodeError, toMessage } from './materialize';
import type { RecordView } from './record';
import { NetlinkSocket } from './socket';
import type { Decoder } from './decoder';
import type { EventType, Expectation, Flow } from './types';
import type { ConntrackFilter, FilterBuilder } from './filter';
import { planEvents } from './bpf';
import { toConntrackError } from './host';

/** Exponential backoff of the reconnects. */
export interface ReconnectOptions {
  /** First delay in ms (default 100). */
  initialMs?: number;
  /** Largest delay in ms (default 30000). */
  maxMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
}

/** Options of {@link Conntrack.events}: which events, buffer sizing, filtering, loss handling. */
export interface EventsOptions {
  /** Conntrack event kinds to receive (default all three). */
  groups?: EventType[];
  /** Expectation event kinds to receive too (default none). */
  expect?: EventType[];
  /** Receive buffer in bytes (default 128 MiB, via SO_RCVBUFFORCE when permitted; the kernel doubles it). */
  bufferSize?: number;
  /** NETLINK_NO_ENOBUFS: never report overruns (events are still lost; you just are not told). */
  noEnobufs?: boolean;
  /** After an overrun, dump the table and emit 'resync' with the snapshot. */
  resync?: boolean;
  /**
   * Iterator consumers: above this many undelivered events the socket stops
   * reading, and the kernel buffer fills instead (then events are lost and
   * 'overflow' follows). Default 65536.
   */
  highWaterMark?: number;
  /**
   * Only events this filter matches (flows; expectation events pass). Run in
   * WASM on every event; the part the kernel can evaluate also goes into a
   * BPF socket filter (see Conntrack.explain(filter, { events: true })).
   */
  filter?: FilterBuilder | ConntrackFilter;
  /** Attach the kernel-side BPF part of `filter` (default true). The events delivered are the same either way. */
  bpf?: boolean;
  /**
   * After each overrun, double the receive buffer up to this many bytes
   * (conntrackd's NetlinkBufferSizeMaxGrowth); default: no growth. The
   * kernel doubles what is granted, as with bufferSize.
   */
  growBuffer?: number;
  /** Reopen the socket after a failure (default on); false: the stream closes with 'error'. */
  reconnect?: ReconnectOptions | false;
}

/** A reused window over one received batch; valid only inside the 'batch' listener. */
export interface EventBatch {
  /** Decoded records of the batch (events, plus anything unexpected). */
  readonly size: number;
  /** Record i through the decoder's reused view (rec.flow() for a lazy Flow). */
  record(i: number): RecordView;
}

/**
 * The events an {@link EventStream} emits (EventEmitter3 event map): the name
 * of each property is the event name, its type the listener's signature.
 */
export interface EventStreamEvents {
  /** One conntrack or expectation event, as a plain object. */
  event: (e: Flow | Expectation) => void;
  /** One receive batch through a reused view: no object per event. */
  batch: (batch: EventBatch) => void;
  /** The kernel dropped events (ENOBUFS). `total` counts overruns since the start. */
  overflow: (info: { total: number; bufferSize: number }) => void;
  /** With resync: the whole table after an overrun. */
  resync: (snapshot: Flow[]) => void;
  /**
   * The socket failed (`error`) and was closed; a new one is opened after
   * `delayMs`. Events in between are lost (with `resync`, a snapshot follows
   * once the new socket listens).
   */
  reconnect: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /**
   * A failure: a malformed event (ERR_CT_DECODE; the stream goes on), a
   * failed resync dump or buffer growth, or a socket failure with
   * `reconnect: false` (the stream then closes; without an 'error' listener
   * an iterator throws it instead). Errors are {@link ConntrackError}s.
   */
  error: (err: unknown) => void;
  /** The stream stopped listening: close() was called or a fatal error ended it. Emitted once. */
  close: () => void;
}

const GROUP: Record<EventType, number> = {
  new: A.NFNLGRP_CONNTRACK_NEW, update: A.NFNLGRP_CONNTRACK_UPDATE, destroy: A.NFNLGRP_CONNTRACK_DESTROY,
};
const EXP_GROUP: Record<EventType, number> = {
  new: A.NFNLGRP_CONNTRACK_EXP_NEW, update: A.NFNLGRP_CONNTRACK_EXP_UPDATE, destroy: A.NFNLGRP_CONNTRACK_EXP_DESTROY,
};

function groupsOf(kinds: EventType[] | undefined, table: Record<EventType, number>, what: string): number[] {
  return (kinds ?? []).map((k) => {
    const g = table[k];
    if (g === undefined) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what} must list 'new', 'update' or 'destroy', not ${String(k)}`);
    return g;
  });
}

// 128 MiB requested (the kernel doubles it): at ~260k events/s the object
// path lost 37 % of 200k events with 32 MiB (bench/RESULTS-events.md). Only
// queued events take memory.
const DEFAULT_BUFFER = 128 << 20;

function positive(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what} must be a positive number, not ${String(v)}`);
  return v;
}

/**
 * A live stream of conntrack (and optionally expectation) events, from
 * {@link Conntrack.events}. Listen with `on('event')` for plain objects,
 * `on('batch')` for allocation-free access to each receive batch, or iterate
 * it with `for await`. See {@link EventStreamEvents} for every event.
 *
 * When the reader falls behind, the kernel drops events and the stream emits
 * 'overflow' (and 'resync' with a fresh dump when `resync` is set); when the
 * socket fails it is reopened after a backoff ('reconnect').
 */
export class EventStream extends EventEmitter<EventStreamEvents> implements AsyncIterable<Flow | Expectation> {
  private sock: NetlinkSocket;
  private readonly hwm: number;
  private queue: (Flow | Expectation)[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private iterating = 0;
  private paused = false;
  private overruns = 0;
  private closed = false;
  private failure: unknown;
  private readonly groups: number[];
  private readonly wasmFilter: Uint8Array | undefined;
  private readonly bpfProgram: Uint8Array | undefined;
  private readonly backoff: Required<ReconnectOptions> | undefined;
  private readonly resync: boolean;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnects = 0;
  private bpfOn = false;
  private rcvBuf: number; // bytes asked for (growBuffer raises it)
  private rcvSize = 0; // SO_RCVBUF as the kernel reports it
  /** Decoder counters of sockets closed by reconnects. */
  private past: ReturnType<Decoder['counters']> | undefined;
  private readonly batchView: { size: number; decoder?: Decoder; record(i: number): RecordView } = {
    size: 0,
    record(i: number): RecordView {
      return (this.decoder as Decoder).record(i);
    },
  };

  /** @internal use Conntrack.events() */
  constructor(private readonly opts: EventsOptions & { netns?: string }, private readonly snapshot?: () => Promise<Flow[]>) {
    super();
    this.groups = [...groupsOf(opts.groups ?? ['new', 'update', 'destroy'], GROUP, 'groups'), ...groupsOf(opts.expect, EXP_GROUP, 'expect')];
    if (this.groups.length === 0) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'no event groups: give groups and/or expect');
    this.hwm = opts.highWaterMark ?? 65536;
    this.rcvBuf = opts.bufferSize ?? DEFAULT_BUFFER;
    if (opts.bufferSize !== undefined && !(Number.isSafeInteger(opts.bufferSize) && opts.bufferSize > 0)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `bufferSize must be a positive number of bytes, not ${String(opts.bufferSize)}`);
    }
    if (opts.growBuffer !== undefined && !(Number.isSafeInteger(opts.growBuffer) && opts.growBuffer > 0)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `growBuffer must be a positive number of bytes, not ${String(opts.growBuffer)}`);
    }
    this.resync = opts.resync === true;
    if (opts.filter !== undefined) {
      const conds = opts.filter.conditions();
      if (conds.length > 0) {
        this.wasmFilter = opts.filter.compile();
        this.bpfProgram = planEvents(conds, { bpf: opts.bpf }).program;
      }
    }
    this.backoff = opts.reconnect === false ? undefined : {
      initialMs: positive(opts.reconnect?.initialMs, 100, 'reconnect.initialMs'),
      maxMs: positive(opts.reconnect?.maxMs, 30000, 'reconnect.maxMs'),
      factor: positive(opts.reconnect?.factor, 2, 'reconnect.factor'),
    };
    this.sock = this.openSocket();
  }

  // One listening socket with the groups, buffer, filters and handlers.
  private openSocket(): NetlinkSocket {
    const o = this.opts;
    const sock = NetlinkSocket.open({ netns: o.netns, groups: this.groups });
    try {
      this.rcvSize = sock.setRcvBuf(this.rcvBuf).size;
      if (o.noEnobufs) sock.native.setNoEnobufs(true);
      if (this.wasmFilter) sock.decoder.setFilter(this.wasmFilter);
      this.bpfOn = false;
      if (this.bpfProgram) {
        try {
          sock.native.attachFilter(this.bpfProgram);
          this.bpfOn = true;
        } catch (e) {
          // a kernel that refuses the program: everything is filtered in WASM instead
          process.emitWarning(`the kernel refused the event BPF filter (${(toConntrackError(e) as Error).message}); filtering in user space only`,
            { type: 'ConntrackWarning', code: 'CT_BPF_REFUSED' });
        }
      }
      sock.listen((d, info) => this.onBatch(sock, d, info.enobufs), (err) => this.onSocketError(sock, err));
      if (this.paused) sock.pause();
    } catch (e) {
      sock.close();
      throw e;
    }
    return sock;
  }

  /** Whether the kernel-side BPF filter is attached to the current socket. */
  get bpfAttached(): boolean {
    return this.bpfOn;
  }

  /** Sockets reopened after failures so far. */
  get reconnectCount(): number {
    return this.reconnects;
  }

  // A socket error other than ENOBUFS: reconnect (or end the stream).
  private onSocketError(sock: NetlinkSocket, err: unknown): void {
    if (this.closed || sock !== this.sock) return;
    if (!this.backoff) return this.fail(err);
    this.scheduleReconnect(err);
  }

  private scheduleReconnect(err: unknown): void {
    const b = this.backoff as Required<ReconnectOptions>;
    this.keepCounters();
    this.sock.close();
    const delayMs = Math.min(b.maxMs, b.initialMs * b.factor ** this.attempt);
    this.attempt++;
    this.emit('reconnect', { attempt: this.attempt, delayMs, error: err });
    if (this.closed) return; // closed by a 'reconnect' listener
    this.retryTimer = setTimeout(() => this.reopen(), delayMs);
  }

  private reopen(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    try {
      this.sock = this.openSocket();
    } catch (e) {
      this.scheduleReconnect(e);
      return;
    }
    this.reconnects++;
    if (this.resync && this.snapshot) this.takeSnapshot();
  }

  private keepCounters(): void {
    const c = this.sock.decoder.counters();
    if (!this.past) this.past = c;
    else for (const k of Object.keys(c) as (keyof typeof c)[]) this.past[k] += c[k];
  }

  private takeSnapshot(): void {
    (this.snapshot as () => Promise<Flow[]>)().then((s) => {
      if (!this.closed) this.emit('resync', s);
    }, (e) => this.fail(e));
  }

  /**
   * Test hook: act as if the socket had failed with `err` (a reconnect, or
   * the end of the stream with reconnect: false).
   * @internal
   */
  _injectFault(err: unknown = new ConntrackError('ERR_CT_SYSTEM', 'injected socket failure')): void {
    this.onSocketError(this.sock, err);
  }

  /** Netlink port id of the listening socket. */
  get portId(): number {
    return this.sock.portId;
  }

  /** Decoder counters of the listening socket (spoofed senders, bad messages, ...). */
  counters(): ReturnType<Decoder['counters']> {
    const c = this.sock.decoder.counters();
    if (this.past) for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] += this.past[k];
    return c;
  }

  /** SO_RCVBUF of the current socket as the kernel reports it (twice what was asked). */
  get bufferSize(): number {
    return this.rcvSize;
  }

  // growBuffer: twice the buffer after an overrun, up to the cap.
  private growRcvBuf(sock: NetlinkSocket): void {
    const max = this.opts.growBuffer;
    if (max === undefined || this.rcvBuf >= max) return;
    this.rcvBuf = Math.min(max, this.rcvBuf * 2);
    try {
      this.rcvSize = sock.setRcvBuf(this.rcvBuf).size;
    } catch (e) {
      this.emit('error', e);
    }
  }

  /** Overruns (ENOBUFS) seen so far. */
  get overflows(): number {
    return this.overruns;
  }

  private onBatch(sock: NetlinkSocket, d: Decoder, enobufs: boolean): void {
    if (sock !== this.sock || this.closed) return;
    this.attempt = 0; // the socket works: the next failure starts the backoff afresh
    if (enobufs) {
      this.overruns++;
      this.growRcvBuf(sock);
      this.emit('overflow', { total: this.overruns, bufferSize: this.rcvSize });
      if (this.resync && this.snapshot) this.takeSnapshot();
    }
    const wantObjects = this.listenerCount('event') > 0 || this.iterating > 0;
    const wantBatch = this.listenerCount('batch') > 0;
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      if (wantBatch) {
        this.batchView.size = n;
        this.batchView.decoder = d;
        this.emit('batch', this.batchView);
        if (this.closed) return; // close() inside the listener
      }
      if (!wantObjects) continue;
      for (let i = 0; i < n && !this.closed; i++) {
        const r = d.record(i);
        if (r.kind === L.KIND_BAD) {
          this.emit('error', decodeError(r));
          continue;
        }
        if ((r.kind !== L.KIND_FLOW && r.kind !== L.KIND_EXPECT) || r.event === L.EVENT_NONE) continue;
        const m = toMessage(r) as Flow | Expectation;
        this.emit('event', m);
        if (this.iterating > 0) this.queue.push(m);
      }
    }
    if (this.closed) return;
    if (this.iterating > 0 && !this.paused && this.queue.length - this.head >= this.hwm) {
      this.paused = true;
      this.sock.pause();
    }
    this.wake?.();
  }

  private fail(err: unknown): void {
    this.failure = err;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.close();
  }

  /** Stop listening; idempotent, safe inside a listener. Iterators end. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.sock.close();
    this.wake?.();
    this.emit('close');
  }

  /**
   * Iterate the events as plain objects. Above `highWaterMark` undelivered
   * events the socket stops reading until the consumer catches up. The
   * iteration ends when the stream closes; it throws the error that closed the
   * stream if no 'error' listener was there to take it.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Flow | Expectation> {
    this.iterating++;
    try {
      for (;;) {
        if (this.head < this.queue.length) {
          const m = this.queue[this.head++];
          if (this.head > 4096 && this.head * 2 > this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          if (this.paused && this.queue.length - this.head < this.hwm / 2) {
            this.paused = false;
            this.sock.resume();
          }
          yield m;
          continue;
        }
        if (this.closed) break;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
      if (this.failure !== undefined && this.listenerCount('error') === 0) throw this.failure;
    } finally {
      this.iterating--;
    }
  }
}
