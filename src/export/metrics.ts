// Prometheus metrics (prom-client): the table size and the kernel's per-CPU
// conntrack statistics read from ctnetlink at scrape time, plus the event
// and exporter counters of a FlowTracker / IpfixExporter. Names follow the
// Prometheus conventions: `conntrack_` prefix, counters end in `_total`.
import * as http from 'http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Conntrack } from '../conntrack';
import type { CpuStats } from '../types';
import type { IpfixExporter } from './ipfix/exporter';
import type { FlowTracker } from './tracker';

/** Per-CPU fields of IPCTNL_MSG_CT_GET_STATS_CPU (CTA_STATS_*) -> metric name part. */
const CPU_FIELDS: [keyof CpuStats, string, string][] = [
  ['found', 'found', 'CTA_STATS_FOUND: lookups that found an entry'],
  ['invalid', 'invalid', 'CTA_STATS_INVALID: packets conntrack could not track'],
  ['insert', 'insert', 'CTA_STATS_INSERT: entries inserted'],
  ['insertFailed', 'insert_failed', 'CTA_STATS_INSERT_FAILED: inserts that failed (clash)'],
  ['drop', 'drop', 'CTA_STATS_DROP: packets dropped for a failed insert'],
  ['earlyDrop', 'early_drop', 'CTA_STATS_EARLY_DROP: entries evicted early because the table was full'],
  ['error', 'error', 'CTA_STATS_ERROR: ICMP errors that did not match an entry'],
  ['searchRestart', 'search_restart', 'CTA_STATS_SEARCH_RESTART: hash lookups restarted after a table resize'],
  ['clashResolve', 'clash_resolve', 'CTA_STATS_CLASH_RESOLVE: insert clashes resolved'],
  ['chainToolong', 'chain_toolong', 'CTA_STATS_CHAIN_TOOLONG: inserts refused for a too long hash chain'],
];

/** Options of {@link ConntrackMetrics}: the registry, and the components whose counters to expose too. */
export interface MetricsOptions {
  /** Registry to register in (default a new one). */
  registry?: Registry;
  /** Also expose this tracker's event and flow counters (`conntrack_events_total`, ...). */
  tracker?: FlowTracker;
  /** Also expose this exporter's counters (`conntrack_exporter_*`). */
  exporter?: IpfixExporter;
}

/** Set a counter to an absolute value read elsewhere (kernel or component counters). */
function setCounter<T extends string>(c: Counter<T>, labels: Partial<Record<T, string>> | undefined, v: number): void {
  if (labels) c.inc(labels, v);
  else c.inc(v);
}

/**
 * Prometheus metrics (prom-client) of a {@link Conntrack} handle: the table
 * size and the kernel's per-CPU conntrack statistics, read over ctnetlink at
 * scrape time, plus the counters of an optional {@link FlowTracker} and
 * {@link IpfixExporter}. Names carry the `conntrack_` prefix; counters end in
 * `_total`. Read them with `metrics()` or serve them with `serve()`.
 */
export class ConntrackMetrics {
  /** The prom-client registry the metrics are registered in. */
  readonly registry: Registry;

  constructor(private readonly ct: Conntrack, opts: MetricsOptions = {}) {
    const registers = [(this.registry = opts.registry ?? new Registry())];
    const self = this;
    new Gauge({
      name: 'conntrack_entries', help: 'Entries in the conntrack table (CTA_STATS_GLOBAL_ENTRIES)', registers,
      async collect() {
        this.set((await self.count()).entries);
      },
    });
    new Gauge({
      name: 'conntrack_max', help: 'Maximum entries of the conntrack table (CTA_STATS_GLOBAL_MAX_ENTRIES, nf_conntrack_max)', registers,
      async collect() {
        this.set((await self.count()).maxEntries);
      },
    });
    for (const [field, name, help] of CPU_FIELDS) {
      new Counter({
        name: `conntrack_stat_${name}_total`, help: `${help} (per CPU)`, labelNames: ['cpu'], registers,
        async collect() {
          this.reset();
          for (const s of await self.cpuStats()) {
            const v = s[field];
            if (typeof v === 'number') setCounter(this, { cpu: String(s.cpu) }, v);
          }
        },
      });
    }
    const t = opts.tracker;
    if (t) {
      new Counter({
        name: 'conntrack_events_total', help: 'Conntrack events received, by type', labelNames: ['type'], registers,
        collect() {
          this.reset();
          for (const [type, n] of Object.entries(t.stats().events)) setCounter(this, { type }, n);
        },
      });
      const simple: [string, string, () => number][] = [
        ['conntrack_event_overruns_total', 'Event socket overruns (ENOBUFS): the kernel dropped events (how many is unknown)', () => t.stats().overflows],
        ['conntrack_resyncs_total', 'Table dumps taken to resynchronize after an overrun', () => t.stats().resyncs],
        ['conntrack_decode_errors_total', 'Malformed ctnetlink messages the decoder refused', () => t.stats().decodeErrors],
        ['conntrack_flows_vanished_total', 'Flows that left the table without a DESTROY event (lost in an overrun)', () => t.stats().vanished],
      ];
      for (const [name, help, get] of simple) this.counter(name, help, get);
      new Counter({
        name: 'conntrack_flow_records_total', help: 'Flow records produced, by event (start, update = active timeout, end)', labelNames: ['event'], registers,
        collect() {
          this.reset();
          for (const [event, n] of Object.entries(t.stats().flows)) setCounter(this, { event }, n);
        },
      });
    }
    const e = opts.exporter;
    if (e) {
      this.counter('conntrack_exporter_records_sent_total', 'IPFIX data records sent to the collector', () => e.stats().recordsSent);
      this.counter('conntrack_exporter_records_dropped_total', 'IPFIX data records dropped (send errors, TCP queue full)', () => e.stats().recordsDropped);
      this.counter('conntrack_exporter_messages_sent_total', 'IPFIX messages sent', () => e.stats().messagesSent);
      this.counter('conntrack_exporter_bytes_sent_total', 'Bytes of IPFIX messages sent', () => e.stats().bytesSent);
      this.counter('conntrack_exporter_templates_sent_total', 'IPFIX template records sent (including refreshes)', () => e.stats().templatesSent);
    }
  }

  private counter(name: string, help: string, get: () => number): void {
    new Counter({
      name, help, registers: [this.registry],
      collect() {
        this.reset();
        setCounter(this, undefined, get());
      },
    });
  }

  // One kernel request per scrape even though two gauges need it.
  private countP: Promise<{ entries: number; maxEntries: number }> | undefined;
  private statsP: Promise<CpuStats[]> | undefined;

  private count(): Promise<{ entries: number; maxEntries: number }> {
    return (this.countP ??= this.ct.count().finally(() => setImmediate(() => (this.countP = undefined))));
  }

  private cpuStats(): Promise<CpuStats[]> {
    return (this.statsP ??= this.ct.stats().finally(() => setImmediate(() => (this.statsP = undefined))));
  }

  /** The text exposition format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serve GET /metrics on host:port (port 0: any free port). */
  async serve(port: number, host = '0.0.0.0'): Promise<http.Server> {
    const srv = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text),
        (err) => res.writeHead(500).end(`${(err as Error).message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => resolve());
    });
    return srv;
  }
}
