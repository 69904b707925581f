/// <reference path="./webassembly.d.ts" />
// Loads the decoder's WebAssembly module. TypeScript owns the memory: one
// fixed-size WebAssembly.Memory per instance (initial = maximum), so the
// ArrayBuffer never detaches and views over it stay valid for its lifetime.
import { readFileSync, existsSync } from 'fs';
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
}

/** One instance of the decoder with its own memory and views over it. */
export interface WasmCore {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly exports: DecoderExports;
  /** True for the bounds-instrumented build. */
  readonly checked: boolean;
}

const modules: { release?: WebAssembly.Module; checked?: WebAssembly.Module } = {};

function wasmFile(checked: boolean): string {
  const name = checked ? 'conntrack-checked.wasm' : 'conntrack.wasm';
  // dist/wasm.js -> dist/wasm/; src/wasm.ts (tests under ts-jest) -> dist/wasm/
  const candidates = [path.join(__dirname, 'wasm', name), path.join(__dirname, '..', 'dist', 'wasm', name)];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new ConntrackError('ERR_CT_WASM', `decoder module ${name} not found (looked in ${candidates.join(', ')}); run "npm run build"`);
}

function compiled(checked: boolean): WebAssembly.Module {
  const key = checked ? 'checked' : 'release';
  let mod = modules[key];
  if (!mod) {
    try {
      mod = new WebAssembly.Module(readFileSync(wasmFile(checked)));
    } catch (e) {
      if (e instanceof ConntrackError) throw e;
      throw new ConntrackError('ERR_CT_WASM', `cannot compile the decoder module: ${(e as Error).message}`, { cause: e });
    }
    modules[key] = mod;
  }
  return mod;
}

/** Instantiate a decoder with a fresh memory. Synchronous: the module is small and cached. */
export function createCore(checked = false): WasmCore {
  const memory = new WebAssembly.Memory({ initial: L.MEMORY_PAGES, maximum: L.MEMORY_PAGES });
  const instance = new WebAssembly.Instance(compiled(checked), { env: { memory } });
  const exports = instance.exports as unknown as DecoderExports;
  if (exports.recordSize() !== L.REC_SIZE || exports.regionBase() !== L.REGION_BASE) {
    throw new ConntrackError('ERR_CT_WASM', 'the decoder module does not match this build of the library (stale dist/wasm); run "npm run build"');
  }
  const overlap = exports.init();
  if (overlap !== 0) {
    throw new ConntrackError('ERR_CT_WASM', `decoder static data overlaps the record regions by ${overlap} bytes`);
  }
  return { memory, bytes: new Uint8Array(memory.buffer), view: new DataView(memory.buffer), exports, checked };
}
