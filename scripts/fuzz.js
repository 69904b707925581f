#!/usr/bin/env node
'use strict';
// npm run fuzz [-- --seed N --cases N --jobs N --timeout-ms N --chunk N --out DIR --write-bombs --inject-hang N]
//
// Mutates every captured datagram in fixtures/ and test/fixtures/ and decodes
// each case with the checked and the release WASM builds (scripts/fuzz-core.js
// says what is checked). The decoder is synchronous, so a hang cannot be
// interrupted from inside: cases run in worker threads that publish the index
// of the case they are on in shared memory; the main thread kills a worker
// that sits on one case longer than --timeout-ms, saves that case, and starts
// a new worker after it. Failing inputs are saved as
// test/fixtures/fuzz-regressions/<sha256-prefix>.bin (+ .json: how it was made),
// and test/fuzz.test.ts replays them forever after.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const os = require('os');
const path = require('path');
const core = require('./fuzz-core');

const ROOT = path.join(__dirname, '..');
const CORPUS_DIRS = [path.join(ROOT, 'fixtures'), path.join(ROOT, 'test', 'fixtures')];

function loadLib() {
  const dist = path.join(ROOT, 'dist');
  if (!fs.existsSync(path.join(dist, 'index.js'))) throw new Error('dist/ is missing: run "npm run build" first');
  return { ...require(path.join(dist, 'index.js')), ...require(path.join(dist, 'materialize.js')) };
}

if (!isMainThread) {
  // ------------------------------------------------------------ worker
  const lib = loadLib();
  const corpus = core.loadCorpus(lib, CORPUS_DIRS);
  const checker = core.createChecker(lib);
  const cur = new Int32Array(workerData.shared); // [current case index]
  parentPort.on('message', ({ start, end }) => {
    for (let i = start; i < end; i++) {
      Atomics.store(cur, 0, i);
      if (i === workerData.injectHang) for (;;); // --inject-hang: proves the watchdog
      const c = core.makeCase(corpus, workerData.seed, i);
      const failure = checker.check(c);
      if (failure !== null) parentPort.postMessage({ type: 'failure', index: i, failure });
    }
    Atomics.store(cur, 0, -1);
    parentPort.postMessage({ type: 'done', start, end, stats: { ...checker.stats } });
    for (const k of Object.keys(checker.stats)) checker.stats[k] = 0;
  });
  parentPort.postMessage({ type: 'ready', seeds: corpus.length });
  return;
}

// ---------------------------------------------------------------- main
function parseArgs(argv) {
  const o = { seed: 1, cases: 1_000_000, jobs: Math.max(1, Math.min(2, os.availableParallelism() - 1)), timeoutMs: 2000, chunk: 2000,
    out: path.join(ROOT, 'test', 'fixtures', 'fuzz-regressions'), writeBombs: false, injectHang: -1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer, not ${argv[i]}`);
      return v;
    };
    if (a === '--seed') o.seed = num();
    else if (a === '--cases') o.cases = num();
    else if (a === '--jobs') o.jobs = Math.max(1, num());
    else if (a === '--timeout-ms') o.timeoutMs = num();
    else if (a === '--chunk') o.chunk = Math.max(1, num());
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else if (a === '--write-bombs') o.writeBombs = true;
    else if (a === '--inject-hang') o.injectHang = num(); // self-test: case N spins forever
    else throw new Error(`unknown option ${a} (see the header of scripts/fuzz.js)`);
  }
  return o;
}

function save(dir, bytes, meta) {
  fs.mkdirSync(dir, { recursive: true });
  const name = core.inputName(bytes);
  fs.writeFileSync(path.join(dir, `${name}.bin`), bytes);
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(meta, null, 2) + '\n');
  return name;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const lib = loadLib();
  if (opts.writeBombs) {
    for (const [what, bytes] of Object.entries(core.bombs())) {
      console.log(`bomb ${what}: ${save(opts.out, bytes, { crafted: what })}.bin`);
    }
    return;
  }
  const corpus = core.loadCorpus(lib, CORPUS_DIRS); // main thread: to rebuild a failing case
  const queue = [];
  for (let s = 0; s < opts.cases; s += opts.chunk) queue.push({ start: s, end: Math.min(opts.cases, s + opts.chunk) });
  const totals = {};
  const failures = [];
  let done = 0;
  const t0 = process.hrtime.bigint();
  console.log(`fuzz: seed ${opts.seed}, ${opts.cases} cases, ${corpus.length} seed datagrams, ${opts.jobs} worker(s), ` +
    `per-case timeout ${opts.timeoutMs} ms, builds: checked + release`);

  const record = (index, failure) => {
    const c = core.makeCase(corpus, opts.seed, index);
    const name = save(opts.out, c.bytes, { seed: opts.seed, index, failure, seedDatagram: c.seedName, ops: c.ops });
    failures.push({ index, failure, name });
    console.log(`FAIL case ${index} (${c.seedName}, ${c.ops.join('+')}): ${failure} -> ${path.relative(ROOT, opts.out)}/${name}.bin`);
  };

  let onFinish = () => {};
  return new Promise((resolve) => {
    const workers = new Set();
    const spawn = (firstJob) => {
      const shared = new SharedArrayBuffer(4);
      const cur = new Int32Array(shared);
      Atomics.store(cur, 0, -1);
      const w = new Worker(__filename, { workerData: { seed: opts.seed, shared, injectHang: opts.injectHang } });
      const st = { w, cur, job: null, lastIndex: -1, since: Date.now(), dead: false };
      workers.add(st);
      const next = (job) => {
        st.job = job ?? queue.shift() ?? null;
        if (st.job === null) {
          st.dead = true;
          workers.delete(st);
          void w.terminate();
          if (workers.size === 0) resolve();
          return;
        }
        w.postMessage(st.job);
      };
      // a worker that dies (or is killed) on case i: i is the failure, the rest of its chunk is requeued
      const lost = (why) => {
        if (st.dead) return;
        st.dead = true;
        workers.delete(st);
        const i = Atomics.load(cur, 0);
        if (st.job) {
          const at = i >= 0 ? i : st.job.start;
          record(at, why);
          if (at + 1 < st.job.end) queue.unshift({ start: at + 1, end: st.job.end });
          done += at + 1 - st.job.start;
        }
        void w.terminate();
        spawn();
      };
      st.lost = lost;
      w.on('message', (m) => {
        if (m.type === 'ready') next(firstJob);
        else if (m.type === 'failure') record(m.index, m.failure);
        else if (m.type === 'done') {
          done += m.end - m.start;
          for (const [k, v] of Object.entries(m.stats)) totals[k] = (totals[k] ?? 0) + v;
          next();
        }
      });
      w.on('error', (e) => lost(`worker crashed: ${e && e.message}`));
      w.on('exit', (code) => { if (!st.dead) lost(`worker exited with code ${code}`); });
    };
    for (let j = 0; j < opts.jobs; j++) spawn();

    const watchdog = setInterval(() => {
      const now = Date.now();
      for (const st of workers) {
        const i = Atomics.load(st.cur, 0);
        if (i !== st.lastIndex) {
          st.lastIndex = i;
          st.since = now;
        } else if (i >= 0 && now - st.since > opts.timeoutMs) {
          st.lost(`hang: one case ran longer than ${opts.timeoutMs} ms`);
        }
      }
    }, Math.max(50, Math.floor(opts.timeoutMs / 8)));
    const progress = setInterval(() => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`  ${done}/${opts.cases} cases, ${Math.round(done / s)} cases/s, ${failures.length} failure(s)`);
    }, 10_000);
    progress.unref();
    onFinish = () => { clearInterval(watchdog); clearInterval(progress); };
  }).then(() => {
    onFinish();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`fuzz: ${opts.cases} cases in ${secs.toFixed(1)} s = ${Math.round(opts.cases / secs)} cases/s ` +
      `(${Math.round((totals.decodes ?? 0) / secs)} decodes/s), seed ${opts.seed}`);
    console.log(`  decodes ${totals.decodes ?? 0}, records ${totals.records ?? 0} (malformed ${totals.bad ?? 0}, ` +
      `materialized ${totals.messages ?? 0}), larger than the arena ${totals.tooBig ?? 0}`);
    console.log(`  traps/foreign exceptions, reads outside the message, hangs: ${failures.length === 0 ? 'none' : failures.length + ' failure(s)'}`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  });
}
main().catch((e) => {
  console.error(`fuzz: ${e.message}`);
  process.exitCode = 2;
});
