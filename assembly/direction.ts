// Flow direction for the flow logger (src/flowlog/): the semantics of
// netbird's Linux conntrack tracker (relevantFlow, inferDirection and the
// rx/tx counter mapping), evaluated right after a flow record is decoded so
// the JS side reads finished fields instead of walking the record again.
//
// Input: the record, and the config region DIR_CFG (layout.ts) holding the
// interface's IPv4/IPv6 address and network and the connection marks.
// Output: entry `slot` of DIR_TABLE.
//
//   relevant  = DIR_MARK_LO <= CTA_MARK <= DIR_MARK_HI (the data-plane range)
//               || orig src or dst inside the IPv4 network
//               || orig src or dst inside the IPv6 network
//   direction = CTA_MARK in DIR_IN_MARKS  -> ingress
//               CTA_MARK in DIR_OUT_MARKS -> egress
//               orig src == interface IP (v4 or v6)    -> egress
//               orig dst == interface IP               -> ingress
//               orig src inside the interface network  -> ingress (overlay -> routed resource)
//               orig dst inside the interface network  -> egress  (routed resource -> overlay)
//               otherwise unknown
//   rx/tx     = ingress: rx = orig counters, tx = reply counters;
//               egress and unknown: rx = reply counters, tx = orig counters
//
// Absent fields read as the seed's zero values: no CTA_MARK is mark 0, an
// absent address matches nothing, absent counters are 0. An address of one
// family never matches the other family's IP or network. Never traps, never
// allocates: it reads the record and the config region only.
import * as L from "./layout";
import * as A from "./attrs";

// A prefix mask for one 32-bit word of an address (network byte order in memory).
// @ts-ignore: decorator
@inline function wordMask(bits: u32): u32 {
  return bits >= 32 ? <u32>0xffffffff : bswap<u32>(~(<u32>0xffffffff >>> bits));
}

// Does the address at p (family l3) lie inside the network at net/plen of family fam?
function inPrefix(p: usize, l3: u32, fam: u32, net: usize, plen: u32): bool {
  if (l3 != fam) return false;
  if (fam == 2) return ((load<u32>(p) ^ load<u32>(net)) & (plen == 0 ? 0 : wordMask(plen))) == 0;
  let left = plen;
  for (let o: usize = 0; o < 16 && left != 0; o += 4) {
    const bits = left >= 32 ? <u32>32 : left;
    if (((load<u32>(p + o) ^ load<u32>(net + o)) & wordMask(bits)) != 0) return false;
    left -= bits;
  }
  return true;
}

// Is the address at p (family l3) in one of the interface networks? present = the tuple has it.
// @ts-ignore: decorator
@inline function inIfaceNet(cfg: usize, has: u32, p: usize, l3: u32, present: bool): bool {
  if (!present) return false;
  if (l3 == 2) return (has & L.DIRH_V4_NET) != 0 && inPrefix(p, 2, 2, cfg + L.DIR_V4_NET, <u32>load<u8>(cfg + L.DIR_V4_PLEN));
  return (has & L.DIRH_V6_NET) != 0 && inPrefix(p, l3, 10, cfg + L.DIR_V6_NET, <u32>load<u8>(cfg + L.DIR_V6_PLEN));
}

// Is the address at p the interface's own IPv4 or IPv6 address?
// @ts-ignore: decorator
@inline function isIfaceIp(cfg: usize, has: u32, p: usize, l3: u32, present: bool): bool {
  if (!present) return false;
  if (l3 == 2) return (has & L.DIRH_V4_IP) != 0 && load<u32>(p) == load<u32>(cfg + L.DIR_V4_IP);
  return (has & L.DIRH_V6_IP) != 0 && inPrefix(p, l3, 10, cfg + L.DIR_V6_IP, 128);
}

function markIn(list: usize, n: u32, mark: u32): bool {
  const cnt = n > <u32>L.DIR_MAX_MARKS ? <u32>L.DIR_MAX_MARKS : n;
  for (let i: u32 = 0; i < cnt; i++) {
    if (load<u32>(list + (<usize>i << 2)) == mark) return true;
  }
  return false;
}

function counter(r: usize, bit: u32, off: usize): u64 {
  return (load<u32>(r + L.REC_SUB) & bit) != 0 ? load<u64>(r + off) : 0;
}

/** Fill DIR_TABLE entry `slot` for the record at r (any kind). */
export function flowDirection(r: usize, slot: u32): void {
  const e: usize = <usize>L.DIR_TABLE + <usize>(slot < <u32>L.REC_MAX ? slot : <u32>L.REC_MAX - 1) * <usize>L.DIR_ENT_SIZE;
  if (load<u8>(r + L.REC_KIND) != L.KIND_FLOW) {
    store<u8>(e + L.DIRE_FLAGS, 0);
    store<u8>(e + L.DIRE_DIRECTION, L.FLOW_DIR_UNKNOWN);
    return;
  }
  const cfg: usize = L.DIR_CFG;
  const has = load<u32>(cfg + L.DIR_HAS);
  const attrs = load<u32>(r + L.REC_ATTRS);
  const mark: u32 = (attrs & (<u32>1 << <u32>A.CTA_MARK)) != 0 ? load<u32>(r + L.REC_MARK) : 0;
  const t: usize = r + L.REC_TUPLE_ORIG;
  const tbits: u32 = (attrs & (<u32>1 << <u32>A.CTA_TUPLE_ORIG)) != 0 ? <u32>load<u16>(t + L.TUP_PRESENT) : 0;
  const l3 = <u32>load<u8>(t + L.TUP_L3);
  const src = t + L.TUP_SRC;
  const dst = t + L.TUP_DST;
  const hasSrc = (tbits & L.TP_SRC) != 0;
  const hasDst = (tbits & L.TP_DST) != 0;

  const markRelevant = (has & L.DIRH_MARK_RANGE) != 0 && mark >= load<u32>(cfg + L.DIR_MARK_LO) && mark <= load<u32>(cfg + L.DIR_MARK_HI);
  const srcInNet = inIfaceNet(cfg, has, src, l3, hasSrc);
  const dstInNet = inIfaceNet(cfg, has, dst, l3, hasDst);
  let flags: u32 = L.DIRF_FLOW;
  if (markRelevant || srcInNet || dstInNet) flags |= L.DIRF_RELEVANT;

  let dir: u32 = L.FLOW_DIR_UNKNOWN;
  if (markIn(cfg + L.DIR_IN_MARKS, <u32>load<u8>(cfg + L.DIR_N_IN), mark)) dir = L.FLOW_DIR_INGRESS;
  else if (markIn(cfg + L.DIR_OUT_MARKS, <u32>load<u8>(cfg + L.DIR_N_OUT), mark)) dir = L.FLOW_DIR_EGRESS;
  else if (isIfaceIp(cfg, has, src, l3, hasSrc)) dir = L.FLOW_DIR_EGRESS;
  else if (isIfaceIp(cfg, has, dst, l3, hasDst)) dir = L.FLOW_DIR_INGRESS;
  else if (srcInNet) dir = L.FLOW_DIR_INGRESS;
  else if (dstInNet) dir = L.FLOW_DIR_EGRESS;

  const op = counter(r, L.SUB_ORIG_PACKETS, L.REC_ORIG_PACKETS);
  const ob = counter(r, L.SUB_ORIG_BYTES, L.REC_ORIG_BYTES);
  const rp = counter(r, L.SUB_REPL_PACKETS, L.REC_REPL_PACKETS);
  const rb = counter(r, L.SUB_REPL_BYTES, L.REC_REPL_BYTES);
  const ingress = dir == L.FLOW_DIR_INGRESS;
  store<u8>(e + L.DIRE_FLAGS, <u8>flags);
  store<u8>(e + L.DIRE_DIRECTION, <u8>dir);
  store<u64>(e + L.DIRE_RX_PACKETS, ingress ? op : rp);
  store<u64>(e + L.DIRE_TX_PACKETS, ingress ? rp : op);
  store<u64>(e + L.DIRE_RX_BYTES, ingress ? ob : rb);
  store<u64>(e + L.DIRE_TX_BYTES, ingress ? rb : ob);
}

/**
 * Fill the entries of records 0..n-1 of the last decode() (for records
 * decoded while DIR_ENABLED was off). Returns the number of flow records.
 */
export function directionBatch(n: u32): u32 {
  const cnt = n > <u32>L.REC_MAX ? <u32>L.REC_MAX : n;
  let flows: u32 = 0;
  for (let i: u32 = 0; i < cnt; i++) {
    const r: usize = <usize>L.RECORDS + <usize>i * <usize>L.REC_SIZE;
    flowDirection(r, i);
    if (load<u8>(r + L.REC_KIND) == L.KIND_FLOW) flows++;
  }
  return flows;
}
