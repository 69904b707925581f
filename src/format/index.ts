// Output formatters: conntrack-tools 1.4.7 compatible text and XML, our
// NDJSON, statistics lines, stderr summaries, connlabel.conf.

export { formatIPv4, formatIPv6 } from './address';
export {
  AF_INET, AF_INET6, DCCP_STATES, EXPECT_FLAG_NAMES, SCTP_STATES, STATUS_FLAG_NAMES, TCP_STATES,
  dccpStateName, expectFlagNames, flagNames, l3protoName, protoName, sctpStateName, statusFlagNames,
  tcpStateName, xmlStateName,
} from './names';
export {
  DEFAULT_CONNLABEL_PATH, MAX_LABEL_BITS, formatLabelsText, formatLabelsXml, labelBit, labelBits, loadLabelMap,
  parseLabelMap, tryLoadLabelMap, type LabelMap, type LabelMapLoadResult,
} from './labels';
export { ctimeText, expectEventPrefix, flowEventPrefix, type TimeVal } from './time';
export { formatExpectText, formatFlowText, type ExpectTextOptions, type TextOptions } from './text';
export {
  formatExpectXml, formatFlowXml, xmlDocumentFooter, xmlDocumentHeader, type ExpectXmlOptions, type XmlOptions,
} from './xml';
export {
  formatCpuStatsJson, formatExpectJson, formatExpectStatsJson, formatFlowJson, formatGlobalStatsJson,
  formatMessageJson, type JsonOptions,
} from './json';
export { formatCountText, formatCpuStatsText, formatExpectStatsText } from './stats';
export {
  DEFAULT_PROGRAM, errorText, formatOperationFailed, formatSummary, strerror, type SummaryCommand,
} from './summary';
export { FAST_TEXT_FORMATS, FastFlowText, fastTextSupported, type ByteSink, type FastTextOptions } from './fast';
