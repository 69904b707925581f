// Shape templates compiled to WebAssembly: the module bytes.
//
// assembly/shape.ts interprets a template (a loop over 16-byte compare chunks,
// then one loop per kind of copy op, each op loaded and decoded from the
// template: ~1000 instructions per message). shapeEmit() turns one template
// into a module whose function f(r, m) -> i32 does the same work as straight
// line code with every offset a constant (~350): the compares load the
// expected bytes and masks from the template (the only data that is not a
// constant of the code), the constant record bytes are immediate stores, and
// each copy op is a load and a store (big-endian values byte-swapped with one
// SIMD swizzle). f returns 1 after writing record r from message m (the
// caller checked nlmsg_len, nlmsg_type and nlmsg_flags: ST_KEY), 0 without
// writing anything when a compared byte differs.
//
// src/decoder.ts compiles the bytes (new WebAssembly.Module) into the slot of
// the shape table the decoder calls through (env.shapeJit, the trampoline
// src/shape-jit.ts builds). The bytes are written here rather than in
// TypeScript because a template is compiled while a dump runs, usually the
// first time in the process: the same generator in cold JavaScript took 2-5
// ms per template on the 2-vCPU bench VM (interpreted, then recompiled by
// TurboFan on the other core), here it takes some microseconds.
import * as L from "./layout";

const I32: u8 = 0x7f;
const V128: u8 = 0x7b;
// opcodes
const IF: u8 = 0x04, END: u8 = 0x0b, RETURN: u8 = 0x0f;
const LOCAL_GET: u8 = 0x20, LOCAL_SET: u8 = 0x21, LOCAL_TEE: u8 = 0x22;
const I32_LOAD: u8 = 0x28, I64_LOAD: u8 = 0x29, I32_LOAD8_U: u8 = 0x2d, I32_LOAD16_U: u8 = 0x2f;
const I32_STORE: u8 = 0x36, I64_STORE: u8 = 0x37, I32_STORE8: u8 = 0x3a, I32_STORE16: u8 = 0x3b;
const I32_CONST: u8 = 0x41, I32_OR: u8 = 0x72, I32_SHL: u8 = 0x74, I32_SHR_U: u8 = 0x76;
const SIMD: u8 = 0xfd;
// SIMD opcodes (after the 0xfd prefix; all below 0x80, so one LEB128 byte)
const V_LOAD: u8 = 0x00, V_SWIZZLE: u8 = 0x0e, V_AND: u8 = 0x4e, V_OR: u8 = 0x50, V_XOR: u8 = 0x51, V_ANY_TRUE: u8 = 0x53;
const V_STORE32_LANE: u8 = 0x5a, V_STORE64_LANE: u8 = 0x5b, V_LOAD32_ZERO: u8 = 0x5c, V_LOAD64_ZERO: u8 = 0x5d;

// The copy-op kinds of assembly/shape.ts, in ST_KIND_END order.
const K_COPY8: u32 = 0, K_COPY16: u32 = 1, K_COPY32: u32 = 2, K_COPY64: u32 = 3;
const K_SWAP16: u32 = 4, K_SWAP32: u32 = 5, K_SWAP64: u32 = 6, K_COUNT: u32 = 7;

// f's parameters r, m; its locals acc, s32, s64 (v128) and x (i32).
const R: u8 = 0, M: u8 = 1, ACC: u8 = 2, S32: u8 = 3, S64: u8 = 4, X: u8 = 5;
// Chunks compared between two tests of acc. Without those branches TurboFan
// schedules all loads first and spills most of them.
const CHUNK_GROUP: u32 = 4;
// What one template slot holds at most (assembly/layout.ts).
const NCHUNKS_MAX: u32 = (<u32>L.ST_CONST - <u32>L.ST_CHUNKS) / 32;
const NCONST_MAX: u32 = (<u32>L.ST_CONST_AT - <u32>L.ST_CONST) / 32;

// Everything before the code section is at most this long (the function
// body is written after it, then moved down).
const PREFIX_MAX: usize = 64;
// The longest body: 64 compare chunks of 17 bytes and tests, up to 640
// constant bytes stored one by one (9 bytes each), SHAPE_OPS_MAX copies
// (19 bytes at most) and the rest: well below 12 KiB.
const BODY_MAX: usize = <usize>L.SHAPE_JIT_OUT_SIZE - PREFIX_MAX;

let gPos: usize = 0; // next byte of the function body
let gEnd: usize = 0; // its limit: writes past it are dropped and fail the emit
let gOverflow = false;

// @ts-ignore: decorator
@inline function byte(b: u32): void {
  if (gPos < gEnd) store<u8>(gPos, <u8>b);
  else gOverflow = true;
  gPos++;
}

function uleb(v: u32): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v != 0) b |= 0x80;
    byte(b);
  } while (v != 0);
}

// The signed LEB128 of the i32 v.
function sleb(v: i32): void {
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0)) {
      byte(b);
      return;
    }
    byte(b | 0x80);
  }
}

function ulebLen(v: u32): u32 {
  let n: u32 = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

// memarg: alignment hint 1 (messages and record fields are not aligned), offset.
function memarg(offset: u32): void {
  byte(0);
  uleb(offset);
}

function simd(op: u8): void {
  byte(SIMD);
  byte(op);
}

function allBytes(p: usize, n: usize, v: u8): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) != v) return false;
  return true;
}

// acc is non-zero: some compared byte differs, return 0.
function testAcc(): void {
  byte(LOCAL_GET); byte(ACC);
  simd(V_ANY_TRUE);
  byte(IF); byte(0x40); byte(I32_CONST); byte(0); byte(RETURN); byte(END);
}

// 1. The compared bytes: acc |= (m[off..off+16] ^ expected) & mask per chunk.
// The counts are clamped to what a learned template can hold, so that even a
// template overwritten with nonsense (the memory is the embedder's) makes
// this read inside its slot: no trap.
function emitCompares(t: usize): void {
  const len = load<u32>(t + L.ST_KEY); // nlmsg_len, the low half of the key
  const nch = min(load<u32>(t + L.ST_NCHUNKS), NCHUNKS_MAX);
  let first = true;
  let inGroup: u32 = 0;
  for (let c: u32 = 0; c < nch; c++) {
    const off = len < 16 || c * 16 < len - 16 ? c * 16 : len - 16;
    const e = <u32>(t + L.ST_CHUNKS) + c * 32;
    if (allBytes(<usize>e + 16, 16, 0)) continue;
    byte(LOCAL_GET); byte(M);
    simd(V_LOAD); memarg(off);
    byte(I32_CONST); byte(0);
    simd(V_LOAD); memarg(e);
    simd(V_XOR);
    if (!allBytes(<usize>e + 16, 16, 0xff)) {
      byte(I32_CONST); byte(0);
      simd(V_LOAD); memarg(e + 16);
      simd(V_AND);
    }
    if (!first) {
      byte(LOCAL_GET); byte(ACC);
      simd(V_OR);
    }
    byte(LOCAL_SET); byte(ACC);
    first = false;
    if (++inGroup == CHUNK_GROUP) {
      testAcc();
      first = true;
      inGroup = 0;
    }
  }
  if (!first) testAcc();
}

// 2. Constant record bytes: immediate stores of each run (4, 2 or 1 bytes).
function emitConstants(t: usize): void {
  const ncst = min(load<u32>(t + L.ST_NCONST), NCONST_MAX);
  for (let i: u32 = 0; i < ncst; i++) {
    const at = <u32>load<u16>(t + L.ST_CONST_AT + (<usize>i << 1));
    const k = t + L.ST_CONST + (<usize>i << 5);
    for (let j: usize = 0; j < 16;) {
      if (load<u8>(k + j) != 0xff) {
        j++;
        continue;
      }
      const size: usize = j + 4 <= 16 && allBytes(k + j, 4, 0xff) ? 4 : j + 2 <= 16 && allBytes(k + j, 2, 0xff) ? 2 : 1;
      const v: u32 = size == 4 ? load<u32>(k + 16 + j) : size == 2 ? <u32>load<u16>(k + 16 + j) : <u32>load<u8>(k + 16 + j);
      byte(LOCAL_GET); byte(R);
      byte(I32_CONST); sleb(<i32>v);
      byte(size == 4 ? I32_STORE : size == 2 ? I32_STORE16 : I32_STORE8);
      memarg(at + <u32>j);
      j += size;
    }
  }
}

// 3. The copies. The byte-swap indices come from memory into locals once: as
// i8x16.shuffle immediates TurboFan rebuilds the constant at every use.
function emitCopies(t: usize): void {
  byte(I32_CONST); byte(0); simd(V_LOAD); memarg(<u32>L.SHAPE + L.SHAPE_BSWAP32); byte(LOCAL_SET); byte(S32);
  byte(I32_CONST); byte(0); simd(V_LOAD); memarg(<u32>L.SHAPE + L.SHAPE_BSWAP64); byte(LOCAL_SET); byte(S64);
  let i: u32 = 0;
  for (let kind: u32 = 0; kind < K_COUNT; kind++) {
    const end = min(<u32>load<u8>(t + L.ST_KIND_END + kind), <u32>L.SHAPE_OPS_MAX);
    for (; i < end; i++) {
      const op = load<u32>(t + L.ST_OPS + (<usize>i << 2));
      const src = op & 0xffff, dst = op >>> 16;
      byte(LOCAL_GET); byte(R); byte(LOCAL_GET); byte(M);
      if (kind == K_COPY8) {
        byte(I32_LOAD8_U); memarg(src); byte(I32_STORE8); memarg(dst);
      } else if (kind == K_COPY16) {
        byte(I32_LOAD16_U); memarg(src); byte(I32_STORE16); memarg(dst);
      } else if (kind == K_COPY32) {
        byte(I32_LOAD); memarg(src); byte(I32_STORE); memarg(dst);
      } else if (kind == K_COPY64) {
        byte(I64_LOAD); memarg(src); byte(I64_STORE); memarg(dst);
      } else if (kind == K_SWAP16) {
        // (x << 8 | x >> 8), stored as 16 bits
        byte(I32_LOAD16_U); memarg(src);
        byte(LOCAL_TEE); byte(X); byte(I32_CONST); byte(8); byte(I32_SHL);
        byte(LOCAL_GET); byte(X); byte(I32_CONST); byte(8); byte(I32_SHR_U); byte(I32_OR);
        byte(I32_STORE16); memarg(dst);
      } else {
        // K_SWAP32, K_SWAP64: the value bytes reversed into lanes 0..n-1
        const four = kind == K_SWAP32;
        simd(four ? V_LOAD32_ZERO : V_LOAD64_ZERO); memarg(src);
        byte(LOCAL_GET); byte(four ? S32 : S64);
        simd(V_SWIZZLE);
        simd(four ? V_STORE32_LANE : V_STORE64_LANE); memarg(dst); byte(0);
      }
    }
  }
}

// Everything before the code section's contents: the header, the type,
// import, function and export sections, the code section's id and size, the
// function count and the body's size. Returns its length.
function emitPrefix(p: usize, bodyLen: u32): usize {
  gPos = p;
  gEnd = p + PREFIX_MAX;
  byte(0x00); byte(0x61); byte(0x73); byte(0x6d); byte(0x01); byte(0x00); byte(0x00); byte(0x00);
  // type 0: (i32, i32) -> i32
  byte(1); byte(7); byte(1); byte(0x60); byte(2); byte(I32); byte(I32); byte(1); byte(I32);
  // import env.memory, MEMORY_PAGES pages, maximum the same
  const pages = <u32>L.MEMORY_PAGES;
  byte(2); uleb(1 + 4 + 7 + 2 + 2 * ulebLen(pages));
  byte(1);
  byte(3); byte(0x65); byte(0x6e); byte(0x76); // "env"
  byte(6); byte(0x6d); byte(0x65); byte(0x6d); byte(0x6f); byte(0x72); byte(0x79); // "memory"
  byte(0x02); byte(0x01); uleb(pages); uleb(pages);
  // one function of type 0
  byte(3); byte(2); byte(1); byte(0);
  // export "f" = function 0
  byte(7); byte(5); byte(1); byte(1); byte(0x66); byte(0x00); byte(0);
  // the code section: one body
  byte(10); uleb(1 + ulebLen(bodyLen) + bodyLen); byte(1); uleb(bodyLen);
  return gPos - p;
}

/**
 * Write the module of the template at t (SHAPE + SHAPE_HDR + slot *
 * SHAPE_T_SIZE) at SHAPE_JIT_OUT and return its length; 0 if it does not fit
 * there (the template then stays interpreted).
 */
export function shapeEmit(t: usize): u32 {
  const out: usize = L.SHAPE_JIT_OUT;
  const body = out + PREFIX_MAX;
  gPos = body;
  gEnd = body + BODY_MAX;
  gOverflow = false;
  // locals: 3 x v128 (acc, s32, s64), 1 x i32 (x)
  byte(2); byte(3); byte(V128); byte(1); byte(I32);
  emitCompares(t);
  emitConstants(t);
  emitCopies(t);
  byte(I32_CONST); byte(1); byte(END);
  if (gOverflow) return 0;
  const bodyLen = <u32>(gPos - body);
  const prefix = emitPrefix(out, bodyLen);
  memory.copy(out + prefix, body, bodyLen);
  return <u32>prefix + bodyLen;
}
