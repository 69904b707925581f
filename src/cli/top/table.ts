// The compact state `ctrack top` keeps per flow, keyed by conntrack id
// (CTA_ID): columns in typed arrays, one slot per flow, no JS object per flow
// and none per refresh. A refresh copies the few fields top shows straight
// out of the reused RecordView; flows not seen in a refresh are swept. With
// 1M entries this is ~100 bytes a flow plus one Map entry.
import * as L from '../../generated/layout';
import * as A from '../../generated/attrs';
import type { RecordView } from '../../record';

/** Sort keys, in the order `s` cycles through them. */
export const SORT_KEYS = ['bytes', 'packets', 'rate', 'age', 'state'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** No protocol state (UDP, ICMP, ...). */
export const NO_STATE = 255;
const ADDR = 32; // bytes per slot: orig src (16), orig dst (16)

// flag bits
const F_COUNTERS = 1; // CTA_COUNTERS_* present
const F_RATE = 2; // rate[] holds a delta of two refreshes
const F_ZONE = 4; // CTA_ZONE present
const F_TS = 8; // start[] is the kernel's CTA_TIMESTAMP_START, not first seen

/** What ct.delete() needs to remove one flow, captured when `d` is pressed. */
export interface FlowKey {
  /** The table's key of the flow (conntrack id and tuple hash). */
  key: number;
  id: number;
  family: number;
  proto: number;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  zone?: number;
}

export class FlowTable {
  private cap = 0;
  private used = 0; // slots handed out (high-water mark)
  private free: number[] = [];
  private readonly slotOf = new Map<number, number>();
  private gen = 0;

  ids = new Uint32Array(0);
  keys = new Float64Array(0); // map key of the slot (id and tuple hash), -1 without id
  seen = new Uint32Array(0); // generation of the last refresh that saw the slot (0 = free)
  flags = new Uint8Array(0);
  family = new Uint8Array(0);
  proto = new Uint8Array(0);
  state = new Uint8Array(0);
  sport = new Uint16Array(0); // ICMP: id
  dport = new Uint16Array(0); // ICMP: type << 8 | code
  zone = new Uint16Array(0);
  addr = new Uint8Array(0);
  pktO = new Float64Array(0);
  byteO = new Float64Array(0);
  pktR = new Float64Array(0);
  byteR = new Float64Array(0);
  rate = new Float64Array(0); // bytes per second, both directions
  start = new Float64Array(0); // seconds (wall clock)
  at = new Float64Array(0); // when the counters were read, seconds

  /** Live entries. */
  size = 0;
  /** Bumped whenever the contents change (refresh start and end, a flow added or removed, clear): a cache key for top(). */
  version = 0;
  /** Entries per layer 4 protocol number, as of the last refresh. */
  readonly perProto = new Map<number, number>();
  /** True when the last refresh saw flows without counters (nf_conntrack_acct=0). */
  countersMissing = false;
  /** Wall clock (seconds) of the last refresh, for ages. */
  now = 0;
  private anyWithout = false;

  /** Start a refresh at wall-clock `now` (seconds). */
  begin(now: number): void {
    this.gen++;
    this.version++;
    this.now = now;
    this.anyWithout = false;
  }

  /**
   * The map key of a flow record: its conntrack id with a 16-bit hash of its
   * original tuple. Ids are 32-bit hashes, so 1M flows hold ~100 pairs with
   * the same id (birthday bound); the tuple bits keep them apart.
   */
  private static keyOf(rec: RecordView, id: number): number {
    const b = rec.bytes;
    const t = rec.base + L.REC_TUPLE_ORIG;
    const n = b[t + L.TUP_L3] === A.AF_INET6 ? 16 : 4;
    let h = b[t + L.TUP_PROTO];
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + b[t + L.TUP_SRC + i] + b[t + L.TUP_DST + i] * 257) | 0;
    const icmp = b[t + L.TUP_PROTO] === 1 || b[t + L.TUP_PROTO] === 58;
    // both ports, or ICMP id, type and code (only the fields this protocol has: the rest may be stale)
    h = (Math.imul(h, 31) + rec.dv.getUint32(t + (icmp ? L.TUP_ICMP_ID : L.TUP_SPORT), true)) | 0;
    h ^= h >>> 16;
    return id * 65536 + (h & 0xffff);
  }

  /** Copy one flow record (KIND_FLOW) into its slot; returns the slot. */
  upsert(rec: RecordView): number {
    const b = rec.bytes;
    const t = rec.base + L.REC_TUPLE_ORIG;
    const proto = b[t + L.TUP_PROTO];
    const icmp = proto === 1 || proto === 58;
    const sport = icmp ? rec.dv.getUint16(t + L.TUP_ICMP_ID, true) : rec.dv.getUint16(t + L.TUP_SPORT, true);
    const dport = icmp ? (b[t + L.TUP_ICMP_TYPE] << 8) | b[t + L.TUP_ICMP_CODE] : rec.dv.getUint16(t + L.TUP_DPORT, true);
    const id = rec.has(A.CTA_ID) ? rec.u32(L.REC_ID) : -1;
    const key = id >= 0 ? FlowTable.keyOf(rec, id) : -1;
    let s = key >= 0 ? this.slotOf.get(key) : undefined;
    const fresh = s === undefined;
    if (s === undefined) {
      s = this.alloc();
      if (key >= 0) this.slotOf.set(key, s);
      this.ids[s] = id >>> 0;
      this.keys[s] = key;
      this.size++;
    }
    this.seen[s] = this.gen;
    const fam = b[t + L.TUP_L3];
    this.family[s] = fam;
    this.proto[s] = proto;
    this.sport[s] = sport;
    this.dport[s] = dport;
    const a = s * ADDR;
    const n = fam === A.AF_INET6 ? 16 : 4;
    for (let i = 0; i < n; i++) {
      this.addr[a + i] = b[t + L.TUP_SRC + i];
      this.addr[a + 16 + i] = b[t + L.TUP_DST + i];
    }
    this.state[s] = rec.hasSub(L.SUB_TCP_STATE) ? rec.u8(L.REC_TCP_STATE)
      : rec.hasSub(L.SUB_SCTP_STATE) ? rec.u8(L.REC_SCTP_STATE)
        : rec.hasSub(L.SUB_DCCP_STATE) ? rec.u8(L.REC_DCCP_STATE) : NO_STATE;
    let f = this.flags[s] & F_RATE;
    if (rec.has(A.CTA_ZONE)) {
      f |= F_ZONE;
      this.zone[s] = rec.u16(L.REC_ZONE);
    }
    // u64 fields read as two u32 halves: no BigInt per field (1M flows a refresh)
    const dv = rec.dv;
    const base = rec.base;
    const u64 = (off: number): number => dv.getUint32(base + off, true) + dv.getUint32(base + off + 4, true) * 4294967296;
    const sub = dv.getUint32(base + L.REC_SUB, true);
    if (rec.has(A.CTA_COUNTERS_ORIG) || rec.has(A.CTA_COUNTERS_REPLY)) {
      const pO = (sub & L.SUB_ORIG_PACKETS) !== 0 ? u64(L.REC_ORIG_PACKETS) : 0;
      const bO = (sub & L.SUB_ORIG_BYTES) !== 0 ? u64(L.REC_ORIG_BYTES) : 0;
      const pR = (sub & L.SUB_REPL_PACKETS) !== 0 ? u64(L.REC_REPL_PACKETS) : 0;
      const bR = (sub & L.SUB_REPL_BYTES) !== 0 ? u64(L.REC_REPL_BYTES) : 0;
      const dt = this.now - this.at[s];
      if (!fresh && (this.flags[s] & F_COUNTERS) !== 0 && dt > 0) {
        this.rate[s] = Math.max(0, bO + bR - this.byteO[s] - this.byteR[s]) / dt;
        f |= F_RATE;
      }
      f |= F_COUNTERS;
      this.pktO[s] = pO;
      this.byteO[s] = bO;
      this.pktR[s] = pR;
      this.byteR[s] = bR;
      this.at[s] = this.now;
    } else {
      this.anyWithout = true;
      f &= ~F_RATE;
      this.pktO[s] = this.byteO[s] = this.pktR[s] = this.byteR[s] = 0;
    }
    if ((sub & L.SUB_TS_START) !== 0) {
      f |= F_TS;
      this.start[s] = u64(L.REC_TS_START) / 1e9;
    } else if (fresh) {
      this.start[s] = this.now;
    }
    this.flags[s] = f;
    return s;
  }

  /**
   * End a refresh: with `sweep`, flows this refresh did not see are gone (a
   * full dump); without (a replayed event batch), they stay. Recounts the
   * per-protocol totals.
   */
  end(sweep = true): void {
    this.perProto.clear();
    for (let s = 0; s < this.used; s++) {
      if (this.seen[s] === 0) continue;
      if (sweep && this.seen[s] !== this.gen) {
        this.release(s);
        continue;
      }
      const p = this.proto[s];
      this.perProto.set(p, (this.perProto.get(p) ?? 0) + 1);
    }
    // event batches (no sweep) carry no counters: only a dump tells
    if (sweep) this.countersMissing = this.anyWithout;
    this.version++;
  }

  /** Forget the flow of this record (a destroy event). */
  removeRecord(rec: RecordView): void {
    if (rec.has(A.CTA_ID)) this.removeKey(FlowTable.keyOf(rec, rec.u32(L.REC_ID)));
  }

  /** Forget the flow `k` names (deleted with `d`). */
  remove(k: FlowKey): void {
    this.removeKey(k.key);
  }

  private removeKey(key: number): void {
    const s = this.slotOf.get(key);
    if (s !== undefined) this.release(s);
    this.version++;
  }

  /** Forget everything (a new filter). */
  clear(): void {
    this.slotOf.clear();
    this.free = [];
    this.used = 0;
    this.size = 0;
    this.seen.fill(0);
    this.flags.fill(0);
    this.perProto.clear();
    this.version++;
  }

  private release(s: number): void {
    const key = this.keys[s];
    if (this.slotOf.get(key) === s) this.slotOf.delete(key);
    this.seen[s] = 0;
    this.flags[s] = 0;
    this.free.push(s);
    this.version++;
    this.size--;
  }

  private alloc(): number {
    this.version++;
    const s = this.free.pop();
    if (s !== undefined) return s;
    if (this.used === this.cap) this.grow(Math.max(1024, this.cap * 2));
    return this.used++;
  }

  private grow(cap: number): void {
    const g = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, per = 1): T => {
      const n = new (a.constructor as new (len: number) => T)(cap * per);
      n.set(a);
      return n;
    };
    this.ids = g(this.ids);
    this.keys = g(this.keys);
    this.seen = g(this.seen);
    this.flags = g(this.flags);
    this.family = g(this.family);
    this.proto = g(this.proto);
    this.state = g(this.state);
    this.sport = g(this.sport);
    this.dport = g(this.dport);
    this.zone = g(this.zone);
    this.addr = g(this.addr, ADDR);
    this.pktO = g(this.pktO);
    this.byteO = g(this.byteO);
    this.pktR = g(this.pktR);
    this.byteR = g(this.byteR);
    this.rate = g(this.rate);
    this.start = g(this.start);
    this.at = g(this.at);
    this.cap = cap;
  }

  hasCounters(s: number): boolean {
    return (this.flags[s] & F_COUNTERS) !== 0;
  }
  hasRate(s: number): boolean {
    return (this.flags[s] & F_RATE) !== 0;
  }
  hasKernelStart(s: number): boolean {
    return (this.flags[s] & F_TS) !== 0;
  }
  hasZone(s: number): boolean {
    return (this.flags[s] & F_ZONE) !== 0;
  }
  isIcmp(s: number): boolean {
    return this.proto[s] === 1 || this.proto[s] === 58;
  }
  /** Age in seconds at the last refresh. */
  age(s: number): number {
    return Math.max(0, this.now - this.start[s]);
  }

  /** Sort value of slot s under `key` (larger = first when descending). */
  key(s: number, key: SortKey): number {
    switch (key) {
      case 'bytes': return this.byteO[s] + this.byteR[s];
      case 'packets': return this.pktO[s] + this.pktR[s];
      case 'rate': return this.hasRate(s) ? this.rate[s] : -1;
      case 'age': return this.age(s);
      case 'state': return this.state[s];
    }
  }

  /**
   * The first `k` live slots in order of `key` (descending unless
   * `ascending`), ties by conntrack id. A bounded heap: O(n log k), so a
   * 1M-entry table costs one pass, not a sort.
   */
  top(key: SortKey, ascending: boolean, k: number): number[] {
    if (k <= 0) return [];
    const keys = new Float64Array(this.used);
    const dir = ascending ? -1 : 1;
    for (let s = 0; s < this.used; s++) if (this.seen[s] !== 0) keys[s] = dir * this.key(s, key);
    // "a before b": larger directed key first, then smaller id
    const before = (a: number, b: number): boolean => keys[a] > keys[b] || (keys[a] === keys[b] && this.ids[a] < this.ids[b]);
    const heap: number[] = []; // min-heap by `before`: heap[0] is the worst kept
    const worse = (a: number, b: number): boolean => before(b, a);
    const up = (i: number): void => {
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    };
    const down = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && worse(heap[l], heap[m])) m = l;
        if (r < heap.length && worse(heap[r], heap[m])) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    };
    for (let s = 0; s < this.used; s++) {
      if (this.seen[s] === 0) continue;
      if (heap.length < k) {
        heap.push(s);
        up(heap.length - 1);
      } else if (before(s, heap[0])) {
        heap[0] = s;
        down(0);
      }
    }
    return heap.sort((a, b) => (before(a, b) ? -1 : 1));
  }

  /** The delete target of slot s (taken when the user presses `d`). */
  flowKey(s: number, fmt: (bytes: Uint8Array, off: number, family: number) => string): FlowKey {
    const a = s * ADDR;
    const k: FlowKey = {
      key: this.keys[s], id: this.ids[s], family: this.family[s], proto: this.proto[s],
      src: fmt(this.addr, a, this.family[s]), dst: fmt(this.addr, a + 16, this.family[s]),
    };
    if (this.isIcmp(s)) {
      k.icmpId = this.sport[s];
      k.icmpType = this.dport[s] >> 8;
      k.icmpCode = this.dport[s] & 0xff;
    } else {
      k.srcPort = this.sport[s];
      k.dstPort = this.dport[s];
    }
    if (this.hasZone(s)) k.zone = this.zone[s];
    return k;
  }
}
