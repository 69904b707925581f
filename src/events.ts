// Conntrack events (NFNLGRP_CONNTRACK_*): a typed EventEmitter3 that is also
// an async iterator. One socket per stream (the kernel multicasts to it), the
// decoder reads the datagrams in place.
//
// Loss: when the reader falls behind, the kernel drops events and the next
// receive reports ENOBUFS. The stream then emits 'overflow'; with `resync` it
// takes a fresh dump and emits it as 'resync', so a consumer's mirror of the
// table is correct again (conntrackd's overrun resync).
import EventEmitter from 'eventemitter3';
import { ConntrackError } from './errors';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import { decodeError, toMessage } from './materialize';
import type { RecordView } from './record';
import { NetlinkSocket } from './socket';
import type { Decoder } from './decoder';
import type { EventType, Expectation, Flow } from './types';

export interface EventsOptions {
  /** Conntrack event kinds to receive (default all three). */
  groups?: EventType[];
  /** Expectation event kinds to receive too (default none). */
  expect?: EventType[];
  /** Receive buffer in bytes (default 32 MiB, via SO_RCVBUFFORCE when permitted). */
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
}

/** A reused window over one received batch; valid only inside the 'batch' listener. */
export interface EventBatch {
  /** Decoded records of the batch (events, plus anything unexpected). */
  readonly size: number;
  /** Record i through the decoder's reused view (rec.flow() for a lazy Flow). */
  record(i: number): RecordView;
}

export interface EventStreamEvents {
  /** One conntrack or expectation event, as a plain object. */
  event: (e: Flow | Expectation) => void;
  /** One receive batch through a reused view: no object per event. */
  batch: (batch: EventBatch) => void;
  /** The kernel dropped events (ENOBUFS). `total` counts overruns since the start. */
  overflow: (info: { total: number }) => void;
  /** With resync: the whole table after an overrun. */
  resync: (snapshot: Flow[]) => void;
  error: (err: unknown) => void;
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

export class EventStream extends EventEmitter<EventStreamEvents> implements AsyncIterable<Flow | Expectation> {
  private readonly sock: NetlinkSocket;
  private readonly hwm: number;
  private queue: (Flow | Expectation)[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private iterating = 0;
  private paused = false;
  private overruns = 0;
  private closed = false;
  private failure: unknown;
  private readonly batchView: { size: number; decoder?: Decoder; record(i: number): RecordView } = {
    size: 0,
    record(i: number): RecordView {
      return (this.decoder as Decoder).record(i);
    },
  };

  /** @internal use Conntrack.events() */
  constructor(opts: EventsOptions & { netns?: string }, private readonly snapshot?: () => Promise<Flow[]>) {
    super();
    const groups = [...groupsOf(opts.groups ?? ['new', 'update', 'destroy'], GROUP, 'groups'), ...groupsOf(opts.expect, EXP_GROUP, 'expect')];
    if (groups.length === 0) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'no event groups: give groups and/or expect');
    this.hwm = opts.highWaterMark ?? 65536;
    this.sock = NetlinkSocket.open({ netns: opts.netns, groups, rcvBuf: opts.bufferSize ?? 32 << 20 });
    if (opts.noEnobufs) this.sock.native.setNoEnobufs(true);
    const resync = opts.resync === true;
    this.sock.listen((d, info) => this.onBatch(d, info.enobufs, resync), (err) => this.fail(err));
  }

  /** Netlink port id of the listening socket. */
  get portId(): number {
    return this.sock.portId;
  }

  /** Decoder counters of the listening socket (spoofed senders, bad messages, ...). */
  counters(): ReturnType<Decoder['counters']> {
    return this.sock.decoder.counters();
  }

  /** Overruns (ENOBUFS) seen so far. */
  get overflows(): number {
    return this.overruns;
  }

  private onBatch(d: Decoder, enobufs: boolean, resync: boolean): void {
    if (enobufs) {
      this.overruns++;
      this.emit('overflow', { total: this.overruns });
      if (resync && this.snapshot) {
        this.snapshot().then((s) => this.emit('resync', s), (e) => this.fail(e));
      }
    }
    const wantObjects = this.listenerCount('event') > 0 || this.iterating > 0;
    const wantBatch = this.listenerCount('batch') > 0;
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      if (wantBatch) {
        this.batchView.size = n;
        this.batchView.decoder = d;
        this.emit('batch', this.batchView);
      }
      if (!wantObjects) continue;
      for (let i = 0; i < n; i++) {
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
    this.sock.close();
    this.wake?.();
    this.emit('close');
  }

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
