#!/usr/bin/env node
// After tsc: the CLI entry point needs its executable bit (tsc drops it), and
// the ambient WebAssembly declarations (src/webassembly.d.ts, not emitted by
// tsc) must sit next to the emitted .d.ts files that reference them.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const bin = path.join(root, 'dist', 'cli', 'ctrack.js');
if (fs.existsSync(bin)) fs.chmodSync(bin, 0o755);
fs.copyFileSync(path.join(root, 'src', 'webassembly.d.ts'), path.join(root, 'dist', 'webassembly.d.ts'));
// tsc does not carry the triple-slash reference into wasm.d.ts; add it back.
const wasmDts = path.join(root, 'dist', 'wasm.d.ts');
const ref = '/// <reference path="./webassembly.d.ts" />\n';
const text = fs.readFileSync(wasmDts, 'utf8');
if (!text.startsWith(ref)) fs.writeFileSync(wasmDts, ref + text);

// The generated constant modules (src/generated/layout.ts, attrs.ts: ~600
// `export const NAME = <number>;` lines with TSDoc) come out of tsc as 140 KB
// of comments and `exports.NAME = ...` stores. Loading that form costs about
// 9 ms and allocates ~500 KB of young-generation memory, enough to put a
// scavenge into the first dump of a short process (ctrack -L, a 10k-entry
// dump: bench/dump.js). The values are all numbers, so they are written back
// as one object literal: ~60 KB less allocation each. The .d.ts files keep
// the TSDoc; test/generated.test.ts checks the values against src/generated/.
for (const name of ['layout', 'attrs']) {
  const file = path.join(root, 'dist', 'generated', `${name}.js`);
  if (!fs.existsSync(file)) continue;
  delete require.cache[require.resolve(file)];
  const values = require(file);
  const entries = Object.entries(values).filter(([k]) => k !== '__esModule');
  if (entries.length === 0 || !entries.every(([k, v]) => /^[A-Za-z_$][\w$]*$/.test(k) && Number.isFinite(v))) {
    throw new Error(`post-tsc: dist/generated/${name}.js does not hold only numeric constants; update scripts/post-tsc.js`);
  }
  const body = entries.map(([k, v]) => `  ${k}: ${v},`).join('\n');
  fs.writeFileSync(file, `"use strict";\n// Compacted by scripts/post-tsc.js from tsc's output of src/generated/${name}.ts (docs: ${name}.d.ts).\nmodule.exports = {\n  __esModule: true,\n${body}\n};\n`);
  fs.rmSync(`${file}.map`, { force: true });
}
