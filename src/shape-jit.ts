// Shape templates compiled to WebAssembly: the trampoline.
//
// assembly/shape.ts learns a template per flow-message shape and interprets
// it; assembly/shape-emit.ts writes a template as a module of its own, a
// straight-line function f(r, m) -> i32, which src/decoder.ts compiles once
// the template has decoded SHAPE_JIT_HITS messages and puts into slot i of
// the table below. The decoder calls it through env.shapeJit (built here,
// instantiated in src/wasm.ts) when the template's ST_JIT is 1. The checked
// build never calls it (its loads are checked in the interpreter).
// test/shape.test.ts holds the compiled templates to the generic walk.
import * as L from './generated/layout';
import { moduleBytes, str, uleb } from './filter-jit';

const I32 = 0x7f;
const FUNCREF = 0x70;
const LOCAL_GET = 0x20;
const CALL_INDIRECT = 0x11;
const END = 0x0b;

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
  const body = [0, LOCAL_GET, 1, LOCAL_GET, 2, LOCAL_GET, 0, CALL_INDIRECT, 0, 0, END];
  const code: number[] = [1];
  uleb(code, body.length);
  code.push(...body);
  return moduleBytes([[1, types], [3, funcs], [4, table], [7, exps], [10, code]]);
}
