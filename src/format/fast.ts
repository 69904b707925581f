// conntrack text lines of flow records formatted in WASM (assembly/textfmt.ts)
// into a byte region of the decoder's memory, written out as bytes: no Flow
// object, no string per field. This is what makes `ctrack -L` cheaper than
// `conntrack -L` on large tables (issue 4).
//
// Only the plain line with -o extended and/or -o id is done in WASM; the
// formats that need the process (ctime() for ktimestamp, the label map) or
// other shapes (xml, json, event tags) stay with the JS formatters. Records
// the WASM code declines (no L4 protocol, non-ASCII helper or secctx) are
// formatted by formatFlowText() into the same region, in order.
import * as L from '../generated/layout';
import type { RecordView } from '../record';
import type { WasmCore } from '../wasm';
import { formatFlowText } from './text';

/** The textfmt export of the decoder module (assembly/index.ts). */
interface TextFmtExports {
  textFlowLine(rec: number, pos: number, flags: number, now: number): number;
}

/** -o formats {@link FastFlowText} prints itself. */
export const FAST_TEXT_FORMATS: readonly string[] = ['extended', 'id'];

/** Whether a set of -o formats is one {@link FastFlowText} prints (byte-identical to formatFlowText). */
export function fastTextSupported(formats: Iterable<string>): boolean {
  for (const f of formats) if (!FAST_TEXT_FORMATS.includes(f)) return false;
  return true;
}

/** Options of {@link FastFlowText}; the subset of TextOptions it supports. */
export interface FastTextOptions {
  /** -o extended */
  readonly layer3?: boolean;
  /** -o id */
  readonly id?: boolean;
}

/**
 * Receives formatted lines as bytes. The view points into WASM memory and is
 * overwritten after the call returns: write it synchronously or copy it.
 */
export type ByteSink = (bytes: Uint8Array) => void;

/**
 * Accumulates the text lines of flow records (conntrack -L format, "\n"
 * after each) in the WASM memory that holds the records, and hands them to
 * `sink` in large chunks. Call {@link flush} at the end (and before writing
 * anything else to the same output).
 */
export class FastFlowText {
  private core?: WasmCore;
  private fn?: TextFmtExports['textFlowLine'];
  private mem?: Buffer;
  private pos = 0;
  private readonly flags: number;

  constructor(private readonly sink: ByteSink, private readonly opts: FastTextOptions = {}) {
    this.flags = (opts.layer3 ? L.TF_LAYER3 : 0) | (opts.id ? L.TF_ID : 0);
  }

  /**
   * Appends the line of a KIND_FLOW record. `now` (whole seconds since the
   * epoch) is used for delta-time like TextOptions.now. Returns false when
   * the entry prints nothing (no L4 protocol: formatFlowText returns "").
   */
  add(rec: RecordView, now: number): boolean {
    if (rec.core !== this.core) this.bind(rec.core);
    // A fractional `now` prints with decimals in JS; leave it to JS.
    if (!Number.isSafeInteger(now)) return this.fallback(rec, now);
    const fn = this.fn as TextFmtExports['textFlowLine'];
    let n = fn(rec.base, this.pos, this.flags, now);
    if (n === L.TF_NO_ROOM) {
      this.flush();
      n = fn(rec.base, 0, this.flags, now);
    }
    if (n >= 0) {
      this.pos = n;
      return true;
    }
    return this.fallback(rec, now);
  }

  /** Hands the buffered bytes to the sink. */
  flush(): void {
    if (this.pos === 0 || this.core === undefined) return;
    const n = this.pos;
    this.pos = 0;
    this.sink(this.core.bytes.subarray(L.TEXT_OUT, L.TEXT_OUT + n));
  }

  private bind(core: WasmCore): void {
    this.flush();
    this.core = core;
    this.fn = (core.exports as unknown as TextFmtExports).textFlowLine;
    this.mem = Buffer.from(core.memory.buffer);
  }

  /** The JS formatter's line, UTF-8, appended to the region in order. */
  private fallback(rec: RecordView, now: number): boolean {
    const line = formatFlowText(rec.flow(), { layer3: this.opts.layer3, id: this.opts.id, now });
    if (line === '') return false;
    const text = line + '\n';
    const len = Buffer.byteLength(text);
    if (len > L.TEXT_OUT_SIZE - this.pos) this.flush();
    if (len > L.TEXT_OUT_SIZE) {
      this.sink(Buffer.from(text));
      return true;
    }
    this.pos += (this.mem as Buffer).write(text, L.TEXT_OUT + this.pos, len, 'utf8');
    return true;
  }
}
