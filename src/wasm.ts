/// <reference path="./webassembly.d.ts" />
// Loads the decoder's WebAssembly module. TypeScript owns the memory: one
// fixed-size WebAssembly.Memory per instance (initial = maximum), so the
// ArrayBuffer never detaches and views over it stay valid for its lifetime.
import { readFileSync, existsSync } from 'fs';
import { setFlagsFromString } from 'v8';
import { trampolineBytes } from './filter-jit';
import { shapeTrampolineBytes } from './shape-jit';
import * as path from 'path';
import { ConntrackError } from './errors';
import * as L from './generated/layout';

/** Functions exported by assembly/index.ts. */
export interface DecoderExports {
  init(): number;
  begin(n: number): void;
  decode(): number;
  recordSize(): number;
  regionBase(): number;
  selfTestViolation(): number;
  /** Forget the shape templates (assembly/shape.ts); off = 1: learn no more. */
  shapeReset(off: number): void;
  /** The module bytes of the template at address t, written at SHAPE_JIT_OUT; returns their length (assembly/shape-emit.ts). */
  shapeEmit(t: number): number;
}

/** One instance of the decoder with its own memory and views over it. */
export interface WasmCore {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly exports: DecoderExports;
  /** Which build of the decoder this is. */
  readonly variant: WasmVariant;
  /** Slot 0 holds the compiled filter function the decoder calls (src/filter-jit.ts). */
  readonly filterTable: WebAssembly.Table;
  /** Slot i holds the compiled shape template i (src/shape-jit.ts). */
  readonly shapeTable: WebAssembly.Table;
}

/**
 * Builds of the decoder (asconfig.json targets):
 * - 'release': fast paths on, no instrumentation (the default);
 * - 'checked': every load checked against the current message, violations counted;
 * - 'generic': fast paths off, every attribute through the generic walk
 *   (tests compare it with 'release' to prove the fast paths change nothing).
 */
export type WasmVariant = 'release' | 'checked' | 'generic';

const FILES: Record<WasmVariant, string> = {
  release: 'conntrack.wasm',
  checked: 'conntrack-checked.wasm',
  generic: 'conntrack-generic.wasm',
};

const modules: Partial<Record<WasmVariant, WebAssembly.Module>> = {};
let trampoline: WebAssembly.Module | undefined;
let shapeTrampoline: WebAssembly.Module | undefined;

function wasmFile(variant: WasmVariant): string {
  const name = FILES[variant];
  // dist/wasm.js -> dist/wasm/; src/wasm.ts (tests under ts-jest) -> dist/wasm/
  const candidates = [path.join(__dirname, 'wasm', name), path.join(__dirname, '..', 'dist', 'wasm', name)];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new ConntrackError('ERR_CT_WASM', `decoder module ${name} not found (looked in ${candidates.join(', ')}); run "npm run build"`);
}

function compiled(variant: WasmVariant): WebAssembly.Module {
  let mod = modules[variant];
  if (!mod) {
    try {
      mod = compileDecoder(readFileSync(wasmFile(variant)));
    } catch (e) {
      if (e instanceof ConntrackError) throw e;
      throw new ConntrackError('ERR_CT_WASM', `cannot compile the decoder module: ${(e as Error).message}`, { cause: e });
    }
    modules[variant] = mod;
  }
  return mod;
}

/** Instantiate a decoder with a fresh memory. Synchronous: the module is small and cached. */
export function createCore(variant: WasmVariant = 'release'): WasmCore {
  if (!(variant in FILES)) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `unknown decoder build '${String(variant)}'`);
  const memory = new WebAssembly.Memory({ initial: L.MEMORY_PAGES, maximum: L.MEMORY_PAGES });
  // the compiled-filter slot: the decoder imports trampoline.call, which calls t[0]
  if (!trampoline) trampoline = new WebAssembly.Module(trampolineBytes());
  const tramp = new WebAssembly.Instance(trampoline).exports as { t: WebAssembly.Table; call: (r: number) => number };
  // the compiled shape templates: the decoder imports shapeJit(slot, r, m), which calls t[slot](r, m)
  const shapes = new WebAssembly.Instance((shapeTrampoline ??= new WebAssembly.Module(shapeTrampolineBytes()))).exports as { t: WebAssembly.Table; call: (slot: number, r: number, m: number) => number };
  const instance = new WebAssembly.Instance(compiled(variant), { env: { memory, filterJit: tramp.call, shapeJit: shapes.call } });
  const exports = instance.exports as unknown as DecoderExports;
  if (exports.recordSize() !== L.REC_SIZE || exports.regionBase() !== L.REGION_BASE) {
    throw new ConntrackError('ERR_CT_WASM', 'the decoder module does not match this build of the library (stale dist/wasm); run "npm run build"');
  }
  const overlap = exports.init();
  if (overlap !== 0) {
    throw new ConntrackError('ERR_CT_WASM', `decoder static data overlaps the record regions by ${overlap} bytes`);
  }
  return { memory, bytes: new Uint8Array(memory.buffer), view: new DataView(memory.buffer), exports, variant, filterTable: tramp.t, shapeTable: shapes.t };
}

// --- when the decoder's code is optimized ------------------------------------
//
// V8 runs WebAssembly first as Liftoff (baseline) code and recompiles a
// function with TurboFan once it has used up its "tiering budget" (roughly
// bytes of code executed). With V8's default budget (1.8M) the decoder's
// largest functions tier up within the first few hundred records of a dump,
// and compiling them with TurboFan takes ~15-40 ms of CPU on the 2-vCPU bench
// VM (node 20): more than decoding a whole 10k-entry dump in Liftoff (~3 ms).
// That compile runs on a V8 worker thread, so on a machine whose other core
// is busy it competes with the dump itself. The module is therefore compiled
// with a larger budget: the hottest decode function tiers up after some tens
// of thousands of records, when TurboFan starts to pay back (a 1M-entry
// decode is ~1% slower than with V8's default, a 10k dump has no compile).
// ctrack, whose time goes mostly into the WASM text formatter of the same
// module, asks for a smaller one (setDecoderTieringBudget): with 1e9 the
// formatter would stay in Liftoff for ~40% of a 1M-line listing (+12%).
//
// V8 (11.3) takes the budget from the flag when the module is compiled, so
// the flag is set for the synchronous `new WebAssembly.Module` only and put
// back right after: other WebAssembly in the process keeps V8's default. This
// is done only on V8 versions whose default is known (it changed across V8
// releases; elsewhere V8's own budget applies), and never when the process
// was started with its own --wasm-tiering-budget.
let decoderTieringBudget = 1_000_000_000; // < 2^31: the flag is an int
const V8_DEFAULT_TIERING_BUDGET: Record<number, number> = { 11: 1_800_000 };

/**
 * The WASM tiering budget decoder modules compiled from now on get (see the
 * comment above); modules already compiled keep theirs.
 * @internal
 */
export function setDecoderTieringBudget(budget: number): void {
  if (!Number.isInteger(budget) || budget < 1 || budget > 0x7fffffff) throw new RangeError(`tiering budget out of range: ${budget}`);
  decoderTieringBudget = budget;
}

let budgetDefault: number | null | undefined;

function tieringBudgetDefault(): number | null {
  if (budgetDefault === undefined) {
    const major = Number(process.versions.v8.split('.')[0]);
    const own = process.execArgv.some((a) => /^--(no-?)?wasm[-_]tiering[-_]budget\b/.test(a));
    budgetDefault = own ? null : V8_DEFAULT_TIERING_BUDGET[major] ?? null;
  }
  return budgetDefault;
}

function compileDecoder(bytes: Uint8Array): WebAssembly.Module {
  const restore = tieringBudgetDefault();
  if (restore === null) return new WebAssembly.Module(bytes);
  setFlagsFromString(`--wasm-tiering-budget=${decoderTieringBudget}`);
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    setFlagsFromString(`--wasm-tiering-budget=${restore}`);
  }
}
