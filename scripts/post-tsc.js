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
