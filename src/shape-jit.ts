// Shape templates compiled to WebAssembly.
//
// assembly/shape.ts learns a template per flow-message shape and applies it
// by interpreting it: a loop over 16-byte compare chunks, then one loop per
// kind of copy op, each op loaded and decoded from the template. That costs
// ~15-20 instructions per chunk or op, about 1000 per message. Here the same
// template becomes one straight-line function f(r, m) -> i32 with every
// offset a constant: the compares load the expected bytes and masks from the
// template (the only data that is not a constant of the code), the constant
// record bytes are immediate stores, and each copy op is a load and a store
// (big-endian values byte-swapped with one SIMD swizzle).
//
// Returns 1 after writing record r from message m (the caller checked
// nlmsg_len, nlmsg_type and nlmsg_flags: ST_KEY), 0 without writing anything
// when a compared byte differs. The decoder calls f through the trampoline
// module below (env.shapeJit, built in src/wasm.ts) when the template's
// ST_JIT is 1; src/decoder.ts compiles each template after the decode() call
// that learned it. The checked build never calls it (its loads are checked
// in the interpreter). test/shape.test.ts holds it to the generic walk.
import * as L from './generated/layout';
import { moduleBytes, sleb, str, uleb } from './filter-jit';

const I32 = 0x7f;
const V128 = 0x7b;
const FUNCREF = 0x70;
const OP = {
  if: 0x04, end: 0x0b, return: 0x0f, call_indirect: 0x11, local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, i64_load: 0x29, i32_load8_u: 0x2d, i32_load16_u: 0x2f,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b, i32_const: 0x41,
  i32_or: 0x72, i32_shl: 0x74, i32_shr_u: 0x76, simd: 0xfd,
} as const;
// SIMD opcodes (after the 0xfd prefix)
const V = {
  load: 0x00, swizzle: 0x0e, and: 0x4e, or: 0x50, xor: 0x51, any_true: 0x53,
  store32_lane: 0x5a, store64_lane: 0x5b, load32_zero: 0x5c, load64_zero: 0x5d,
} as const;

// The copy-op kinds of assembly/shape.ts, in ST_KIND_END order.
const K_COPY8 = 0, K_COPY16 = 1, K_COPY32 = 2, K_COPY64 = 3, K_SWAP16 = 4, K_SWAP32 = 5, K_SWAP64 = 6;
const K_COUNT = 7;

function memarg(out: number[], offset: number): void {
  out.push(0); // alignment hint 1: messages and record fields are not aligned
  uleb(out, offset);
}

function i32const(out: number[], v: number): void {
  out.push(OP.i32_const);
  sleb(out, v); // the signed LEB128 of the i32 v
}

/**
 * The trampoline the decoder imports as env.shapeJit: exports `t`, a table
 * of SHAPE_MAX functions (r, m) -> i32, and call(slot, r, m) = t[slot](r, m).
 */
export function shapeTrampolineBytes(): Uint8Array {
  const types = [2, 0x60, 2, I32, I32, 1, I32, 0x60, 3, I32, I32, I32, 1, I32];
  const funcs = [1, 1];
  const table: number[] = [1, FUNCREF, 0x00];
  uleb(table, L.SHAPE_MAX);
  const exps: number[] = [2];
  str(exps, 't');
  exps.push(0x01, 0);
  str(exps, 'call');
  exps.push(0x00, 0);
  const body = [0, OP.local_get, 1, OP.local_get, 2, OP.local_get, 0, OP.call_indirect, 0, 0, OP.end];
  const code: number[] = [1];
  uleb(code, body.length);
  code.push(...body);
  return moduleBytes([[1, types], [3, funcs], [4, table], [7, exps], [10, code]]);
}

/** f(r, m) for the template at absolute address t of `mem`. */
export function shapeModuleBytes(mem: Uint8Array, t: number): Uint8Array {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const R = 0, M = 1, ACC = 2, S32 = 3, S64 = 4, X = 5; // params r, m; locals acc, s32, s64 (v128), x (i32)
  const b: number[] = [];
  const simd = (op: number): void => {
    b.push(OP.simd);
    uleb(b, op);
  };

  // 1. The compared bytes: acc |= (m[off..off+16] ^ expected) & mask, per
  // chunk, and a test of acc after every CHUNK_GROUP chunks. Without those
  // branches TurboFan schedules all loads first and spills most of them.
  const len = dv.getUint32(t + L.ST_KEY, true);
  const nch = dv.getUint32(t + L.ST_NCHUNKS, true);
  const CHUNK_GROUP = 4;
  let first = true;
  let inGroup = 0;
  const test = (): void => {
    b.push(OP.local_get, ACC);
    simd(V.any_true);
    b.push(OP.if, 0x40, OP.i32_const, 0, OP.return, OP.end);
    first = true;
    inGroup = 0;
  };
  for (let c = 0; c < nch; c++) {
    const off = Math.min(c * 16, len - 16);
    const e = t + L.ST_CHUNKS + c * 32;
    const mask = mem.subarray(e + 16, e + 32);
    if (mask.every((x) => x === 0)) continue;
    b.push(OP.local_get, M);
    simd(V.load);
    memarg(b, off);
    b.push(OP.i32_const, 0);
    simd(V.load);
    memarg(b, e);
    simd(V.xor);
    if (!mask.every((x) => x === 0xff)) {
      b.push(OP.i32_const, 0);
      simd(V.load);
      memarg(b, e + 16);
      simd(V.and);
    }
    if (!first) {
      b.push(OP.local_get, ACC);
      simd(V.or);
    }
    b.push(OP.local_set, ACC);
    first = false;
    if (++inGroup === CHUNK_GROUP) test();
  }
  if (!first) test();

  // 2. Constant record bytes: immediate stores of each run (4, 2 or 1 bytes).
  const ncst = dv.getUint32(t + L.ST_NCONST, true);
  for (let i = 0; i < ncst; i++) {
    const at = dv.getUint16(t + L.ST_CONST_AT + i * 2, true);
    const k = t + L.ST_CONST + i * 32;
    for (let j = 0; j < 16;) {
      if (mem[k + j] !== 0xff) {
        j++;
        continue;
      }
      let size = 1;
      for (const sz of [4, 2]) {
        if (j + sz <= 16 && mem.subarray(k + j, k + j + sz).every((x) => x === 0xff)) {
          size = sz;
          break;
        }
      }
      const v = size === 4 ? dv.getUint32(k + 16 + j, true) : size === 2 ? dv.getUint16(k + 16 + j, true) : mem[k + 16 + j];
      b.push(OP.local_get, R);
      i32const(b, v);
      b.push(size === 4 ? OP.i32_store : size === 2 ? OP.i32_store16 : OP.i32_store8);
      memarg(b, at + j);
      j += size;
    }
  }

  // 3. The copies. The byte-swap indices come from memory into locals once:
  // as i8x16.shuffle immediates TurboFan rebuilds the constant at every use.
  for (const [local, at] of [[S32, L.SHAPE_BSWAP32], [S64, L.SHAPE_BSWAP64]]) {
    b.push(OP.i32_const, 0);
    simd(V.load);
    memarg(b, L.SHAPE + at);
    b.push(OP.local_set, local);
  }
  let i = 0;
  for (let kind = 0; kind < K_COUNT; kind++) {
    const end = mem[t + L.ST_KIND_END + kind];
    for (; i < end; i++) {
      const op = dv.getUint32(t + L.ST_OPS + i * 4, true);
      const src = op & 0xffff, dst = op >>> 16;
      b.push(OP.local_get, R, OP.local_get, M);
      switch (kind) {
        case K_COPY8: b.push(OP.i32_load8_u); memarg(b, src); b.push(OP.i32_store8); memarg(b, dst); break;
        case K_COPY16: b.push(OP.i32_load16_u); memarg(b, src); b.push(OP.i32_store16); memarg(b, dst); break;
        case K_COPY32: b.push(OP.i32_load); memarg(b, src); b.push(OP.i32_store); memarg(b, dst); break;
        case K_COPY64: b.push(OP.i64_load); memarg(b, src); b.push(OP.i64_store); memarg(b, dst); break;
        case K_SWAP16:
          // (x << 8 | x >> 8), stored as 16 bits
          b.push(OP.i32_load16_u); memarg(b, src);
          b.push(OP.local_tee, X, OP.i32_const, 8, OP.i32_shl, OP.local_get, X, OP.i32_const, 8, OP.i32_shr_u, OP.i32_or);
          b.push(OP.i32_store16); memarg(b, dst);
          break;
        case K_SWAP32:
        case K_SWAP64: {
          const n = kind === K_SWAP32 ? 4 : 8;
          simd(n === 4 ? V.load32_zero : V.load64_zero); memarg(b, src);
          // the n value bytes reversed into lanes 0..n-1
          b.push(OP.local_get, n === 4 ? S32 : S64);
          simd(V.swizzle);
          simd(n === 4 ? V.store32_lane : V.store64_lane); memarg(b, dst); b.push(0);
          break;
        }
      }
    }
  }
  b.push(OP.i32_const, 1, OP.end);

  const types = [1, 0x60, 2, I32, I32, 1, I32];
  const imports: number[] = [1];
  str(imports, 'env');
  str(imports, 'memory');
  imports.push(0x02, 0x01);
  uleb(imports, L.MEMORY_PAGES);
  uleb(imports, L.MEMORY_PAGES);
  const exps: number[] = [1];
  str(exps, 'f');
  exps.push(0x00, 0);
  const fn: number[] = [2, 3, V128, 1, I32, ...b]; // locals: acc, s32, s64 v128; x i32
  const code: number[] = [1];
  uleb(code, fn.length);
  code.push(...fn);
  return moduleBytes([[1, types], [2, imports], [3, [1, 0]], [7, exps], [10, code]]);
}
