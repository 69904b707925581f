// Where `ctrack top` gets its flows: the kernel (a dump per refresh, plus an
// event listener that counts starts and ends in between) or a capture
// replayed at its recorded pace (the `npm start` fallback, --replay).
import { Conntrack } from '../../conntrack';
import { Decoder } from '../../decoder';
import { FilterBuilder } from '../../filter';
import * as L from '../../generated/layout';
import { readPcapFile, NETLINK_NETFILTER } from '../../pcap';
import type { EventStream } from '../../events';
import { statsRequest, type TupleInput } from '../../encode';
import { NetlinkSocket } from '../../socket';
import type { FlowKey, FlowTable } from './table';

/** Counts since the previous refresh plus table-wide figures. */
export interface SourceStats {
  /** Entries in the whole table (ct.count()), when known. */
  entries?: number;
  /** nf_conntrack_max, when known. */
  max?: number;
  newEvents: number;
  destroyEvents: number;
  /** Overruns (ENOBUFS) since the start. */
  lost: number;
  /** Whether new/destroyed counts come from events (live) or from the capture. */
  eventsKnown: boolean;
}

export interface TopSource {
  /** What is watched, for the header. */
  readonly label: string;
  /** Whether `d` can delete (false for a capture). */
  readonly canDelete: boolean;
  /** Read the current table into `table` (begin / upsert / end). */
  refresh(table: FlowTable, now: number): Promise<void>;
  /** Counters since the previous call. */
  takeStats(): SourceStats;
  /** Filter for the next refreshes (undefined: everything). */
  setFilter(filter: FilterBuilder | undefined, family: 'ipv4' | 'ipv6' | undefined): void;
  delete(key: FlowKey): Promise<void>;
  close(): void;
}

/** The kernel's table (this host's or --netns). */
export class LiveSource implements TopSource {
  readonly canDelete = true;
  private filter: FilterBuilder | undefined;
  private family: 'ipv4' | 'ipv6' | undefined;
  private newEvents = 0;
  private destroyEvents = 0;
  private events: EventStream | undefined;
  private entries: number | undefined;
  private max: number | undefined;

  private constructor(private readonly ct: Conntrack, readonly label: string) {}

  /** Opens the socket and proves access with one request (ERR_CT_PERMISSION without privilege). */
  static async open(netns: string | undefined): Promise<LiveSource> {
    // Prove access on a small socket first: without privilege the large
    // buffers below would only add a warning before the real error.
    const probe = NetlinkSocket.open({ netns });
    try {
      await probe.request(statsRequest(probe.decoder.core, probe.nextSeq(), 'global'), undefined, { timeout: 5000 });
    } finally {
      probe.close();
    }
    const ct = await Conntrack.open({ netns, bufferSize: 16 << 20 });
    const src = new LiveSource(ct, netns ? `netns ${netns}` : 'this host');
    try {
      const c = await ct.count();
      src.entries = c.entries;
      src.max = c.maxEntries;
      src.listen();
    } catch (e) {
      ct.close();
      throw e;
    }
    return src;
  }

  // Only new and destroy: update events are the bulk of the traffic and
  // the counters come from the dumps anyway.
  private listen(): void {
    const ev = this.ct.events({ groups: ['new', 'destroy'], bufferSize: 8 << 20 });
    ev.on('batch', (b) => {
      for (let i = 0; i < b.size; i++) {
        const r = b.record(i);
        if (r.kind !== L.KIND_FLOW) continue;
        if (r.event === L.EVENT_NEW) this.newEvents++;
        else if (r.event === L.EVENT_DESTROY) this.destroyEvents++;
      }
    });
    ev.on('error', () => undefined); // counted as lost by overflow; the dumps go on
    this.events = ev;
  }

  setFilter(filter: FilterBuilder | undefined, family: 'ipv4' | 'ipv6' | undefined): void {
    this.filter = filter;
    this.family = family;
  }

  async refresh(table: FlowTable, now: number): Promise<void> {
    table.begin(now);
    await this.ct.dumpRecords({ family: this.family, filter: this.filter }, (rec) => {
      if (rec.kind === L.KIND_FLOW) table.upsert(rec);
    });
    table.end(true);
    const c = await this.ct.count();
    this.entries = c.entries;
    this.max = c.maxEntries;
  }

  takeStats(): SourceStats {
    const s: SourceStats = {
      entries: this.entries, max: this.max, newEvents: this.newEvents, destroyEvents: this.destroyEvents,
      lost: this.events?.overflows ?? 0, eventsKnown: true,
    };
    this.newEvents = 0;
    this.destroyEvents = 0;
    return s;
  }

  async delete(k: FlowKey): Promise<void> {
    const orig: TupleInput = {
      l3proto: k.family, protoNum: k.proto, src: k.src, dst: k.dst,
      srcPort: k.srcPort, dstPort: k.dstPort, icmpType: k.icmpType, icmpCode: k.icmpCode, icmpId: k.icmpId,
    };
    // by tuple and id: a recycled tuple (a new flow with the same ports) is not hit
    await this.ct.delete({ orig, id: k.id, zone: k.zone });
  }

  close(): void {
    this.events?.close();
    this.ct.close();
  }
}

/** Datagrams of a capture that are handled together: one dump, or one event datagram. */
interface Step {
  /** Capture time of the first datagram, seconds. */
  t: number;
  datagrams: Uint8Array[];
  /** A dump (replaces the table) rather than events (change it). */
  dump: boolean;
}

// Datagrams of one dump arrive within milliseconds; a longer gap starts a new step.
const DUMP_GAP = 0.2;

/**
 * A capture (pcap of ctnetlink datagrams) replayed at its recorded pace:
 * dumps replace the table, new/update events add or refresh flows, destroy
 * events remove them. At the end it starts over.
 */
export class ReplaySource implements TopSource {
  readonly canDelete = false;
  private readonly dec = new Decoder({ ctx0103: 'flow' });
  private next = 0;
  private t0 = 0; // wall clock of the start of this pass
  private newEvents = 0;
  private destroyEvents = 0;
  private filterSet = false;

  private constructor(private readonly steps: Step[], readonly label: string) {}

  static async open(path: string, label = `replay of ${path}`): Promise<ReplaySource> {
    const steps: Step[] = [];
    for await (const rec of readPcapFile(path)) {
      if (rec.protocol !== NETLINK_NETFILTER) continue;
      const t = rec.tsSec + rec.tsUsec / 1e6;
      const dump = isDumpPart(rec.data);
      const last = steps[steps.length - 1];
      const data = rec.data.slice(); // the reader reuses its buffer
      if (dump && last?.dump && t - last.t < DUMP_GAP) last.datagrams.push(data);
      else steps.push({ t, datagrams: [data], dump });
    }
    return new ReplaySource(steps, label);
  }

  setFilter(filter: FilterBuilder | undefined, family: 'ipv4' | 'ipv6' | undefined): void {
    let f = filter;
    if (family !== undefined) f = (f ?? new FilterBuilder()).family(family);
    this.dec.setFilter(f ? f.compile() : null);
    this.filterSet = f !== undefined;
    this.next = 0; // start over so the table is rebuilt under the filter
  }

  async refresh(table: FlowTable, now: number): Promise<void> {
    if (this.steps.length === 0) {
      table.begin(now);
      table.end(true);
      return;
    }
    // (re)start at the first dump: events before it have no table to change
    const first = Math.max(0, this.steps.findIndex((st) => st.dump));
    if (this.next >= this.steps.length || this.next === 0) {
      this.next = first;
      this.t0 = now - 1e-3;
    }
    const base = this.steps[first].t;
    let applied = false;
    while (this.next < this.steps.length && this.steps[this.next].t - base <= now - this.t0) {
      this.apply(this.steps[this.next++], table, base + (now - this.t0));
      applied = true;
    }
    if (!applied) {
      // nothing due: ages still advance
      table.begin(base + (now - this.t0));
      table.end(false);
    }
  }

  private apply(step: Step, table: FlowTable, now: number): void {
    table.begin(now);
    for (const d of step.datagrams) {
      this.dec.reset();
      this.dec.push(d, 0, false);
      for (let n = this.dec.decodeNext(); n > 0; n = this.dec.decodeNext()) {
        for (let i = 0; i < n; i++) {
          const r = this.dec.record(i);
          if (r.kind !== L.KIND_FLOW) continue;
          if (r.event === L.EVENT_DESTROY) {
            this.destroyEvents++;
            table.removeRecord(r);
            continue;
          }
          if (r.event === L.EVENT_NEW) this.newEvents++;
          table.upsert(r);
        }
      }
    }
    table.end(step.dump);
  }

  takeStats(): SourceStats {
    const s: SourceStats = { newEvents: this.newEvents, destroyEvents: this.destroyEvents, lost: 0, eventsKnown: true };
    this.newEvents = 0;
    this.destroyEvents = 0;
    return s;
  }

  get filtered(): boolean {
    return this.filterSet;
  }

  async delete(): Promise<void> {
    throw new Error('a replayed capture cannot be changed');
  }

  close(): void {
    // nothing held open: the capture was read at start
  }
}

/** A datagram whose first message is part of a dump reply (NLM_F_MULTI), not an event. */
function isDumpPart(d: Uint8Array): boolean {
  if (d.length < 16) return false;
  const flags = d[6] | (d[7] << 8);
  const seq = d[8] | (d[9] << 8) | (d[10] << 16) | (d[11] << 24);
  return (flags & 0x2) !== 0 || seq !== 0; // NLM_F_MULTI, or a reply to a request (events carry seq 0)
}
