// The flow logger: netbird's conntrack flow tracker for Node.js.
export { ConnTrack, type ConnTrackOptions, type Clock, type LogLevel } from './tracker';
export { netlinkDialer, replayDialer, ManualListener, type FlowDialer, type FlowListener, type FlowBatchHandler, type FlowBatchInfo, type NetlinkDialOptions, type ReplayDialOptions } from './listener';
export { netbirdMarks, NETBIRD_FWMARK_BASE } from './marks';
export { ExponentialBackoff, type BackoffOptions } from './backoff';
export { acctSysctl, type SysctlAccess } from './accounting';
export type { FlowEventFields, FlowEventType, FlowDirection, FlowLogger, FlowInterface, InterfaceAddress, FlowMarks } from './types';
