// FlowTracker: conntrack entries as ExportFlow records.
//
// - A NEW event starts a flow ('start' record; its counters are the baseline).
// - A DESTROY event ends it ('end': the final counters minus what earlier
//   records carried; end-of-flow for TCP that saw FIN/RST, idle-timeout else).
// - A periodic dump (every activeTimeout / 4) gives long-lived flows an
//   'update' record with reason active-timeout once `activeTimeout` seconds
//   passed since their last record, with counters since that record: a
//   one-hour download reaches the collector every minute, not at the end.
// - After an event overrun (ENOBUFS) the stream's resync snapshot is scanned
//   the same way; flows a dump no longer lists ended while their DESTROY
//   event was lost (they are dropped, counted in `vanished`).
import EventEmitter from 'eventemitter3';
import type { Conntrack } from '../conntrack';
import type { EventStream } from '../events';
import type { FilterBuilder } from '../filter';
import type { EventType, Flow } from '../types';
import { endReasonOf, exportFlowOf, countersOf, ZERO, type ExportCounters, type ExportFlow } from './flow';

/** Options of a {@link FlowTracker}. */
export interface FlowTrackerOptions {
  /** Seconds between records of a live flow (default 60). */
  activeTimeout?: number;
  /** Seconds between dumps that look for due flows (default activeTimeout / 4, at least 0.25). */
  scanInterval?: number;
  /** Only flows this filter matches (dumps: planned; events: the stream's BPF and WASM filter, so `stats().events` counts matching events only). */
  filter?: FilterBuilder;
  /** Only this family. */
  family?: 'ipv4' | 'ipv6';
  /** Event socket receive buffer (default 32 MiB). */
  bufferSize?: number;
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
}

/** Counters of a {@link FlowTracker}, from `stats()`. */
export interface FlowTrackerStats {
  /** Events received, by type. */
  events: Record<EventType, number>;
  /** Event overruns (ENOBUFS): the kernel dropped events. */
  overflows: number;
  /** Resync snapshots scanned after overruns. */
  resyncs: number;
  /** Malformed messages the decoder refused. */
  decodeErrors: number;
  /** Periodic dumps done. */
  dumps: number;
  /** ExportFlow records emitted, by event. */
  flows: Record<'start' | 'update' | 'end', number>;
  /** Flows that disappeared without a DESTROY event (lost in an overrun). */
  vanished: number;
  /** Flows being tracked now. */
  tracked: number;
}

/** The events a {@link FlowTracker} emits (EventEmitter3 event map). */
export interface FlowTrackerEvents {
  /** One export record: a flow started, is due for an active-timeout update, or ended. */
  flow: (f: ExportFlow) => void;
  /** The kernel dropped events (ENOBUFS); `total` counts overruns so far. A resync scan follows. */
  overflow: (info: { total: number }) => void;
  /** A failure of the event stream or of a periodic dump (malformed events are only counted, in `decodeErrors`). */
  error: (err: unknown) => void;
}

interface State {
  last: { orig: ExportCounters; reply: ExportCounters };
  firstSeenMs: number;
  lastExportMs: number;
}

/**
 * Conntrack entries as {@link ExportFlow} records: a NEW event starts a flow,
 * a DESTROY event ends it, and periodic dumps give long-lived flows an
 * active-timeout 'update' record with the counters since their last record.
 * After an event overrun the resync snapshot is scanned the same way. Events:
 * {@link FlowTrackerEvents}; stop it with `stop()`.
 */
export class FlowTracker extends EventEmitter<FlowTrackerEvents> {
  private readonly flows = new Map<number, State>();
  private readonly stream: EventStream;
  private readonly activeMs: number;
  private readonly now: () => number;
  private readonly match: (f: Flow) => boolean;
  private readonly timer: NodeJS.Timeout;
  private scanning: Promise<void> | undefined;
  private stopped = false;
  private readonly s: Omit<FlowTrackerStats, 'tracked'> = {
    events: { new: 0, update: 0, destroy: 0 }, overflows: 0, resyncs: 0, decodeErrors: 0, dumps: 0,
    flows: { start: 0, update: 0, end: 0 }, vanished: 0,
  };

  constructor(private readonly ct: Conntrack, private readonly opts: FlowTrackerOptions = {}) {
    super();
    const active = opts.activeTimeout ?? 60;
    this.activeMs = active * 1000;
    this.now = opts.now ?? Date.now;
    const fam = opts.family === 'ipv4' ? 2 : opts.family === 'ipv6' ? 10 : 0;
    this.match = (f) => fam === 0 || f.family === fam;
    // the filter runs in the stream (kernel BPF + WASM), not per event object here
    this.stream = ct.events({ bufferSize: opts.bufferSize, resync: true, filter: opts.filter });
    this.stream.on('event', (e) => {
      if (e.kind === 'flow') this.onEvent(e);
    });
    this.stream.on('overflow', (info) => {
      this.s.overflows = info.total;
      this.emit('overflow', info);
    });
    this.stream.on('resync', (snapshot) => {
      this.s.resyncs++;
      const start = this.now();
      this.scan(snapshot.filter((f) => this.match(f)), start);
    });
    this.stream.on('error', (err) => {
      if ((err as { code?: string }).code === 'ERR_CT_DECODE') this.s.decodeErrors++;
      else this.emit('error', err);
    });
    const every = Math.max(250, (opts.scanInterval ?? active / 4) * 1000);
    this.timer = setInterval(() => void this.tick(), every);
  }

  /** A copy of the counters now. */
  stats(): FlowTrackerStats {
    return { ...this.s, events: { ...this.s.events }, flows: { ...this.s.flows }, tracked: this.flows.size };
  }

  private emitFlow(f: ExportFlow): void {
    this.s.flows[f.event]++;
    this.emit('flow', f);
  }

  private onEvent(f: Flow): void {
    if (f.event) this.s.events[f.event]++;
    if (f.id === undefined || !this.match(f)) return;
    const now = this.now();
    if (f.event === 'new') {
      const firstSeenMs = f.timestampStart ? Number(f.timestampStart / 1_000_000n) : now;
      // counters of a NEW event are the first packet's: the baseline is zero
      this.flows.set(f.id, { last: { orig: ZERO, reply: ZERO }, firstSeenMs, lastExportMs: now });
      this.emitFlow(exportFlowOf(f, 'start', { nowMs: now, firstSeenMs }));
    } else if (f.event === 'destroy') {
      const st = this.flows.get(f.id);
      this.flows.delete(f.id);
      this.emitFlow(exportFlowOf(f, 'end', { reason: endReasonOf(f), previous: st?.last, firstSeenMs: st?.firstSeenMs, nowMs: now }));
    }
  }

  /** Active-timeout records for the flows of one dump; forget flows the dump no longer has. */
  private scan(list: Iterable<Flow>, dumpStartMs: number): void {
    const seen = new Set<number>();
    for (const f of list) this.visit(f, seen);
    this.prune(seen, dumpStartMs);
  }

  private prune(seen: Set<number>, dumpStartMs: number): void {
    for (const [id, st] of this.flows) {
      if (!seen.has(id) && st.firstSeenMs < dumpStartMs && st.lastExportMs < dumpStartMs) {
        this.flows.delete(id);
        this.s.vanished++;
      }
    }
  }

  // `f` may be the decoder's reused view: everything is read before returning
  private visit(f: Flow, seen: Set<number>): void {
    if (f.id === undefined) return;
    seen.add(f.id);
    const now = this.now();
    let st = this.flows.get(f.id);
    if (!st) {
      // started before we listened, or its NEW event was lost
      const startMs = f.timestampStart ? Number(f.timestampStart / 1_000_000n) : now;
      st = { last: { orig: ZERO, reply: ZERO }, firstSeenMs: startMs, lastExportMs: startMs };
      this.flows.set(f.id, st);
    }
    if (now - st.lastExportMs < this.activeMs) return;
    const rec = exportFlowOf(f, 'update', { reason: 'active-timeout', previous: st.last, firstSeenMs: st.firstSeenMs, nowMs: now });
    st.last = { orig: countersOf(f.countersOrig), reply: countersOf(f.countersReply) };
    st.lastExportMs = now;
    this.emitFlow(rec);
  }

  /** One periodic dump (also callable directly, e.g. by tests). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.scanning) return this.scanning;
    this.scanning = this.dumpAndScan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async dumpAndScan(): Promise<void> {
    const start = this.now();
    const seen = new Set<number>();
    try {
      await this.ct.dumpRecords({ family: this.opts.family, filter: this.opts.filter }, (rec) => {
        if (!this.stopped) this.visit(rec.flow(), seen);
      });
    } catch (e) {
      // an interrupted dump is retried at the next tick (no pruning from a partial list)
      if ((e as { code?: string }).code !== 'ERR_CT_DUMP_INTERRUPTED') this.emit('error', e);
      return;
    }
    this.s.dumps++;
    if (!this.stopped) this.prune(seen, start);
  }

  /**
   * Stop listening. With `forceEnd`, every tracked flow still alive gets a
   * last 'end' record (reason forced-end) from a final dump.
   */
  async stop(opts: { forceEnd?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.timer);
    await this.scanning;
    this.stopped = true;
    this.stream.close();
    if (!opts.forceEnd) return;
    const now = this.now();
    await this.ct.dumpRecords({ family: this.opts.family, filter: this.opts.filter }, (rec) => {
      const f = rec.flow();
      if (f.id === undefined) return;
      const st = this.flows.get(f.id);
      this.emitFlow(exportFlowOf(f, 'end', { reason: 'forced-end', previous: st?.last, firstSeenMs: st?.firstSeenMs, nowMs: now }));
    });
    this.flows.clear();
  }
}
