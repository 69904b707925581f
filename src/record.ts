// RecordView: a reused, allocation-free window onto one decoded record in
// WASM memory. Valid only until the decoder writes the next chunk: read what
// you need inside the callback/loop, or materialize with toMessage().
import * as L from './generated/layout';
import type { WasmCore } from './wasm';
import { FlowView } from './view';

/**
 * A reused, allocation-free window onto one decoded record in WASM memory
 * (the `layout.REC_*` layout). Valid only until the decoder writes the next
 * chunk: read what you need inside the callback or loop, or keep a plain
 * object made with {@link toMessage}. The field readers take `layout.REC_*`
 * offsets; a field is valid only when its presence bit is set.
 */
export class RecordView {
  /** Absolute address of the record in WASM memory. */
  base = L.RECORDS;
  /** The whole WASM memory as bytes (the record is at `base`). */
  readonly bytes: Uint8Array;
  /** The whole WASM memory as a DataView, for the multi-byte readers. */
  readonly dv: DataView;

  private flowView?: FlowView;

  /** The WASM instance whose memory holds the record (for WASM functions that take `base`). */
  readonly core: WasmCore;

  constructor(core: WasmCore) {
    this.core = core;
    this.bytes = core.bytes;
    this.dv = core.view;
  }

  /**
   * This record as a lazy Flow (KIND_FLOW records): the same reused view
   * object every time, reading the current record on access.
   */
  flow(): FlowView {
    return (this.flowView ??= new FlowView(this));
  }

  /** Move to record i of the current chunk. */
  at(i: number): this {
    this.base = L.RECORDS + i * L.REC_SIZE;
    return this;
  }

  /** The u8 at record offset `off` (a `layout.REC_*` constant). */
  u8(off: number): number {
    return this.bytes[this.base + off];
  }
  /** The u16 (host order) at record offset `off`. */
  u16(off: number): number {
    return this.dv.getUint16(this.base + off, true);
  }
  /** The u32 (host order) at record offset `off`. */
  u32(off: number): number {
    return this.dv.getUint32(this.base + off, true);
  }
  /** The i32 (host order) at record offset `off`. */
  i32(off: number): number {
    return this.dv.getInt32(this.base + off, true);
  }
  /** The u64 (host order) at record offset `off`, as a bigint. */
  u64(off: number): bigint {
    return this.dv.getBigUint64(this.base + off, true);
  }

  /** KIND_* */
  get kind(): number {
    return this.bytes[this.base + L.REC_KIND];
  }
  /** EVENT_* */
  get event(): number {
    return this.bytes[this.base + L.REC_EVENT];
  }
  /** nfgenmsg.nfgen_family (AF_INET, AF_INET6, AF_UNSPEC) */
  get family(): number {
    return this.bytes[this.base + L.REC_FAMILY];
  }
  /** nlmsg_type */
  get nlType(): number {
    return this.u16(L.REC_NLTYPE);
  }
  /** nlmsg_flags */
  get nlFlags(): number {
    return this.u16(L.REC_NLFLAGS);
  }
  /** nlmsg_seq */
  get seq(): number {
    return this.u32(L.REC_SEQ);
  }
  /** nlmsg_pid (0 for messages the kernel sends on its own, like events) */
  get pid(): number {
    return this.u32(L.REC_PID);
  }
  /** Index of the datagram in the batch. */
  get datagram(): number {
    return this.u16(L.REC_DGRAM);
  }
  /** Absolute address of the raw message in WASM memory. */
  get msgOffset(): number {
    return this.u32(L.REC_MSG_OFF);
  }
  /** Length of the raw message in bytes (nlmsg_len). */
  get msgLength(): number {
    return this.u32(L.REC_MSG_LEN);
  }
  /** Top-level attribute n (CTA_*, CTA_EXPECT_*, CTA_STATS_*) was present. */
  has(attr: number): boolean {
    return ((this.u32(L.REC_ATTRS) >>> attr) & 1) === 1;
  }
  /** SUB_* bit set. */
  hasSub(bit: number): boolean {
    return (this.u32(L.REC_SUB) & bit) !== 0;
  }
  /** SUB2_* bit set. */
  hasSub2(bit: number): boolean {
    return (this.u32(L.REC_SUB2) & bit) !== 0;
  }
  /** A copy of the raw netlink message bytes. */
  rawMessage(): Uint8Array {
    const off = this.msgOffset;
    return this.bytes.slice(off, off + this.msgLength);
  }
}
