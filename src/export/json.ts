// NDJSON output of ExportFlow records (ctrack export --json): one JSON
// object per line, for log pipelines (Vector, Fluent Bit). Counters are
// numbers when they fit in 2^53 (always, in practice) and decimal strings
// beyond. Schema: docs/export.md.
import type { ExportCounters, ExportEndpoint, ExportFlow } from './flow';

const num = (v: bigint): number | string => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());

function counters(c: ExportCounters) {
  return { packets: num(c.packets), bytes: num(c.bytes) };
}

function endpoint(e: ExportEndpoint) {
  return { ...e };
}

/** The JSON object of one record (key order is part of the schema). */
export function exportFlowJson(f: ExportFlow): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'flow',
    event: f.event,
    id: f.id,
    family: f.family,
    protocol: f.protocol,
    orig: endpoint(f.orig),
    reply: endpoint(f.reply),
    nat: f.nat,
    delta: { orig: counters(f.delta.orig), reply: counters(f.delta.reply) },
    total: { orig: counters(f.total.orig), reply: counters(f.total.reply) },
    start: new Date(f.startMs).toISOString(),
    end: new Date(f.endMs).toISOString(),
  };
  if (f.reason !== undefined) o.reason = f.reason;
  if (f.zone !== undefined) o.zone = f.zone;
  if (f.mark !== undefined) o.mark = f.mark;
  if (f.direction !== undefined) o.direction = f.direction;
  return o;
}

/** One NDJSON line (with the newline). */
export function exportFlowLine(f: ExportFlow): string {
  return JSON.stringify(exportFlowJson(f)) + '\n';
}
