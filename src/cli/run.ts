// Executes a parsed ctrack command. Output goes through a small buffered
// writer (one write per ~64 KiB, not per line); the summary goes to stderr
// the way conntrack-tools prints it.
import { ConntrackError } from '../errors';
import { replayRecords } from '../replay';
import { decodeError, toMessage } from '../materialize';
import * as L from '../generated/layout';
import type { Ctx0103 } from '../decoder';
import {
  formatCountText, formatCpuStatsText, formatExpectStatsText, formatExpectText, formatFlowText,
  formatExpectXml, formatFlowXml, formatMessageJson, formatOperationFailed, formatSummary,
  tryLoadLabelMap, xmlDocumentHeader, xmlDocumentFooter,
  type SummaryCommand, type LabelMap,
} from '../format';
import type { CliArgs } from './args';
import type { Message } from '../types';

/** Buffered text sink; flushes when large and at the end. */
export class Output {
  private buf = '';
  constructor(private readonly write: (s: string) => void) {}
  line(s: string): void {
    this.buf += s + '\n';
    if (this.buf.length >= 65536) this.flush();
  }
  flush(): void {
    if (this.buf.length > 0) {
      this.write(this.buf);
      this.buf = '';
    }
  }
}

export interface RunIo {
  out: Output;
  err: (line: string) => void;
}

function summaryCommand(a: CliArgs): SummaryCommand {
  const expect = a.table === 'expect';
  switch (a.command) {
    case 'list': return expect ? 'expect-list' : 'list';
    case 'get': return expect ? 'expect-get' : 'get';
    case 'event': return expect ? 'expect-event' : 'event';
    case 'stats': return expect ? 'expect-stats' : 'stats';
    case 'count': return expect ? 'expect-count' : 'count';
  }
}

function loadLabels(a: CliArgs, io: RunIo): LabelMap | undefined {
  if (!a.output.has('labels')) return undefined;
  const r = tryLoadLabelMap(a.labelsFile);
  if (r.warning) io.err(r.warning);
  return r.map;
}

/** Runs a command over a capture. Returns the exit code. */
export async function runReplay(a: CliArgs, io: RunIo): Promise<number> {
  const file = a.replay as string;
  const o = a.output;
  const labels = loadLabels(a, io);
  const ctx0103: Ctx0103 = a.command === 'stats' && a.table === 'expect' ? 'exp-stats' : 'guess';
  const xml = o.has('xml');
  const json = o.has('json');
  const isEvent = a.command === 'event';
  const wantExpect = a.table === 'expect';
  let shown = 0;
  let failed = false;
  // conntrack prints the XML header before the first entry only, and the
  // footer only when a header was printed (an empty dump prints nothing).
  const root = wantExpect ? 'expect' : 'conntrack';
  let xmlOpen = false;
  const entry = (line: string): void => {
    if (line === '') return; // the library gives up on entries without an L4 protocol
    if (xml && !xmlOpen) {
      io.out.line(xmlDocumentHeader(root).replace(/\n$/, ''));
      xmlOpen = true;
    }
    io.out.line(line);
    shown++;
  };

  const show = (m: Message, tsSec: number, tsUsec: number): void => {
    if (m.kind === 'error') {
      if (m.errno !== 0) {
        failed = true;
        io.out.flush();
        io.err(formatOperationFailed(m.errno, summaryCommand(a)));
      }
      return;
    }
    if (json) {
      if (selected(m)) entry(formatMessageJson(m, { labels }));
      return;
    }
    switch (m.kind) {
      case 'flow':
        if (wantExpect || (a.command !== 'list' && a.command !== 'get' && !isEvent)) return;
        if (isEvent && !m.event) return;
        if (xml) {
          // <when> only on events (NFCT_OF_TIME is set by -E -o timestamp, not by -L)
          entry(formatFlowXml(m, { event: isEvent, ktimestamp: o.has('ktimestamp'), labels, now: tsSec, when: isEvent && o.has('timestamp') ? tsSec : undefined, userspace: isEvent }));
        } else {
          entry(formatFlowText(m, {
            layer3: o.has('extended'), id: o.has('id'), ktimestamp: o.has('ktimestamp'), labels,
            event: isEvent, now: tsSec, timestampPrefix: isEvent && o.has('timestamp') ? { sec: tsSec, usec: tsUsec } : undefined,
            userspace: isEvent,
          }));
        }
        return;
      case 'expect':
        if (!wantExpect || !(a.command === 'list' || a.command === 'get' || isEvent)) return;
        if (xml) entry(formatExpectXml(m, { event: isEvent, when: o.has('timestamp') ? tsSec : undefined }));
        else entry(formatExpectText(m, { event: isEvent, timestampPrefix: o.has('timestamp') ? { sec: tsSec, usec: tsUsec } : undefined }));
        return;
      case 'stats-cpu':
        if (a.command === 'stats' && !wantExpect) io.out.line(formatCpuStatsText(m));
        return;
      case 'stats-exp':
        if (a.command === 'stats' && wantExpect) io.out.line(formatExpectStatsText(m));
        return;
      case 'stats-global':
        if (a.command === 'count') {
          const t = formatCountText(m);
          if (t !== undefined) io.out.line(t);
        }
        return;
      default:
        return;
    }
  };

  // Which messages -o json prints for each command.
  function selected(m: Message): boolean {
    switch (a.command) {
      case 'list': case 'get': return wantExpect ? m.kind === 'expect' : m.kind === 'flow';
      case 'event': return wantExpect ? m.kind === 'expect' && !!m.event : m.kind === 'flow' && !!m.event;
      case 'stats': return wantExpect ? m.kind === 'stats-exp' : m.kind === 'stats-cpu';
      case 'count': return m.kind === 'stats-global';
    }
  }

  // Flows are formatted straight from the record through the lazy FlowView:
  // no object per entry. Everything else is rare and materialized.
  await replayRecords(file, (rec, tsSec, tsUsec) => {
    if (rec.kind === L.KIND_BAD) throw decodeError(rec);
    show(rec.kind === L.KIND_FLOW ? rec.flow() : toMessage(rec), tsSec, tsUsec);
  }, { ctx0103 });
  if (xmlOpen) io.out.line(xmlDocumentFooter(root).replace(/\n$/, ''));
  io.out.flush();
  if (failed) return 1;
  const cmd = summaryCommand(a);
  const s = formatSummary(cmd, shown);
  if (s === undefined) return 0;
  io.err(s);
  // conntrack's print_stats(): a summary of zero entries exits 1, except for listings
  return shown === 0 && cmd !== 'list' && cmd !== 'expect-list' ? 1 : 0;
}

/** Live kernel access arrives with the socket host; say so plainly. */
export function runLive(_a: CliArgs, io: RunIo): number {
  io.err('ctrack: reading the live kernel table is not available in this version yet; use --replay FILE.pcap');
  return 1;
}

export function errorLine(e: unknown): string {
  if (e instanceof ConntrackError) return `ctrack: ${e.message} [${e.code}]`;
  return `ctrack: ${(e as Error).message ?? String(e)}`;
}
