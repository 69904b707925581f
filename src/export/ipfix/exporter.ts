// IpfixExporter: ExportFlow records in, IPFIX messages (RFC 7011) out to one
// collector over UDP or TCP.
//
// - Templates: one per record shape (family, NAT, flowDirection), allocated
//   from 256 up when first needed. UDP: a template goes out in the message
//   of its first record and all templates are resent every `templateRefresh`
//   seconds and/or `templateRefreshRecords` data records (a UDP collector
//   that restarts learns them again). TCP: all templates on every
//   connection, before anything else, and never twice on one connection.
// - Sequence Number (per observation domain): data records sent before the
//   message, mod 2^32, so a collector sees exactly how many records it missed.
// - Messages never exceed the MTU minus IP and transport headers.
// - Records wait at most `flushInterval` ms and are packed into full messages.
import * as net from 'net';
import EventEmitter from 'eventemitter3';
import { ConntrackError } from '../../errors';
import type { Conntrack } from '../../conntrack';
import type { ExportFlow } from '../flow';
import { FlowTracker, type FlowTrackerOptions } from '../tracker';
import { DOCUMENTATION_PEN, FIRST_TEMPLATE_ID } from './elements';
import { MessageWriter } from './message';
import { directionRecords, makeTemplate, shapeKey, type DirectionRecord, type Shape, type Template } from './template';
import { parseCollector, TcpTransport, UdpTransport, type TcpOptions, type Transport } from './transport';

/** Options of an {@link IpfixExporter}: the collector, transport, timeouts and template refresh. */
export interface IpfixExporterOptions {
  /** 'host:port' or '[ipv6]:port' of the collector. */
  collector: string;
  /** Default 'udp'. */
  transport?: 'udp' | 'tcp';
  /** Observation Domain ID in every message header (default 1). */
  observationDomainId?: number;
  /** Path MTU in bytes (default 1500): messages stay below it after IP/UDP/TCP headers. */
  mtu?: number;
  /** Seconds between active-timeout records of a long-lived flow (used by attach(); default 60). */
  activeTimeout?: number;
  /** UDP: resend all templates every this many seconds (default 60; 0 = never). */
  templateRefresh?: number;
  /** UDP: resend all templates after this many data records (default 0 = never). */
  templateRefreshRecords?: number;
  /** Private Enterprise Number of the conntrackMark / conntrackZone elements (default 32473, the documentation PEN). */
  enterpriseNumber?: number;
  /** Export 'start' records too (a record when a flow begins, zero counters). Default false. */
  exportStart?: boolean;
  /** Longest time a record waits to be packed into a message, ms (default 100). */
  flushInterval?: number;
  /** TCP: queue bound and reconnect backoff. */
  tcp?: TcpOptions;
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
}

/** Counters of an {@link IpfixExporter} since it was made, from `stats()`. */
export interface IpfixExporterStats {
  /** Data records handed to the socket. */
  recordsSent: number;
  /** Data records dropped (send error, TCP queue full, closed). */
  recordsDropped: number;
  /** IPFIX messages handed to the socket. */
  messagesSent: number;
  /** Bytes of those messages (IPFIX, without IP/UDP/TCP headers). */
  bytesSent: number;
  /** Template records sent (including refreshes). */
  templatesSent: number;
  /** Flows that produced no IPFIX record (no new packets). */
  flowsSkipped: number;
}

/** The events an {@link IpfixExporter} emits (EventEmitter3 event map). */
export interface IpfixExporterEvents {
  /** TCP: connected to the collector (the templates are sent first), for logs. */
  connect: () => void;
  /** TCP: the connection was lost; a reconnect is tried after `delayMs`. */
  disconnect: (info: { delayMs: number }) => void;
  /**
   * Reserved for failures to report: this version does not emit it (send
   * failures are counted in `recordsDropped`, TCP reconnects as 'disconnect').
   */
  error: (err: unknown) => void;
}

const IPV4_UDP = 20 + 8;
const IPV6_UDP = 40 + 8;
const IPV4_TCP = 20 + 20;
const IPV6_TCP = 40 + 20;

/**
 * Sends {@link ExportFlow} records as IPFIX (RFC 7011) to one collector over
 * UDP or TCP: one data record per direction, templates per record shape,
 * messages packed up to the path MTU. Feed it with `export()` or connect it to
 * a {@link Conntrack} with `attach()`; `close()` flushes. Events:
 * {@link IpfixExporterEvents}.
 */
export class IpfixExporter extends EventEmitter<IpfixExporterEvents> {
  /** Observation Domain ID of every message header. */
  readonly observationDomainId: number;
  /** Seconds between active-timeout records of a long-lived flow (attach()). */
  readonly activeTimeout: number;
  /** Largest IPFIX message in bytes: the MTU minus the IP and transport headers, at most 65535. */
  readonly maxMessageLength: number;
  private readonly transport: Transport;
  private readonly writer: MessageWriter;
  private readonly pen: number;
  private readonly templates = new Map<string, Template>();
  private readonly refreshRecords: number;
  private readonly exportStart: boolean;
  private readonly flushInterval: number;
  private readonly now: () => number;
  private sequence = 0;
  private sinceRefresh = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly counts: IpfixExporterStats = { recordsSent: 0, recordsDropped: 0, messagesSent: 0, bytesSent: 0, templatesSent: 0, flowsSkipped: 0 };

  constructor(opts: IpfixExporterOptions) {
    super();
    const to = parseCollector(opts.collector);
    const kind = opts.transport ?? 'udp';
    if (kind !== 'udp' && kind !== 'tcp') throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `transport must be 'udp' or 'tcp', not ${String(kind)}`);
    this.observationDomainId = checkUint(opts.observationDomainId ?? 1, 0xffffffff, 'observationDomainId');
    this.activeTimeout = checkPositive(opts.activeTimeout ?? 60, 'activeTimeout');
    const mtu = checkUint(opts.mtu ?? 1500, 65535 + IPV6_TCP, 'mtu');
    const v6 = net.isIPv6(to.host);
    const overhead = kind === 'udp' ? (v6 ? IPV6_UDP : IPV4_UDP) : (v6 ? IPV6_TCP : IPV4_TCP);
    this.maxMessageLength = Math.min(65535, mtu - overhead);
    this.pen = checkUint(opts.enterpriseNumber ?? DOCUMENTATION_PEN, 0xffffffff, 'enterpriseNumber');
    this.writer = new MessageWriter(this.maxMessageLength, this.pen);
    this.refreshRecords = checkUint(opts.templateRefreshRecords ?? 0, 0xffffffff, 'templateRefreshRecords');
    this.exportStart = opts.exportStart === true;
    this.flushInterval = checkUint(opts.flushInterval ?? 100, 3_600_000, 'flushInterval');
    this.now = opts.now ?? Date.now;
    this.transport = kind === 'udp' ? new UdpTransport(to) : new TcpTransport(to, opts.tcp);
    this.transport.on('sent', (records, bytes) => {
      this.counts.recordsSent += records;
      this.counts.messagesSent++;
      this.counts.bytesSent += bytes;
    });
    this.transport.on('dropped', (records) => (this.counts.recordsDropped += records));
    this.transport.on('connect', () => {
      this.transport.sendFirst?.(this.templateMessages());
      this.emit('connect');
    });
    this.transport.on('disconnect', (_e, delayMs) => this.emit('disconnect', { delayMs }));
    const refresh = checkUint(opts.templateRefresh ?? 60, 86400 * 365, 'templateRefresh');
    if (kind === 'udp' && refresh > 0) {
      this.refreshTimer = setInterval(() => this.refreshTemplates(), refresh * 1000);
      this.refreshTimer.unref();
    }
  }

  /** The transport in use, 'udp' or 'tcp'. */
  get transportKind(): 'udp' | 'tcp' {
    return this.transport.kind;
  }

  /** Counters since the start. */
  stats(): IpfixExporterStats {
    return { ...this.counts };
  }

  /** Queue a flow's records (up to two: original and reply direction). */
  export(flow: ExportFlow): void {
    if (this.closed) throw new ConntrackError('ERR_CT_CLOSED', 'the IPFIX exporter is closed');
    if (flow.event === 'start' && !this.exportStart) return;
    const recs = directionRecords(flow);
    if (recs.length === 0) this.counts.flowsSkipped++;
    for (const { shape, record } of recs) this.add(shape, record);
    if (!this.writer.empty && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), this.flushInterval);
    }
  }

  private add(shape: Shape, record: DirectionRecord): void {
    const t = this.templateFor(shape);
    if (this.writer.addRecord(t, record)) return;
    // full: the next message (the template went out with an earlier one)
    this.finishMessage();
    if (!this.writer.addRecord(t, record)) throw new Error('record does not fit an empty message');
  }

  private templateFor(shape: Shape): Template {
    const key = shapeKey(shape);
    const known = this.templates.get(key);
    if (known) return known;
    const t = makeTemplate(FIRST_TEMPLATE_ID + this.templates.size, shape);
    if (!this.writer.fitsAlone(t.templateLength + 4 + t.recordLength)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `mtu too small for an IPFIX template and record (${t.templateLength + t.recordLength} bytes)`);
    }
    this.templates.set(key, t);
    if (this.transport.kind === 'udp') {
      // in the message of its first record
      if (!this.writer.addTemplate(t)) {
        this.finishMessage();
        this.writer.addTemplate(t);
      }
      this.counts.templatesSent++;
    } else {
      // TCP: its own message, ahead of the data that uses it (templates already
      // go out on connect when the connection is down now)
      this.finishMessage();
      this.transport.sendFirst?.(this.templateMessages([t]));
    }
    return t;
  }

  /** Template-only messages for `list` (default: every template). */
  private templateMessages(list: Template[] = [...this.templates.values()]): Buffer[] {
    const out: Buffer[] = [];
    const writer = new MessageWriter(this.maxMessageLength, this.pen);
    for (const t of list) {
      if (!writer.addTemplate(t)) {
        out.push(writer.finish(this.header()));
        writer.addTemplate(t);
      }
      this.counts.templatesSent++;
    }
    if (!writer.empty) out.push(writer.finish(this.header()));
    return out;
  }

  private refreshTemplates(): void {
    if (this.closed || this.templates.size === 0) return;
    this.finishMessage();
    for (const m of this.templateMessages()) this.transport.send(m, 0);
    this.sinceRefresh = 0;
  }

  private header() {
    return { exportTime: Math.floor(this.now() / 1000), sequence: this.sequence, observationDomainId: this.observationDomainId };
  }

  private finishMessage(): void {
    if (this.writer.empty) return;
    const records = this.writer.records;
    const msg = this.writer.finish(this.header());
    this.sequence = (this.sequence + records) >>> 0;
    this.transport.send(msg, records);
    this.sinceRefresh += records;
    if (this.transport.kind === 'udp' && this.refreshRecords > 0 && this.sinceRefresh >= this.refreshRecords) this.refreshTemplates();
  }

  /** Send what is queued now. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.finishMessage();
  }

  /**
   * Export the flows of a Conntrack handle: a FlowTracker with this
   * exporter's activeTimeout whose records go here. Stop it with
   * `tracker.stop()` before close().
   */
  attach(ct: Conntrack, opts: Omit<FlowTrackerOptions, 'activeTimeout'> = {}): FlowTracker {
    const t = new FlowTracker(ct, { ...opts, activeTimeout: this.activeTimeout });
    t.on('flow', (f) => {
      if (!this.closed) this.export(f);
    });
    return t;
  }

  /** Data records sent so far in this observation domain (the next message's Sequence Number). */
  get sequenceNumber(): number {
    return this.sequence;
  }

  /** Flush and close the socket (UDP: after the last datagram left; TCP: after the stream ended). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.transport.close();
  }
}

function checkUint(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what} must be an integer in 0..${max}, not ${String(v)}`);
  }
  return v;
}

function checkPositive(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what} must be a positive number of seconds, not ${String(v)}`);
  }
  return v;
}
