// Filter programs compiled to WebAssembly.
//
// The decoder interprets a filter program (assembly/filter.ts) condition by
// condition: a switch on the op, operands loaded from the program, helper
// calls. That costs ~80 instructions per condition per message. Here the same
// program bytes become one small WASM function with the operands as
// constants and each field test inlined (a load, a mask, a compare, a branch),
// so a 5-condition filter costs a few instructions per condition.
//
// The decoder calls it through a one-slot funcref table (the trampoline built
// in src/wasm.ts, imported by the decoder as env.filterJit) when FILTER_JIT is
// 1. Conditions without an inline form (IPv6 nets with the odd prefix aside,
// REPLY_ANY, TIMEOUT, LABEL, NAT, FALSE) call back into the decoder's own
// evalCond, so compiled and interpreted programs cannot disagree on them; the
// inline forms are checked against the interpreter by test/filter-jit.test.ts.
//
// The module imports env.memory (the decoder's) and env.evalCond; it exports
// f(r: i32) -> i32, 1 when the record at r passes, 0 when it does not.
import * as A from './generated/attrs';
import * as L from './generated/layout';

// --- a minimal WASM binary writer (uleb, str and moduleBytes also build src/shape-jit.ts's trampoline)

const OP = {
  block: 0x02, if: 0x04, end: 0x0b, br_if: 0x0d, return: 0x0f, call: 0x10, call_indirect: 0x11,
  local_get: 0x20, i32_load: 0x28, i32_load8_u: 0x2d, i32_load16_u: 0x2f,
  i32_const: 0x41, i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_and: 0x71,
} as const;
const VOID = 0x40;
const I32 = 0x7f;
const FUNCREF = 0x70;

export function uleb(out: number[], v: number): void {
  v >>>= 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  v |= 0; // the i32 the constant stands for
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

export function str(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

export function moduleBytes(sections: Array<[number, number[]]>): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const [id, body] of sections) section(out, id, body);
  return Uint8Array.from(out);
}

// --- the trampoline -------------------------------------------------------------

/**
 * The module the decoder imports its filterJit from: exports `t`, a one-slot
 * funcref table, and `call(r)`, which calls t[0](r). t[0] starts as a function
 * returning -1 ("nothing installed", so the decoder interprets).
 */
export function trampolineBytes(): Uint8Array {
  const types: number[] = [];
  uleb(types, 1);
  types.push(0x60, 1, I32, 1, I32); // (i32) -> i32
  const funcs: number[] = [];
  uleb(funcs, 2);
  funcs.push(0, 0);
  const table: number[] = [1, FUNCREF, 0x00, 1]; // one table, funcref, min 1, no max
  const exps: number[] = [];
  uleb(exps, 2);
  str(exps, 't');
  exps.push(0x01, 0);
  str(exps, 'call');
  exps.push(0x00, 0);
  const elem: number[] = [1, 0x00, OP.i32_const, 0, OP.end, 1, 1]; // t[0] = func 1
  const callBody = [0, OP.local_get, 0, OP.i32_const, 0, OP.call_indirect, 0, 0, OP.end];
  const defBody = [0, OP.i32_const, 0x7f, OP.end]; // -1
  const code: number[] = [2];
  uleb(code, callBody.length);
  code.push(...callBody);
  uleb(code, defBody.length);
  code.push(...defBody);
  return moduleBytes([[1, types], [3, funcs], [4, table], [7, exps], [9, elem], [10, code]]);
}

// --- the filter function ---------------------------------------------------------

/** One inline test: (load(r + off) [& mask]) == value, `width` bytes wide. */
interface FieldTest {
  off: number;
  width: 1 | 2 | 4;
  mask: number; // 0xffffffff: no mask
  value: number;
}

/** An inline condition: every presence test != 0, then every field test true. */
interface Inline {
  present: FieldTest[]; // value unused: (load & mask) != 0
  tests: FieldTest[];
}

function tupleOff(slot: number): number {
  return slot === 0 ? L.REC_TUPLE_ORIG : slot === 1 ? L.REC_TUPLE_REPLY : L.REC_TUPLE_MASTER;
}

function tupleBit(slot: number): number {
  return 1 << (slot === 0 ? A.CTA_TUPLE_ORIG : slot === 1 ? A.CTA_TUPLE_REPLY : A.CTA_TUPLE_MASTER);
}

const attrPresent = (type: number): FieldTest => ({ off: L.REC_ATTRS, width: 4, mask: 1 << type, value: 0 });

// A tuple's presence bits are stale when the tuple itself is absent, hence
// the tuple's attribute bit first (as tupBits() in assembly/filter.ts).
function tuplePresent(slot: number, bits: number): FieldTest[] {
  return [
    { off: L.REC_ATTRS, width: 4, mask: tupleBit(slot), value: 0 },
    { off: tupleOff(slot) + L.TUP_PRESENT, width: 2, mask: bits, value: 0 },
  ];
}

// Address in net, as inNet(): same family, then a word at a time under the
// prefix mask of plen, or under the netmask when plen is PLEN_MASK.
function netTests(slot: number, dst: boolean, family: number, plen: number, addr: Uint8Array, netmask: Uint8Array): FieldTest[] {
  const t = tupleOff(slot);
  const tests: FieldTest[] = [{ off: t + L.TUP_L3, width: 1, mask: 0xffffffff, value: family }];
  const dv = new DataView(addr.buffer, addr.byteOffset, 16);
  const mv = new DataView(netmask.buffer, netmask.byteOffset, 16);
  const words = family === 2 ? 1 : 4;
  let left = Math.min(plen, words * 32);
  for (let i = 0; i < words; i++) {
    let mask: number; // the mask in network order, read as a little-endian u32 (as the record's bytes are loaded)
    if (plen === L.PLEN_MASK) {
      mask = mv.getUint32(i * 4, true);
    } else {
      if (left <= 0) break;
      const bits = Math.min(left, 32);
      const be = bits === 32 ? 0xffffffff : (~(0xffffffff >>> bits)) >>> 0;
      mask = ((be & 0xff) << 24 | (be & 0xff00) << 8 | (be >>> 8) & 0xff00 | be >>> 24) >>> 0;
      left -= bits;
    }
    if (mask === 0) continue;
    const word = dv.getUint32(i * 4, true);
    tests.push({ off: t + (dst ? L.TUP_DST : L.TUP_SRC) + i * 4, width: 4, mask, value: (word & mask) >>> 0 });
  }
  return tests;
}

const field = (off: number, width: 1 | 2 | 4, value: number, mask = 0xffffffff): FieldTest => ({ off, width, mask, value });

/**
 * The inline form of one condition (the semantics of evalCond in
 * assembly/filter.ts), or undefined when it has none.
 */
function inline(op: number, slot: number, plen: number, a: number, b: number, addr: Uint8Array, netmask: Uint8Array): Inline | undefined {
  const o = L.REC_TUPLE_ORIG;
  switch (op) {
    case L.FOP_FAMILY: return { present: tuplePresent(0, L.TP_IP), tests: [field(o + L.TUP_L3, 1, a)] };
    case L.FOP_PROTO: return { present: tuplePresent(0, L.TP_PROTO), tests: [field(o + L.TUP_PROTO, 1, a)] };
    case L.FOP_SRC:
    case L.FOP_DST: {
      const dst = op === L.FOP_DST;
      return { present: tuplePresent(slot, dst ? L.TP_DST : L.TP_SRC), tests: netTests(slot, dst, a, plen, addr, netmask) };
    }
    case L.FOP_SPORT: return { present: tuplePresent(slot, L.TP_SPORT), tests: [field(tupleOff(slot) + L.TUP_SPORT, 2, a)] };
    case L.FOP_DPORT: return { present: tuplePresent(slot, L.TP_DPORT), tests: [field(tupleOff(slot) + L.TUP_DPORT, 2, a)] };
    case L.FOP_MARK: return { present: [attrPresent(A.CTA_MARK)], tests: [field(L.REC_MARK, 4, a, b)] };
    case L.FOP_ZONE: return { present: [attrPresent(A.CTA_ZONE)], tests: [field(L.REC_ZONE, 2, a)] };
    case L.FOP_TUPLE_ZONE: return { present: tuplePresent(slot, L.TP_ZONE), tests: [field(tupleOff(slot) + L.TUP_ZONE, 2, a)] };
    case L.FOP_STATUS: return { present: [attrPresent(A.CTA_STATUS)], tests: [field(L.REC_STATUS, 4, a, b)] };
    // REC_SUB is cleared for every message: its bit alone says the field is there
    case L.FOP_TCP_STATE: return { present: [field(L.REC_SUB, 4, 0, L.SUB_TCP_STATE)], tests: [field(L.REC_TCP_STATE, 1, a)] };
    case L.FOP_SCTP_STATE: return { present: [field(L.REC_SUB, 4, 0, L.SUB_SCTP_STATE)], tests: [field(L.REC_SCTP_STATE, 1, a)] };
    case L.FOP_DCCP_STATE: return { present: [field(L.REC_SUB, 4, 0, L.SUB_DCCP_STATE)], tests: [field(L.REC_DCCP_STATE, 1, a)] };
    case L.FOP_ICMP_TYPE:
      return { present: tuplePresent(0, L.TP_ICMP_TYPE | L.TP_ICMPV6_TYPE), tests: [field(o + L.TUP_ICMP_TYPE, 1, a)] };
    case L.FOP_ICMP_CODE:
      return { present: tuplePresent(0, L.TP_ICMP_CODE | L.TP_ICMPV6_CODE), tests: [field(o + L.TUP_ICMP_CODE, 1, a)] };
    case L.FOP_ICMP_ID:
      return { present: tuplePresent(0, L.TP_ICMP_ID | L.TP_ICMPV6_ID), tests: [field(o + L.TUP_ICMP_ID, 2, a)] };
    default:
      return undefined;
  }
}

// Pushes (load(r + off) & mask) onto the stack.
function emitLoad(code: number[], t: FieldTest): void {
  code.push(OP.local_get, 0);
  code.push(t.width === 1 ? OP.i32_load8_u : t.width === 2 ? OP.i32_load16_u : OP.i32_load);
  uleb(code, t.width === 1 ? 0 : t.width === 2 ? 1 : 2); // alignment hint (log2)
  uleb(code, t.off);
  const full = t.width === 1 ? 0xff : t.width === 2 ? 0xffff : 0xffffffff;
  if ((t.mask & full) >>> 0 !== full) {
    code.push(OP.i32_const);
    sleb(code, t.mask);
    code.push(OP.i32_and);
  }
}

// Leaves 1 on the stack when the test fails (so br_if can leave on it).
function emitFails(code: number[], t: FieldTest, presence: boolean): void {
  emitLoad(code, t);
  if (presence) {
    code.push(OP.i32_eqz);
  } else {
    code.push(OP.i32_const);
    sleb(code, t.value);
    code.push(OP.i32_ne);
  }
}

/**
 * A plain condition: `block { if any test fails: br 0 (condition false) ;
 * condition true }`. Not negated: false returns 0 from f. Negated: true
 * returns 0, false goes on with the next condition.
 */
function emitInline(code: number[], c: Inline, negate: boolean): void {
  if (!negate) {
    for (const t of c.present) {
      emitFails(code, t, true);
      code.push(OP.if, VOID, OP.i32_const, 0, OP.return, OP.end);
    }
    for (const t of c.tests) {
      emitFails(code, t, false);
      code.push(OP.if, VOID, OP.i32_const, 0, OP.return, OP.end);
    }
    return;
  }
  code.push(OP.block, VOID);
  for (const t of c.present) {
    emitFails(code, t, true);
    code.push(OP.br_if, 0);
  }
  for (const t of c.tests) {
    emitFails(code, t, false);
    code.push(OP.br_if, 0);
  }
  code.push(OP.i32_const, 0, OP.return, OP.end);
}

// Any other condition: evalCond(r, c) != 1 returns 0 (negation and unknown
// ops are evalCond's business).
function emitCall(code: number[], condAddr: number): void {
  code.push(OP.local_get, 0, OP.i32_const);
  sleb(code, condAddr);
  code.push(OP.call, 0, OP.i32_const, 1, OP.i32_ne, OP.if, VOID, OP.i32_const, 0, OP.return, OP.end);
}

/** How a program was compiled: which conditions are inline. */
export interface JitSummary {
  conditions: number;
  inline: number;
}

/**
 * Compile a (validated) program — the bytes FilterBuilder.compile() makes — to
 * a module exporting f(r). The program must also be in the decoder's FILTER
 * region: called-back conditions are read from there.
 */
export function compileProgram(program: Uint8Array): { bytes: Uint8Array; summary: JitSummary } {
  const dv = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const n = dv.getUint32(L.FILTER_COUNT, true);
  const body: number[] = [0]; // no locals
  let inlined = 0;
  for (let i = 0; i < n; i++) {
    const c = L.FILTER_HDR + i * L.FCOND_SIZE;
    const op = program[c + L.FCOND_OP];
    const negate = program[c + L.FCOND_NEG] === 1;
    const form = inline(op, program[c + L.FCOND_SLOT], program[c + L.FCOND_PLEN],
      dv.getUint32(c + L.FCOND_A, true), dv.getUint32(c + L.FCOND_B, true),
      program.subarray(c + L.FCOND_ADDR, c + L.FCOND_ADDR + 16), program.subarray(c + L.FCOND_MASK, c + L.FCOND_MASK + 16));
    if (form) {
      emitInline(body, form, negate);
      inlined++;
    } else {
      emitCall(body, L.FILTER + c);
    }
  }
  body.push(OP.i32_const, 1, OP.end);

  const types: number[] = [2, 0x60, 1, I32, 1, I32, 0x60, 2, I32, I32, 1, I32]; // 0: (i32)->i32, 1: (i32,i32)->i32
  const imports: number[] = [2];
  str(imports, 'env');
  str(imports, 'memory');
  imports.push(0x02, 0x01);
  uleb(imports, L.MEMORY_PAGES);
  uleb(imports, L.MEMORY_PAGES);
  str(imports, 'env');
  str(imports, 'evalCond');
  imports.push(0x00, 1);
  const funcs = [1, 0];
  const exps: number[] = [1];
  str(exps, 'f');
  exps.push(0x00, 1); // func 1: the imported evalCond is func 0
  const code: number[] = [1];
  uleb(code, body.length);
  code.push(...body);
  return { bytes: moduleBytes([[1, types], [2, imports], [3, funcs], [7, exps], [10, code]]), summary: { conditions: n, inline: inlined } };
}

// Compiled modules by program bytes: a dump per request recompiles nothing.
const cache = new Map<string, { module: WebAssembly.Module; summary: JitSummary }>();
const CACHE_MAX = 64;

/** The compiled module for a program (cached by its bytes). */
export function jitModule(program: Uint8Array): { module: WebAssembly.Module; summary: JitSummary } {
  const key = Buffer.from(program.buffer, program.byteOffset, program.byteLength).toString('latin1');
  let hit = cache.get(key);
  if (hit) {
    cache.delete(key); // most recently used last
    cache.set(key, hit);
    return hit;
  }
  const { bytes, summary } = compileProgram(program);
  hit = { module: new WebAssembly.Module(bytes), summary };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(key, hit);
  return hit;
}
