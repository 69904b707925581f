'use strict';
// Deterministic cost of the WASM decode loop, in x86 instructions per message,
// for comparing decoder changes on a noisy machine (wall time varies by 10-20%
// between runs here; instruction counts by well under 1%).
//
//   node bench/instr.js [--corpus FILE] [--messages N] [--variant release|generic|checked]
//                       [--modes push,decode,records]
//
// Runs every mode (push only, push + decode, push + decode + RecordView reads
// like the "WASM records" pass of bench/passes.js) twice under
//   valgrind --tool=callgrind node --single-threaded --no-liftoff --predictable
// once with 1 measured pass and once with 4, after the same warm-up, and
// reports (Ir(4) - Ir(1)) / (3 * messages): start-up, compilation and warm-up
// cancel out. Needs valgrind. The child mode (--child) is what runs under it.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const corpusFile = opt('--corpus', path.join(__dirname, 'data', 'capture-300000.bin'));
const messages = Number(opt('--messages', 20000));
const variant = opt('--variant', 'release');
const modes = opt('--modes', 'push,decode,records').split(',');

/** The first datagrams of the capture holding about `n` messages. */
function load(n) {
  const { readCapture } = require('./capture');
  const all = readCapture(corpusFile);
  const out = [];
  let count = 0;
  for (const d of all) {
    if (count >= n) break;
    out.push(d);
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let p = 0; p + 16 <= d.length; p += (dv.getUint32(p, true) + 3) & ~3) count++;
  }
  return { datagrams: out, count };
}

function child(mode, passes) {
  const { Decoder } = require('../dist/decoder');
  const L = require('../dist/generated/layout');
  const { datagrams, count } = load(messages);
  const N = datagrams.length;
  const wasm = new Decoder({ variant });
  let sum = 0;
  function fill(i) {
    wasm.reset();
    while (i < N && wasm.push(datagrams[i])) i++;
    return i;
  }
  function pass() {
    for (let i = 0; i < N;) {
      i = fill(i);
      if (mode === 'push') continue;
      for (let k = wasm.decodeNext(); k > 0; k = wasm.decodeNext()) {
        if (mode === 'decode') continue;
        for (let j = 0; j < k; j++) {
          const r = wasm.record(j);
          if (r.kind === L.KIND_FLOW) sum = (sum + r.u32(L.REC_ID)) >>> 0;
        }
      }
    }
  }
  for (let w = 0; w < 10; w++) pass(); // tier-up (the counts settle after about 8 passes)
  for (let p = 0; p < passes; p++) pass();
  process.stdout.write(JSON.stringify({ count, sum }) + '\n');
}

if (argv[0] === '--child') {
  child(argv[1], Number(argv[2]));
} else {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-instr-'));
  const ir = (mode, passes) => {
    const file = path.join(out, `cg.${mode}.${passes}`);
    const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${file}`,
      process.execPath, '--single-threaded', '--no-liftoff', '--predictable', __filename,
      '--child', mode, String(passes), '--corpus', corpusFile, '--messages', String(messages), '--variant', variant],
    { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`callgrind run failed: ${r.stderr}`);
    const m = /summary:\s*(\d+)/.exec(fs.readFileSync(file, 'utf8'));
    return { ir: Number(m[1]), info: JSON.parse(r.stdout.trim().split('\n').pop()) };
  };
  const res = {};
  for (const mode of modes) {
    const a = ir(mode, 1), b = ir(mode, 4);
    res[mode] = (b.ir - a.ir) / (3 * a.info.count);
    console.log(`${mode.padEnd(8)} ${res[mode].toFixed(0).padStart(6)} instructions/message (${a.info.count} messages, ${variant})`);
  }
  if (res.push !== undefined && res.decode !== undefined && res.records !== undefined) console.log(`decode() alone ~${(res.decode - res.push).toFixed(0)}, RecordView reads ~${(res.records - res.decode).toFixed(0)} instructions/message`);
  fs.rmSync(out, { recursive: true, force: true });
}
