// conntrack: Linux connection tracking (ctnetlink) for Node.js.
//
// This entry point exports the decoder, capture replay and formatters. The
// live-kernel API (Conntrack.open, dump, events, ...) arrives with the socket
// host; until then everything here works on captured traffic (pcap files of
// NETLINK_NETFILTER datagrams) and on bytes you receive yourself.

export * from './types';
export { ConntrackError, isConntrackError, type ConntrackErrorCode, type ConntrackErrorDetails } from './errors';
export { Decoder, decodeDatagram, type DecoderOptions, type DecoderCounters, type Ctx0103 } from './decoder';
export {
  Conntrack, invertTuple, conntrackTableList, conntrackTableFlush, conntrackDeleteFilter, conntrackDeleteFilters, ConntrackTable, ConntrackExpectTable,
  type OpenOptions, type DumpOptions, type Table,
} from './conntrack';
export { EventStream, type EventsOptions, type EventBatch, type EventStreamEvents } from './events';
export { encodeRequest, dumpRequest, statsRequest, parseAddress, type FlowInput, type TupleInput, type ExpectInput, type RequestHeader, type RequestBody } from './encode';
export { FilterBuilder, ConntrackFilter, ConntrackFilterType } from './filter';
export { planFilter, kernelCaps, explainText, describeCondition, type FilterPlan, type KernelFilter, type KernelCaps, type TupleFilter } from './plan';
export { RecordView } from './record';
export { FlowView, TupleView, CountersView } from './view';
export { toMessage } from './materialize';
export { replay, replayAll, replayRecords, type ReplayItem, type ReplayOptions, type RecordCallback } from './replay';
export {
  readPcapFile, readPcapBuffer, readPcapHeader, encodePcap, PcapWriter, LINKTYPE_NETLINK, ARPHRD_NETLINK, NETLINK_NETFILTER,
  type PcapRecord, type PcapHeader, type ReadPcapFileOptions, type PcapWriteOptions, type PcapEncodeRecord,
} from './pcap';
export * as format from './format';
/** Kernel numbers (uapi names) and the record layout, shared with the WASM decoder. */
export * as kernel from './generated/attrs';
export * as layout from './generated/layout';
export {
  ConnTrack, netlinkDialer, replayDialer, ManualListener, netbirdMarks, NETBIRD_FWMARK_BASE, ExponentialBackoff, acctSysctl,
  type ConnTrackOptions, type Clock, type LogLevel, type FlowDialer, type FlowListener, type FlowBatchHandler, type FlowBatchInfo,
  type NetlinkDialOptions, type ReplayDialOptions, type BackoffOptions, type SysctlAccess, type FlowEventFields, type FlowEventType,
  type FlowDirection, type FlowLogger, type FlowInterface, type InterfaceAddress, type FlowMarks,
} from './flowlog';
// Flow export: IPFIX (RFC 7011), NDJSON and Prometheus metrics (docs/export.md).
export { IpfixExporter, type IpfixExporterOptions, type IpfixExporterStats } from './export/ipfix/exporter';
export { FlowTracker, type FlowTrackerOptions, type FlowTrackerStats } from './export/tracker';
export { exportFlowOf, type ExportFlow, type ExportEndpoint, type ExportCounters, type ExportEvent, type ExportReason } from './export/flow';
export { exportFlowJson, exportFlowLine } from './export/json';
export { ConntrackMetrics, type MetricsOptions } from './export/metrics';
export { type ReconnectOptions } from './events';
export { planEvents, compileEventBpf, type EventPlan, type EventBpf, type BpfInsn } from './bpf';
export { exporterFlowLogger, type ExportSink, type ExporterFlowLoggerOptions } from './export/flowlogger';
// Event maps of the exporters' EventEmitters, so the API reference documents their events.
export { type IpfixExporterEvents } from './export/ipfix/exporter';
export { type FlowTrackerEvents } from './export/tracker';
