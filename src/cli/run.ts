// Executes a parsed ctrack command. Output goes through a small buffered
// writer (one write per ~64 KiB, not per line); the summary goes to stderr
// the way conntrack-tools prints it.
import { ConntrackError } from '../errors';
import { decodeError, toMessage } from '../materialize';
import * as L from '../generated/layout';
import * as A from '../generated/attrs';
import { Conntrack } from '../conntrack';
import { entry, expectation, labelChange, labelResolver, origTuple, cliFilter } from './flags';
import { FilterBuilder } from '../filter';
import { planFilter, explainText, kernelCaps } from '../plan';
import { NetlinkSocket } from '../socket';
import type { RecordView } from '../record';
import type { Ctx0103, Decoder } from '../decoder';
import type { PcapWriter } from '../pcap';
import { formatCountText, formatCpuStatsText, formatExpectStatsText } from '../format/stats';
import { formatExpectText, formatFlowText } from '../format/text';
import { formatOperationFailed, formatSummary, type SummaryCommand } from '../format/summary';
import { tryLoadLabelMap, type LabelMap } from '../format/labels';
import type { CliArgs } from './args';
import type { Flow, Message } from '../types';
import { FastFlowText, fastTextSupported } from '../format/fast';
import { progress } from './progress';
// Loaded by the commands that need them, not by every `ctrack -L`: capture
// replay and writing (--replay, -E --write), event BPF plans (-E), the XML
// and JSON formatters (-o xml / -o json), /proc program names (-E).
// Each module is required once, on first use.
function once<T>(load: () => T): () => T {
  let m: T | undefined;
  return () => (m ??= load());
}
const lazy = {
  replay: once(() => require('../replay') as typeof import('../replay')),
  pcap: once(() => require('../pcap') as typeof import('../pcap')),
  bpf: once(() => require('../bpf') as typeof import('../bpf')),
  xml: once(() => require('../format/xml') as typeof import('../format/xml')),
  json: once(() => require('../format/json') as typeof import('../format/json')),
  progname: once(() => require('./progname') as typeof import('./progname')),
};

/** Buffered text sink; flushes when large and at the end. */
export class Output {
  private buf = '';
  /** `writeBytes` (optional) takes text already encoded as UTF-8; without it bytes are decoded and go to `write`. */
  constructor(private readonly write: (s: string) => void, private readonly writeBytes?: (b: Uint8Array) => void) {}
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
  /** UTF-8 text (whole lines) after what is buffered; `b` may be reused once this returns. */
  bytes(b: Uint8Array): void {
    this.flush();
    if (this.writeBytes) this.writeBytes(b);
    else this.write(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'));
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
    case 'create': return expect ? 'expect-create' : 'create';
    case 'flush': return expect ? 'expect-flush' : 'flush';
    case 'delete': return expect ? 'expect-delete' : 'delete';
    case 'update': return 'update';
  }
}

function loadLabels(a: CliArgs, io: RunIo): LabelMap | undefined {
  if (!a.output.has('labels')) return undefined;
  const r = tryLoadLabelMap(a.labelsFile);
  if (r.warning) io.err(r.warning);
  return r.map;
}

/**
 * Prints what one command shows, from any source (a capture or the kernel):
 * `show` takes each message with its receive time, `finish` prints the
 * footer and summary and returns the exit code.
 */
interface Printer {
  show(m: Message, tsSec: number, tsUsec: number): void;
  finish(): number;
  /** Entries printed elsewhere (the WASM text path), for the summary. */
  count(n: number): void;
}

function makePrinter(a: CliArgs, io: RunIo, progname?: (portid: number) => string | undefined): Printer {
  const o = a.output;
  const labels = loadLabels(a, io);
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
      io.out.line(lazy.xml().xmlDocumentHeader(root).replace(/\n$/, ''));
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
      if (selected(m)) entry(lazy.json().formatMessageJson(m, { labels }));
      return;
    }
    switch (m.kind) {
      case 'flow':
        if (wantExpect || (a.command !== 'list' && a.command !== 'get' && !isEvent)) return;
        if (isEvent && !m.event) return;
        if (xml) {
          // <when> only on events (NFCT_OF_TIME is set by -E -o timestamp, not by -L)
          entry(lazy.xml().formatFlowXml(m, { event: isEvent, ktimestamp: o.has('ktimestamp'), labels, now: tsSec, when: isEvent && o.has('timestamp') ? tsSec : undefined, userspace: isEvent, progname }));
        } else {
          entry(formatFlowText(m, {
            layer3: o.has('extended'), id: o.has('id'), ktimestamp: o.has('ktimestamp'), labels,
            event: isEvent, now: tsSec, timestampPrefix: isEvent && o.has('timestamp') ? { sec: tsSec, usec: tsUsec } : undefined,
            userspace: isEvent, progname,
          }));
        }
        return;
      case 'expect':
        if (!wantExpect || !(a.command === 'list' || a.command === 'get' || isEvent)) return;
        if (xml) entry(lazy.xml().formatExpectXml(m, { event: isEvent, when: o.has('timestamp') ? tsSec : undefined }));
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
      default: return false;
    }
  }

  const finish = (): number => {
    if (xmlOpen) io.out.line(lazy.xml().xmlDocumentFooter(root).replace(/\n$/, ''));
    io.out.flush();
    if (failed) return 1;
    const cmd = summaryCommand(a);
    const s = formatSummary(cmd, shown);
    if (s === undefined) return 0;
    io.err(s);
    // conntrack's print_stats(): a summary of zero entries exits 1, except for listings
    return shown === 0 && cmd !== 'list' && cmd !== 'expect-list' ? 1 : 0;
  };
  return { show, finish, count: (n: number) => void (shown += n) };
}

/** A decoded record as the printer wants it: flows through the lazy view (no object), the rest materialized. */
function asMessage(rec: RecordView): Message {
  if (rec.kind === L.KIND_BAD) throw decodeError(rec);
  return rec.kind === L.KIND_FLOW ? rec.flow() : toMessage(rec);
}

/** By EVENT_*: whether -e leaves that kind of flow event out; undefined without -e. */
function eventSkipper(a: CliArgs): boolean[] | undefined {
  if (a.command !== 'event' || a.eventMask === undefined) return undefined;
  const skip: boolean[] = [];
  skip[L.EVENT_NEW] = !a.eventMask.includes('new');
  skip[L.EVENT_UPDATE] = !a.eventMask.includes('update');
  skip[L.EVENT_DESTROY] = !a.eventMask.includes('destroy');
  return skip;
}

/** Runs a command over a capture. Returns the exit code. */
export async function runReplay(a: CliArgs, io: RunIo): Promise<number> {
  const ctx0103: Ctx0103 = a.command === 'stats' && a.table === 'expect' ? 'exp-stats' : 'guess';
  const p = makePrinter(a, io);
  // -L filter flags and -f apply to a capture too (in WASM; nothing to push down)
  let filter: Uint8Array | undefined;
  if (a.command === 'list' || a.command === 'event') {
    const b = cliFilter(a);
    if (a.family !== undefined) filter = (b ?? new FilterBuilder()).family(a.family).compile();
    else filter = b?.compile();
  }
  const fast = fastFlowLines(a, io, p);
  const prog = progress(`${a.replay}: reading`, 'messages');
  // -e on a captured event stream: the events of the other kinds are skipped
  // (live, the socket does not join their groups)
  const skipEvent = eventSkipper(a);
  try {
    await lazy.replay().replayRecords(a.replay as string, (rec, tsSec, tsUsec) => {
      prog.add();
      if (skipEvent && rec.kind === L.KIND_FLOW && skipEvent[rec.event]) return;
      if (fast && rec.kind === L.KIND_FLOW) return fast.add(rec, tsSec);
      fast?.flush();
      p.show(asMessage(rec), tsSec, tsUsec);
    }, { ctx0103, filter });
  } finally {
    fast?.flush();
    prog.done();
  }
  return p.finish();
}

/** Wall clock as conntrack reads it: seconds (time()) and microseconds (gettimeofday()). */
function wallClock(): { sec: number; usec: number } {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return { sec: Math.floor(us / 1e6), usec: us % 1e6 };
}

/** Runs a command against the kernel (in --netns if given). Returns the exit code. */
export async function runLive(a: CliArgs, io: RunIo, signals: LiveSignals = processSignals): Promise<number> {
  if (a.explain) return runExplain(a, io);
  if (a.command === 'event') return runEvents(a, io, signals);
  if (a.command === 'create' || a.command === 'flush' || a.command === 'get') return runWrite(a, io);
  if (a.command === 'delete' && a.table === 'expect') return runWrite(a, io);
  if (a.command === 'delete') return runDelete(a, io);
  if (a.command === 'update') return runUpdate(a, io);
  const p = makePrinter(a, io);
  const ct = await Conntrack.open({ netns: a.netns });
  try {
    if (a.command === 'list') {
      const now = wallClock();
      // -f goes to the kernel (nfgen_family); the filter flags are planned:
      // what the kernel can evaluate goes into the dump request, all run in WASM
      const filter = cliFilter(a);
      const fast = fastFlowLines(a, io, p);
      const prog = progress('-L: dumping', 'entries');
      try {
        await ct.dumpRecords({ table: a.table, family: a.family, filter, zeroCounters: a.zero === true },
          fast ? (rec) => (prog.add(), fast.add(rec, now.sec)) : (rec) => (prog.add(), p.show(asMessage(rec), now.sec, now.usec)));
      } finally {
        fast?.flush();
        prog.done();
      }
    } else if (a.command === 'stats') {
      const now = wallClock();
      const stats = a.table === 'expect' ? await ct.expectStats() : await ct.stats();
      for (const s of stats) p.show(s, now.sec, now.usec);
    } else if (a.command === 'count') {
      const c = await ct.count();
      io.out.line(String(a.table === 'expect' ? await expectCount(ct) : c.entries));
    }
  } finally {
    ct.close();
  }
  return p.finish();
}

/**
 * -I, -G, -F against the kernel. Kernel refusals print conntrack's
 * "Operation failed: ..." line and exit 1, like the real tool.
 */
async function runWrite(a: CliArgs, io: RunIo): Promise<number> {
  const ct = await Conntrack.open({ netns: a.netns });
  const cmd = summaryCommand(a);
  try {
    if (a.command === 'get' && a.table === 'expect') {
      // -s -d -p and the ports (or ICMP fields) are the expected tuple, as for conntrack -G expect
      const p = makePrinter(a, io);
      const e = await ct.getExpect(origTuple(a.entry));
      const now = wallClock();
      p.show(e, now.sec, now.usec);
      return p.finish();
    } else if (a.command === 'delete') {
      // -D expect: by the expected tuple. conntrack counts nothing here and so
      // says "0 expectations have been shown." and exits 1 even when it deleted one
      await ct.deleteExpect(origTuple(a.entry));
      io.err(formatSummary(cmd, 0) as string);
      return 1;
    } else if (a.command === 'create' && a.table === 'expect') {
      // like conntrack -I expect: nothing printed on success
      await ct.createExpect(expectation(a.entry));
    } else if (a.command === 'create') {
      await ct.create(entry(a.entry));
      io.err(formatSummary(cmd, 1) as string);
    } else if (a.command === 'get') {
      const p = makePrinter(a, io);
      const zone = a.entry.zone !== undefined ? entry(a.entry).zone : undefined;
      const f = await ct.get(origTuple(a.entry), { zone });
      const now = wallClock();
      p.show(f, now.sec, now.usec);
      return p.finish();
    } else if (a.table === 'expect') {
      const prog = progress('-F: flushing the expectation table', '');
      await ct.flushExpect({ family: a.family }).finally(() => prog.done());
      io.err(formatSummary(cmd, 0) as string);
    } else {
      const prog = progress('-F: flushing', '');
      await ct.flush({ family: a.family }).finally(() => prog.done());
      io.err(formatSummary(cmd, 0) as string);
    }
    return 0;
  } catch (e) {
    if (e instanceof ConntrackError && e.errno !== undefined && ['ERR_CT_NOT_FOUND', 'ERR_CT_EXISTS', 'ERR_CT_KERNEL'].includes(e.code)) {
      io.err(formatOperationFailed(e.errno, cmd));
      return 1;
    }
    throw e;
  } finally {
    ct.close();
  }
}

/**
 * --explain (-L / -D): the plan for this kernel (by its release; a netns
 * shares the kernel) or, with --replay, everything in user space. Nothing is
 * read or deleted.
 */
export function runExplain(a: CliArgs, io: RunIo): number {
  if (a.command === 'event') return explainEvents(a, io);
  const filter = cliFilter(a);
  const conds = filter ? filter.conditions() : [];
  const family = a.family === 'ipv4' ? A.AF_INET : a.family === 'ipv6' ? A.AF_INET6 : 0;
  const plan = planFilter(conds, { caps: kernelCaps(), table: a.table, family, pushdown: a.replay === undefined });
  for (const line of explainText(plan).split('\n')) io.out.line(line);
  io.out.flush();
  return 0;
}

/**
 * -D: delete what the filter flags select (all entries without any) with
 * Conntrack.deleteMatching() (kernel pre-filter, WASM filter, pipelined
 * deletes by tuple and id), printing each deleted entry as conntrack does;
 * an entry that went away meanwhile is skipped. Exit 1 when nothing was deleted.
 */
async function runDelete(a: CliArgs, io: RunIo): Promise<number> {
  const p = makePrinter({ ...a, command: 'list' }, io);
  const ct = await Conntrack.open({ netns: a.netns });
  let deleted = 0;
  try {
    const now = wallClock();
    const prog = progress('-D: deleting', 'entries');
    deleted = await ct.deleteMatching(cliFilter(a) ?? new FilterBuilder(), {
      family: a.family,
      onDeleted: (f) => (prog.add(), p.show(f, now.sec, now.usec)),
    }).finally(() => prog.done());
  } finally {
    ct.close();
  }
  io.out.flush();
  io.err(formatSummary(summaryCommand(a), deleted) as string);
  return deleted === 0 ? 1 : 0;
}

/**
 * -U: the filter flags other than -t / -m / -u select entries; those three
 * are the new values. Each entry is updated by tuple and id (only the new
 * values are sent) and printed as it is afterwards. Exit 1 when none was.
 */
async function runUpdate(a: CliArgs, io: RunIo): Promise<number> {
  const { timeout, mark, status, labelAdd, labelDel, ...selectors } = a.entry;
  const values = entry({ proto: 'tcp', src: '0.0.0.0', dst: '0.0.0.0', timeout, mark, status });
  const labels = labelChange({ labelAdd, labelDel }, labelResolver(a.labelsFile, a.entry));
  const p = makePrinter({ ...a, command: 'list' }, io);
  const ct = await Conntrack.open({ netns: a.netns });
  let updated = 0;
  try {
    const flows = (await ct.list({ family: a.family, filter: cliFilter(a, selectors) })) as Flow[];
    for (const f of flows) {
      try {
        await ct.update({ orig: f.orig, id: f.id, timeout: values.timeout, mark: values.mark, markMask: values.markMask, status: values.status, labels: labels?.labels, labelsMask: labels?.labelsMask });
        const after = await ct.get(f.orig as Flow['orig'] & object);
        const now = wallClock();
        p.show(after, now.sec, now.usec);
        updated++;
      } catch (e) {
        if (e instanceof ConntrackError && e.code === 'ERR_CT_NOT_FOUND') continue;
        if (e instanceof ConntrackError && e.errno !== undefined && e.code === 'ERR_CT_KERNEL') {
          io.out.flush();
          io.err(formatOperationFailed(e.errno, 'update'));
          return 1;
        }
        throw e;
      }
    }
  } finally {
    ct.close();
  }
  io.out.flush();
  io.err(formatSummary('update', updated) as string);
  return updated === 0 ? 1 : 0;
}

/** conntrack -C expect counts the expectation table by dumping it. */
async function expectCount(ct: Conntrack): Promise<number> {
  return ct.dumpRecords({ table: 'expect' }, () => undefined);
}

/** How a live listener learns it should stop (SIGINT/SIGTERM for the CLI; injectable for tests). */
export interface LiveSignals {
  onStop(stop: () => void): () => void;
}

/** SIGINT / SIGTERM: how the CLI's long-running commands are stopped. */
export const processSignals: LiveSignals = {
  onStop(stop) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    };
  },
};

/** -E --explain: what goes into the event socket's BPF filter and what only WASM checks. */
function explainEvents(a: CliArgs, io: RunIo): number {
  const filter = eventFilter(a);
  const plan = lazy.bpf().planEvents(filter ? filter.conditions() : [], { bpf: a.replay === undefined });
  for (const line of plan.text.split('\n')) io.out.line(line);
  io.out.flush();
  return 0;
}

/** The -E filter flags and -f as one filter (undefined when none). */
function eventFilter(a: CliArgs): FilterBuilder | undefined {
  const b = cliFilter(a);
  return a.family !== undefined ? (b ?? new FilterBuilder()).family(a.family) : b;
}

/**
 * -E: listen to the event groups until stopped, printing like conntrack -E.
 * Filter flags run in WASM on every event, and their kernel-expressible part
 * also in a BPF socket filter (src/bpf.ts); --write records every received
 * datagram (what the filter passed) into a pcap capture.
 */
async function runEvents(a: CliArgs, io: RunIo, signals: LiveSignals): Promise<number> {
  const expect = a.table === 'expect';
  const kinds = a.eventMask ?? ['new', 'update', 'destroy'];
  const groups = expect
    ? [A.NFNLGRP_CONNTRACK_EXP_NEW, A.NFNLGRP_CONNTRACK_EXP_UPDATE, A.NFNLGRP_CONNTRACK_EXP_DESTROY]
    : kinds.map((k) => ({ new: A.NFNLGRP_CONNTRACK_NEW, update: A.NFNLGRP_CONNTRACK_UPDATE, destroy: A.NFNLGRP_CONNTRACK_DESTROY })[k]);
  // conntrack names the program behind [USERSPACE] events from /proc, as the events' namespace shows it
  const progname = lazy.progname().prognameFor(a.netns);
  const p = makePrinter(a, io, progname);
  const writer = a.write !== undefined ? await lazy.pcap().PcapWriter.open(a.write) : undefined;
  // A large buffer: conntrack -E loses events from a few thousand per second on.
  const sock = NetlinkSocket.open({ netns: a.netns, groups, rcvBuf: a.bufferSize ?? EVENTS_RCVBUF });
  const filter = eventFilter(a);
  if (filter) {
    sock.decoder.setFilter(filter.compile());
    const bpf = lazy.bpf().planEvents(filter.conditions()).program;
    try {
      if (bpf) sock.native.attachFilter(bpf);
    } catch (e) {
      // the WASM filter alone gives the same lines; only more crosses the socket
      io.err(`ctrack: WARNING: the kernel refused the event BPF filter (${(e as Error).message}); filtering in user space only`);
    }
  }
  let lost = 0;
  // recording can run for hours: say how much is in the capture so far
  const prog = writer ? progress(`-E: recording to ${a.write}`, 'datagrams') : undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const unhook = signals.onStop(() => {
        unhook();
        sock.close();
        resolve();
      });
      sock.listen((d, batch) => {
        if (batch.enobufs) lost++;
        const now = wallClock();
        if (writer) {
          recordBatch(writer, d, now);
          prog?.add(d.batchSize);
        }
        for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
          for (let i = 0; i < n; i++) p.show(asMessage(d.record(i)), now.sec, now.usec);
        }
        io.out.flush(); // events are read as they happen
      }, (err) => {
        unhook();
        sock.close();
        reject(err);
      });
    });
  } finally {
    prog?.done();
    progname.close();
    await writer?.close();
  }
  if (lost > 0) io.err(`ctrack: WARNING: the kernel dropped events ${lost} time(s) (ENOBUFS): the receive buffer overflowed`);
  return p.finish();
}

/**
 * Receive buffer of ctrack -E (SO_RCVBUFFORCE; the kernel doubles it): larger
 * than the API default because formatting and writing lines makes the CLI a
 * slower reader; the memory is only taken while events queue up.
 */
const EVENTS_RCVBUF = 128 << 20;

// Each datagram of the batch, as received, with the batch's receive time.
function recordBatch(w: PcapWriter, d: Decoder, now: { sec: number; usec: number }): void {
  const dv = d.core.view;
  const bytes = d.core.bytes;
  for (let i = 0; i < d.batchSize; i++) {
    const desc = L.DESC + i * L.DESC_SIZE;
    const off = L.ARENA + dv.getUint32(desc + L.DESC_OFF, true);
    const len = dv.getUint32(desc + L.DESC_LEN, true);
    w.write(bytes.subarray(off, off + len), { tsSec: now.sec, tsUsec: now.usec });
  }
}


export function errorLine(e: unknown): string {
  if (e instanceof ConntrackError) return `ctrack: ${e.message} [${e.code}]`;
  return `ctrack: ${(e as Error).message ?? String(e)}`;
}

/**
 * -L in the plain text format (optionally -o extended / -o id): lines are
 * formatted in WASM and written as bytes (src/format/fast.ts), counted for
 * the summary. Undefined when the options need the JS formatters.
 */
function fastFlowLines(a: CliArgs, io: RunIo, p: Printer): { add(rec: RecordView, now: number): void; flush(): void } | undefined {
  if (a.command !== 'list' || a.table === 'expect' || !fastTextSupported(a.output)) return undefined;
  const ft = new FastFlowText((b) => io.out.bytes(b), { layer3: a.output.has('extended'), id: a.output.has('id') });
  return {
    add: (rec, now) => {
      if (ft.add(rec, now)) p.count(1);
    },
    flush: () => ft.flush(),
  };
}
