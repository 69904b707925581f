// The decoder: a WASM instance plus the receive arena it reads from.
//
// Bytes flow one way: a source (the socket host, or a capture being replayed)
// copies datagrams into the arena and describes them in the descriptor table;
// decode() walks them in WASM and writes fixed-size records; the caller reads
// the records through a reused RecordView or materializes plain objects.
import { ConntrackError } from './errors';
import * as L from './generated/layout';
import { createCore, WasmCore, type WasmVariant } from './wasm';
import { RecordView } from './record';
import { toMessage, decodeError } from './materialize';
import type { Message } from './types';
import { jitModule, type JitSummary } from './filter-jit';

/** How to read nlmsg_type 0x0103, which the kernel uses for two replies. */
export type Ctx0103 = 'guess' | 'flow' | 'exp-stats';

/** Options of a {@link Decoder}: which WASM build, and how to read nlmsg_type 0x0103. */
export interface DecoderOptions {
  /** Use the bounds-instrumented build (slower; counts reads outside the message). */
  checked?: boolean;
  /** Pick a build explicitly (overrides `checked`); see WasmVariant. */
  variant?: WasmVariant;
  /**
   * nlmsg_type 0x0103 is both IPCTNL_MSG_CT_GET_CTRZERO (a flow) and the reply
   * to IPCTNL_MSG_EXP_GET_STATS_CPU. Say which request was sent; 'guess'
   * (default) looks at the first attribute: nested means a flow.
   */
  ctx0103?: Ctx0103;
  /**
   * Compile the shape templates the decoder learns (src/shape-jit.ts);
   * default true. false: the decoder interprets them (same records, slower).
   */
  shapeJit?: boolean;
}

/** Counters kept by the decoder across batches. */
export interface DecoderCounters {
  /** Datagrams dropped because their sender was not the kernel (nl_pid != 0). */
  spoofed: number;
  /** Messages dropped because seq/port id did not match the expected request. */
  stale: number;
  /** Messages (or framing faults) that failed to decode. */
  bad: number;
  /** Datagrams the receiver flagged as truncated (MSG_TRUNC). */
  truncated: number;
  /** Checked build only: reads outside the current message. */
  violations: number;
  /** Flow messages dropped by the filter program (setFilter). */
  filtered: number;
  /** Datagrams received from a socket into this decoder (adoptBatch). */
  datagrams: number;
  /** Bytes of those datagrams. */
  bytes: number;
}

const CTX_0103: Record<Ctx0103, number> = {
  guess: L.CTX_0103_GUESS,
  flow: L.CTX_0103_FLOW,
  'exp-stats': L.CTX_0103_EXP_STATS,
};

const FILTER_ERR_TEXT: Record<number, string> = {
  [L.FERR_COUNT]: `more than ${L.FILTER_MAX_CONDS} conditions`,
  [L.FERR_OP]: 'unknown operation',
  [L.FERR_SLOT]: 'tuple slot is not 0 (orig), 1 (reply) or 2 (master)',
  [L.FERR_FAMILY]: 'address family is not 2 (AF_INET) or 10 (AF_INET6)',
  [L.FERR_PLEN]: 'prefix longer than the address',
  [L.FERR_ARG]: 'operand out of range',
};

/**
 * The WASM ctnetlink decoder over its own WASM instance: datagrams are
 * copied (or received by the host) into its arena, decoded in batches into
 * fixed-size records, and read through the reused {@link RecordView} without
 * an object per message, or as plain objects with {@link toMessage}. It also
 * runs the filter program and counts dropped and malformed input
 * ({@link DecoderCounters}). Malformed bytes never trap: they become
 * KIND_BAD records (ERR_CT_DECODE).
 */
export class Decoder {
  /** The WASM instance and views over its memory. */
  readonly core: WasmCore;
  /** Flyweight over the current record; repositioned by `record(i)`. */
  readonly view: RecordView;
  private fill = 0; // next free byte in the arena (relative)
  private ndgrams = 0; // datagrams in the batch being built
  private rxDatagrams = 0; // counters(): datagrams adopted from a socket
  private rxBytes = 0;
  private started = false; // begin() called for the current batch
  private jitSummary: JitSummary | undefined;
  private readonly shapeJit: boolean;

  constructor(opts: DecoderOptions = {}) {
    this.core = createCore(opts.variant ?? (opts.checked === true ? 'checked' : 'release'));
    this.view = new RecordView(this.core);
    this.setContext0103(opts.ctx0103 ?? 'guess');
    this.shapeJit = opts.shapeJit !== false && this.core.variant === 'release';
  }

  /** Change how nlmsg_type 0x0103 is read (see DecoderOptions.ctx0103). */
  setContext0103(ctx: Ctx0103): void {
    const v = CTX_0103[ctx];
    if (v === undefined) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `ctx0103 must be 'guess', 'flow' or 'exp-stats', not ${String(ctx)}`);
    this.core.view.setUint32(L.CTRL + L.CTRL_CTX_0103, v, true);
  }

  /**
   * Only accept replies to one request: messages whose nlmsg_seq (and, if
   * given, nlmsg_pid) differ are dropped and counted as stale. Pass undefined
   * to accept everything (event listeners).
   */
  expect(seq?: number, pid?: number): void {
    const dv = this.core.view;
    let checks = 0;
    if (seq !== undefined) {
      dv.setUint32(L.CTRL + L.CTRL_EXPECT_SEQ, seq >>> 0, true);
      checks |= L.CHECK_SEQ;
    }
    if (pid !== undefined) {
      dv.setUint32(L.CTRL + L.CTRL_EXPECT_PID, pid >>> 0, true);
      checks |= L.CHECK_PID;
    }
    dv.setUint32(L.CTRL + L.CTRL_CHECKS, checks, true);
  }

  /** Start filling a new batch (forgets the previous one). */
  reset(): void {
    this.fill = 0;
    this.ndgrams = 0;
    this.started = false;
  }

  /**
   * Take a batch that another writer (the socket host) put straight into the
   * arena and descriptor table: datagrams 0..n-1. Forgets the previous batch;
   * push() refuses to mix in until reset().
   */
  adoptBatch(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > L.DESC_MAX) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `batch size must be an integer in 0..${L.DESC_MAX}, not ${n}`);
    }
    this.ndgrams = n;
    this.fill = L.ARENA_SIZE;
    this.started = false;
    // what crossed the socket (what kernel-side filtering saves)
    const dv = this.core.view;
    for (let i = 0; i < n; i++) this.rxBytes += dv.getUint32(L.DESC + i * L.DESC_SIZE + L.DESC_LEN, true);
    this.rxDatagrams += n;
  }

  /** Bytes still free in the arena. */
  get arenaFree(): number {
    return L.ARENA_SIZE - this.fill;
  }

  /** Datagrams in the current batch. */
  get batchSize(): number {
    return this.ndgrams;
  }

  /**
   * Copy one datagram into the arena, as the socket host will receive into it.
   * `srcPid` is the sender's netlink port id (0 = kernel); `truncated` marks a
   * datagram cut by the receiver. Returns false when the batch is full: decode
   * it, reset, and push again.
   */
  push(data: Uint8Array, srcPid = 0, truncated = false): boolean {
    if (this.started) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'push() after decoding started; call reset() first');
    if (data.length > L.ARENA_SIZE) {
      throw new ConntrackError('ERR_CT_DECODE', `datagram of ${data.length} bytes is larger than the receive arena (${L.ARENA_SIZE})`);
    }
    if (this.ndgrams >= L.DESC_MAX || data.length > L.ARENA_SIZE - this.fill) return false;
    const off = this.fill;
    this.core.bytes.set(data, L.ARENA + off);
    const d = L.DESC + this.ndgrams * L.DESC_SIZE;
    const dv = this.core.view;
    dv.setUint32(d + L.DESC_OFF, off, true);
    dv.setUint32(d + L.DESC_LEN, data.length, true);
    dv.setUint32(d + L.DESC_SRC_PID, srcPid >>> 0, true);
    dv.setUint32(d + L.DESC_FLAGS, truncated ? L.DGRAM_TRUNC : 0, true);
    this.ndgrams++;
    this.fill = (off + data.length + 3) & ~3;
    return true;
  }

  /**
   * Decode the next chunk of the current batch into records 0..n-1 and return
   * n (0 when the batch is exhausted). Records stay valid until the next call.
   */
  decodeNext(): number {
    if (!this.started) {
      this.core.exports.begin(this.ndgrams);
      this.started = true;
    }
    const n = this.core.exports.decode();
    if (this.shapeJit) this.compileShapes();
    return n;
  }

  // Compile the templates (assembly/shape.ts) that have decoded SHAPE_JIT_HITS
  // messages and are not compiled yet into their slots of the shape table. A
  // failure leaves that template interpreted: same records, slower.
  private compileShapes(): void {
    const dv = this.core.view;
    const count = dv.getUint32(L.SHAPE + L.SHAPE_COUNT, true);
    const min = dv.getUint32(L.SHAPE + L.SHAPE_JIT_HITS, true);
    for (let i = 0; i < count; i++) {
      const t = L.SHAPE + L.SHAPE_HDR + i * L.SHAPE_T_SIZE;
      if (dv.getUint32(t + L.ST_JIT, true) !== 0 || dv.getUint32(t + L.ST_HITS, true) < min) continue;
      try {
        const len = this.core.exports.shapeEmit(t);
        if (len === 0) throw new Error('template too large to compile');
        const mod = new WebAssembly.Module(this.core.bytes.subarray(L.SHAPE_JIT_OUT, L.SHAPE_JIT_OUT + len));
        const f = new WebAssembly.Instance(mod, { env: { memory: this.core.memory } }).exports.f;
        this.core.shapeTable.set(i, f as (r: number, m: number) => number);
        dv.setUint32(t + L.ST_JIT, 1, true);
      } catch {
        dv.setUint32(t + L.ST_JIT, 2, true); // interpreted, not tried again
      }
    }
  }

  /** Position the flyweight view on record i of the last decodeNext() and return it. */
  record(i: number): RecordView {
    return this.view.at(i);
  }

  /**
   * Install a compiled filter program (FilterBuilder.compile(), see
   * assembly/filter.ts for the format), or remove it with null. Flow messages
   * the program rejects produce no record and are counted in
   * counters().filtered. A malformed program throws
   * ConntrackError('ERR_CT_INVALID_ARGUMENT') and leaves no filter installed.
   */
  setFilter(program: Uint8Array | null, opts: { jit?: boolean } = {}): void {
    const bytes = this.core.bytes;
    const dv = this.core.view;
    // no filter until the new program is validated
    dv.setUint32(L.FILTER + L.FILTER_COUNT, 0, true);
    if (program === null) return;
    if (!(program instanceof Uint8Array)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'filter program must be a Uint8Array or null');
    }
    if (program.length < L.FILTER_HDR || program.length > L.FILTER_SIZE || (program.length - L.FILTER_HDR) % L.FCOND_SIZE !== 0) {
      throw new ConntrackError(
        'ERR_CT_INVALID_ARGUMENT',
        `filter program must be ${L.FILTER_HDR} + n * ${L.FCOND_SIZE} bytes, at most ${L.FILTER_SIZE}, not ${program.length}`,
      );
    }
    bytes.set(program, L.FILTER);
    dv.setUint32(L.FILTER + L.FILTER_JIT, 0, true); // set by installJit, never by the caller's bytes
    // conditions past the program read as op 0 (invalid): a count larger than the program is refused
    bytes.fill(0, L.FILTER + program.length, L.FILTER + L.FILTER_SIZE);
    const ex = this.core.exports as unknown as { filterCheck?: () => number };
    if (typeof ex.filterCheck !== 'function') {
      dv.setUint32(L.FILTER + L.FILTER_COUNT, 0, true);
      throw new ConntrackError('ERR_CT_WASM', 'the WASM module has no filter engine (stale dist/wasm); run "npm run build"');
    }
    const err = ex.filterCheck();
    if (err !== 0) {
      dv.setUint32(L.FILTER + L.FILTER_COUNT, 0, true);
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `invalid filter program: ${FILTER_ERR_TEXT[err] ?? `filter status ${err}`}`, { status: err });
    }
    if (opts.jit !== false && program.length > L.FILTER_HDR) this.installJit(program);
  }

  /** Which conditions of the installed program run compiled; undefined when interpreted. */
  get jit(): JitSummary | undefined {
    return this.core.view.getUint32(L.FILTER + L.FILTER_JIT, true) === 1 ? this.jitSummary : undefined;
  }

  // Compile the (validated) program to WASM and put it in the decoder's slot.
  // Any failure leaves the interpreter in charge: same results, slower.
  private installJit(program: Uint8Array): void {
    const ex = this.core.exports as unknown as { filterEvalCond?: (r: number, c: number) => number };
    if (typeof ex.filterEvalCond !== 'function') return;
    try {
      const { module, summary } = jitModule(program);
      const f = new WebAssembly.Instance(module, { env: { memory: this.core.memory, evalCond: ex.filterEvalCond } }).exports.f;
      this.core.filterTable.set(0, f as (r: number) => number);
      this.jitSummary = summary;
      this.core.view.setUint32(L.FILTER + L.FILTER_JIT, 1, true);
    } catch {
      this.core.view.setUint32(L.FILTER + L.FILTER_JIT, 0, true);
    }
  }

  /** Counters since this decoder was created. */
  counters(): DecoderCounters {
    const dv = this.core.view;
    const c = L.CTRL;
    return {
      spoofed: dv.getUint32(c + L.CTRL_SPOOFED, true),
      stale: dv.getUint32(c + L.CTRL_STALE, true),
      bad: dv.getUint32(c + L.CTRL_BAD, true),
      truncated: dv.getUint32(c + L.CTRL_TRUNC, true),
      violations: dv.getUint32(c + L.CTRL_VIOLATIONS, true),
      filtered: dv.getUint32(c + L.CTRL_FILTERED, true),
      datagrams: this.rxDatagrams,
      bytes: this.rxBytes,
    };
  }

  /**
   * Decode every message of the current batch into plain objects. Malformed
   * messages throw ConntrackError('ERR_CT_DECODE') unless `onBad` is given,
   * which then receives the error and decoding goes on.
   */
  messages(onBad?: (err: ConntrackError, datagram: number) => void): Message[] {
    const out: Message[] = [];
    for (let n = this.decodeNext(); n > 0; n = this.decodeNext()) {
      for (let i = 0; i < n; i++) {
        const r = this.view.at(i);
        if (r.kind === L.KIND_BAD) {
          const err = decodeError(r);
          if (!onBad) throw err;
          onBad(err, r.datagram);
          continue;
        }
        out.push(toMessage(r));
      }
    }
    return out;
  }
}

let shared: Decoder | undefined;

/**
 * Decode one datagram (as received from a NETLINK_NETFILTER socket) into
 * messages. Uses a shared decoder instance; not re-entrant across awaits
 * (it has none). Throws ConntrackError('ERR_CT_DECODE') on malformed bytes.
 */
export function decodeDatagram(data: Uint8Array, opts: { ctx0103?: Ctx0103; srcPid?: number } = {}): Message[] {
  if (!shared) shared = new Decoder();
  const d = shared;
  d.reset();
  d.setContext0103(opts.ctx0103 ?? 'guess');
  d.expect(undefined, undefined);
  d.push(data, opts.srcPid ?? 0);
  return d.messages();
}
