// The flow logger feeding the exporters: a FlowLogger (src/flowlog) whose
// storeEvent turns netbird-style flow events into ExportFlow records, so
// IPFIX and NDJSON carry what only the flow logger knows: the direction
// relative to the interface (IPFIX flowDirection) and the flow id.
//
// What a flow event cannot say, and how it is filled:
// - the reply tuple: the mirror of the original one (a flow logger event has
//   no NAT view), so `nat` is false;
// - counters: the logger maps them to rx/tx by direction; they are mapped
//   back (ingress: rx = original direction; egress/unknown: rx = reply), and
//   an end record's deltas are its totals (the start event carries none);
// - the end reason: end-of-flow for TCP, idle-timeout otherwise (conntrack's
//   DESTROY event says neither, and the logger drops the TCP state);
// - times: the start record's arrival, and the end record's arrival.
import type { FlowEventFields, FlowLogger } from '../flowlog/types';
import type { ExportEndpoint, ExportFlow } from './flow';

/** Where the records go: an IpfixExporter, or anything with export(). */
export interface ExportSink {
  /** Take one export record (called synchronously for each flow event). */
  export(flow: ExportFlow): void;
}

/** Options of exporterFlowLogger(). */
export interface ExporterFlowLoggerOptions {
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
  /** Flows whose start is remembered until their end (oldest forgotten first). Default 1,000,000. */
  maxOpen?: number;
}

const IPPROTO_TCP = 6;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

function endpoints(f: FlowEventFields): { orig: ExportEndpoint; reply: ExportEndpoint } {
  if (f.protocol === IPPROTO_ICMP || f.protocol === IPPROTO_ICMPV6) {
    return {
      orig: { src: f.sourceIp, dst: f.destIp, icmpType: f.icmpType, icmpCode: f.icmpCode },
      reply: { src: f.destIp, dst: f.sourceIp },
    };
  }
  if (f.sourcePort === 0 && f.destPort === 0) {
    return { orig: { src: f.sourceIp, dst: f.destIp }, reply: { src: f.destIp, dst: f.sourceIp } };
  }
  return {
    orig: { src: f.sourceIp, dst: f.destIp, srcPort: f.sourcePort, dstPort: f.destPort },
    reply: { src: f.destIp, dst: f.sourceIp, srcPort: f.destPort, dstPort: f.sourcePort },
  };
}

/**
 * A FlowLogger for `new ConnTrack(logger, iface)` that exports every flow
 * event to `sink` (an IpfixExporter: start records only with its
 * `exportStart`; end records always). Returns the logger.
 */
export function exporterFlowLogger(sink: ExportSink, opts: ExporterFlowLoggerOptions = {}): FlowLogger {
  const now = opts.now ?? Date.now;
  const maxOpen = opts.maxOpen ?? 1_000_000;
  const started = new Map<string, number>(); // flow id -> start ms
  return {
    storeEvent(f: FlowEventFields): void {
      const t = now();
      if (f.type === 'start') {
        if (started.size >= maxOpen) started.delete(started.keys().next().value as string);
        started.set(f.flowId, t);
      }
      const startMs = started.get(f.flowId) ?? t;
      if (f.type === 'end') started.delete(f.flowId);
      const ingress = f.direction === 'ingress';
      const orig = { packets: ingress ? f.rxPackets : f.txPackets, bytes: ingress ? f.rxBytes : f.txBytes };
      const reply = { packets: ingress ? f.txPackets : f.rxPackets, bytes: ingress ? f.txBytes : f.rxBytes };
      const { orig: o, reply: r } = endpoints(f);
      const flow: { -readonly [K in keyof ExportFlow]: ExportFlow[K] } = {
        event: f.type,
        id: f.conntrackId,
        family: f.sourceIp.includes(':') ? 'ipv6' : 'ipv4',
        protocol: f.protocol,
        orig: o,
        reply: r,
        nat: false,
        total: { orig, reply },
        delta: { orig, reply },
        startMs,
        endMs: Math.max(t, startMs),
      };
      if (f.type === 'end') flow.reason = f.protocol === IPPROTO_TCP ? 'end-of-flow' : 'idle-timeout';
      if (f.direction !== 'unknown') flow.direction = f.direction;
      sink.export(flow);
    },
  };
}
