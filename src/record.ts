// RecordView: a reused, allocation-free window onto one decoded record in
// WASM memory. Valid only until the decoder writes the next chunk: read what
// you need inside the callback/loop, or materialize with toMessage().
import * as L from './generated/layout';
import type { WasmCore } from './wasm';
import { FlowView } from './view';

export class RecordView {
  /** Absolute address of the record in WASM memory. */
  base = L.RECORDS;
  readonly bytes: Uint8Array;
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

  u8(off: number): number {
    return this.bytes[this.base + off];
  }
  u16(off: number): number {
    return this.dv.getUint16(this.base + off, true);
  }
  u32(off: number): number {
    return this.dv.getUint32(this.base + off, true);
  }
  i32(off: number): number {
    return this.dv.getInt32(this.base + off, true);
  }
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
  get family(): number {
    return this.bytes[this.base + L.REC_FAMILY];
  }
  get nlType(): number {
    return this.u16(L.REC_NLTYPE);
  }
  get nlFlags(): number {
    return this.u16(L.REC_NLFLAGS);
  }
  get seq(): number {
    return this.u32(L.REC_SEQ);
  }
  get pid(): number {
    return this.u32(L.REC_PID);
  }
  /** Index of the datagram in the batch. */
  get datagram(): number {
    return this.u16(L.REC_DGRAM);
  }
  /** Absolute address and length of the raw message in WASM memory. */
  get msgOffset(): number {
    return this.u32(L.REC_MSG_OFF);
  }
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
