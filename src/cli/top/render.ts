// The text of the `ctrack top` screen: plain lines (the terminal layer adds
// colour and cursor moves), so the same code prints the not-a-TTY snapshot.
import { formatIPv4, formatIPv6 } from '../../format/address';
import { DCCP_STATES, SCTP_STATES, TCP_STATES, protoName } from '../../format/names';
import { NO_STATE, type FlowTable, type SortKey } from './table';

/** Everything on screen besides the flows. */
export interface ScreenState {
  label: string;
  intervalSec: number;
  sort: SortKey;
  ascending: boolean;
  filterText: string;
  paused: boolean;
  entries?: number;
  max?: number;
  newPerSec?: number;
  destroyedPerSec?: number;
  lost: number;
  /** A one-line message (errors, results, hints). */
  message?: string;
  /** Bottom line prompt (filter input, delete confirmation); replaces the key help. */
  prompt?: string;
  /** Index of the selected row among the visible ones. */
  selected: number;
  /** Clock text for the header. */
  clock: string;
}

export const ACCT_HINT = 'counters are off (nf_conntrack_acct=0), "-" for packets/bytes/rates: sysctl -w net.netfilter.nf_conntrack_acct=1 in the watched netns';
export const KEY_HELP = 'q quit  s/S sort/reverse  / filter  p pause  d delete  j/k or arrows move';

export function addrText(bytes: Uint8Array, off: number, family: number): string {
  return family === 10 ? formatIPv6(bytes, off) : formatIPv4(bytes, off);
}

function stateText(t: FlowTable, s: number): string {
  const st = t.state[s];
  if (st === NO_STATE) return '-';
  const p = t.proto[s];
  const names = p === 132 ? SCTP_STATES : p === 33 ? DCCP_STATES : TCP_STATES;
  return names[st] ?? String(st);
}

function endpoint(t: FlowTable, s: number, dst: boolean): string {
  const a = addrText(t.addr, s * 32 + (dst ? 16 : 0), t.family[s]);
  if (t.isIcmp(s)) return dst ? `${a} type=${t.dport[s] >> 8} id=${t.sport[s]}` : a;
  const port = dst ? t.dport[s] : t.sport[s];
  return t.family[s] === 10 ? `[${a}]:${port}` : `${a}:${port}`;
}

/** 1234 -> "1234", 12345 -> "12.3K", bytes and packets alike. */
export function human(n: number): string {
  if (n < 10000) return String(Math.round(n));
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + units[u];
}

export function ageText(sec: number): string {
  const s = Math.floor(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

function fit(s: string, w: number): string {
  if (s.length <= w) return s.padEnd(w);
  return w <= 1 ? s.slice(0, w) : '~' + s.slice(s.length - w + 1);
}

const NUM_COLS: [string, number][] = [
  ['STATE', 11], ['AGE', 7], ['TX PKTS', 8], ['TX BYTES', 9], ['RX PKTS', 8], ['RX BYTES', 9], ['RATE', 9],
];

/** Widths of the source and destination columns for a screen `cols` wide. */
function endpointWidth(cols: number): number {
  const fixed = 6 + 1 + 4 + NUM_COLS.reduce((a, [, w]) => a + w + 1, 0);
  return Math.max(15, Math.floor((cols - fixed) / 2));
}

export function columnHeader(cols: number): string {
  const w = endpointWidth(cols);
  let line = 'PROTO  ' + 'SOURCE'.padEnd(w) + ' -> ' + 'DESTINATION'.padEnd(w);
  NUM_COLS.forEach(([name, width], i) => {
    line += ' ' + (i === 0 ? name.padEnd(width) : name.padStart(width));
  });
  return line.slice(0, cols);
}

export function rowText(t: FlowTable, s: number, cols: number): string {
  const w = endpointWidth(cols);
  const c = t.hasCounters(s);
  const num = (v: number): string => (c ? human(v) : '-');
  const cells: string[] = [
    stateText(t, s), ageText(t.age(s)), num(t.pktO[s]), num(t.byteO[s]), num(t.pktR[s]), num(t.byteR[s]),
    t.hasRate(s) ? human(t.rate[s]) + '/s' : '-',
  ];
  let line = protoName(t.proto[s]).padEnd(6).slice(0, 6) + ' ' + fit(endpoint(t, s, false), w) + ' -> ' + fit(endpoint(t, s, true), w);
  NUM_COLS.forEach(([, width], i) => {
    line += ' ' + (i === 0 ? cells[i].padEnd(width) : cells[i].padStart(width));
  });
  return line.slice(0, cols);
}

function perSec(v: number | undefined): string {
  return v === undefined ? '-' : v.toFixed(1);
}

/** The header lines (HEADER_LINES of them, the last is the column header). */
export function headerLines(t: FlowTable, st: ScreenState, cols: number): string[] {
  const protos = [...t.perProto.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([p, n]) => `${protoName(p)} ${n}`).join('  ');
  const entries = st.entries !== undefined ? `${st.entries} entries` : `${t.size} entries`;
  const max = st.max !== undefined ? ` (max ${st.max})` : '';
  const lines = [
    `ctrack top - ${st.label} - ${st.clock} - every ${st.intervalSec}s${st.paused ? ' - PAUSED' : ''}`,
    `${entries}${max}  shown ${t.size}  new/s ${perSec(st.newPerSec)}  destroyed/s ${perSec(st.destroyedPerSec)}  events lost ${st.lost}`,
    `${protos || 'no flows'}`,
    `sort: ${st.sort} ${st.ascending ? 'ascending' : 'descending'}  filter: ${st.filterText || '(none)'}`,
    st.message ?? (t.countersMissing ? ACCT_HINT : ''),
  ];
  return [...lines.map((l) => l.slice(0, cols)), columnHeader(cols)];
}

/** The whole screen as plain lines: header, up to `rows` flows, the key line. */
export function screenLines(t: FlowTable, st: ScreenState, slots: number[], cols: number): string[] {
  const out = headerLines(t, st, cols);
  for (const s of slots) out.push(rowText(t, s, cols));
  return out;
}

export function footerLine(st: ScreenState, cols: number): string {
  return (st.prompt ?? KEY_HELP).slice(0, cols);
}
