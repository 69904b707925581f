'use strict';
// Decode-throughput benchmark (section 1 of the suite, bench/suite.js): the
// WASM decoder against two hand-written JS baselines and the C and Go anchors
// (bench/anchors/, run as child processes inside the rotation), on the same
// datagrams, interleaved.
//
//   npm run bench:decode              full run (writes bench/RESULTS-decode.md + .json)
//   npm run bench:decode -- --quick   smaller run (prints only)
//   options: --messages N  --reps N  --out FILE (write the report there)
//            --corpus FILE (a bench/capture.js file; default: record a fresh
//            capture of --messages entries from a new namespace, needs root)
//            --synthetic (the older synthetic-from-real corpus, no anchors)
//            --no-anchors
//            --only lean,naive,wasmObjects,pushOnly (investigation: these plus
//            WASM records, table only, no report)
//
// Never part of `npm test` (jest only looks in test/).
//
// Method: build the corpus once; self-check that the baselines decode the same
// values as the WASM decoder; warm every decoder up; then for each repetition
// time one full pass of every decoder (order rotated per repetition, forced GC
// before each pass, outside the timing). Report median and min-max per
// decoder, then measure heap growth / allocation in extra passes per decoder.
//
// Files: corpus.js (input), baselines/naive.js + lean.js (JS decoders),
// selfcheck.js (all decoders agree before anything is timed), passes.js (the
// timed loops), heap.js (heap/GC measurement), env.js (build and machine
// notes), stats.js (median, formatting), report.js (RESULTS.md).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { performance } = require('perf_hooks');

// --- we need global.gc: re-run this script under --expose-gc ----------------
if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const { ensureDist, buildIdentity, machineNotes, loadavg, procStat, machineBusy } = require('./env');
const { makePasses, result } = require('./passes');
const { measureOnce, heapPass, stopGcCounting } = require('./heap');
const { median, fmt, pad, lpad } = require('./stats');
const { report } = require('./report');

// --- options -----------------------------------------------------------------
function parseArgs(argv) {
  const quick = argv.includes('--quick');
  const opt = (name, def) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
  };
  const o = {
    quick,
    messages: Number(opt('--messages', quick ? 100000 : 300000)),
    reps: Number(opt('--reps', quick ? 5 : 21)),
    // V8 compiles WASM with Liftoff first and tiers up to TurboFan while it
    // runs, and JS goes through its own tiers: warm up generously.
    // (The warm-up pass times are printed in the report.)
    warmup: quick ? 4 : 6,
    heapTrials: 5,
    out: opt('--out', quick ? null : path.join(__dirname, 'RESULTS-decode.md')),
    // --only lean,naive: measure only these (plus WASM records); for investigating, not for reports
    only: opt('--only', null) && opt('--only', null).split(','),
    // the corpus: a capture file (bench/capture.js format); without one this
    // script records one itself from a fresh namespace (root, real kernel);
    // --synthetic: the older synthetic-from-real corpus of bench/corpus.js
    corpus: opt('--corpus', null),
    synthetic: argv.includes('--synthetic'),
    anchors: !argv.includes('--no-anchors'),
  };
  if (!(o.messages >= 1000) || !(o.reps >= 1)) throw new Error('--messages must be >= 1000 and --reps >= 1');
  return o;
}

/** The corpus: a given capture file, a fresh capture (default), or the synthetic one. */
async function loadCorpus(opts) {
  if (opts.synthetic) return { corpus: require('./corpus').buildCorpus(opts.messages), file: null };
  const cap = require('./capture');
  let file = opts.corpus;
  if (!file) {
    file = path.join(__dirname, 'data', `capture-${opts.messages}.bin`);
    await cap.capture(opts.messages, file);
  }
  return { corpus: cap.corpusFromCapture(file), file };
}
const ROOT_DIR = path.join(__dirname, '..');

/** Untimed warm-up passes (JIT and WASM tier-up); returns ns/message per pass, per decoder. */
function warmUp(passes, opts, check, messages) {
  const warm = new Map(passes.map((p) => [p.key, []]));
  for (let w = 0; w < opts.warmup; w++) {
    for (const p of passes) {
      if (p.external) { // the harness warms up itself on every run; one run here checks it works
        if (w === 0) warm.get(p.key).push((p.run().ms * 1e6) / messages);
        continue;
      }
      const a = performance.now();
      check(p, p.run());
      warm.get(p.key).push(((performance.now() - a) * 1e6) / messages);
    }
  }
  return warm;
}

/**
 * The timed repetitions: every decoder once per repetition, order rotated,
 * forced GC (untimed) before each pass so garbage of the previous pass is not
 * charged to the next. Wall time is the measure; process CPU time (all
 * threads, including V8's GC and compiler helpers) is kept as a cross-check.
 */
function timeReps(passes, opts, check) {
  const times = new Map(passes.map((p) => [p.key, []]));
  const cpuTimes = new Map(passes.map((p) => [p.key, []]));
  let wallSum = 0, cpuSum = 0;
  const stat0 = procStat();
  const t0 = performance.now();
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let k = 0; k < passes.length; k++) {
      const p = passes[(rep + k) % passes.length];
      if (p.external) { // a harness process: its own timing of its own pass (checked inside run())
        const x = p.run();
        p.last = x;
        times.get(p.key).push(x.ms);
        cpuTimes.get(p.key).push(x.cpuMs); // the harness process's CPU time over its timed pass
        continue;
      }
      global.gc();
      const c = process.cpuUsage();
      const a = performance.now();
      const n = p.run();
      const ms = performance.now() - a;
      const cu = process.cpuUsage(c);
      const cpuMs = (cu.user + cu.system) / 1000;
      check(p, n);
      times.get(p.key).push(ms);
      cpuTimes.get(p.key).push(cpuMs);
      wallSum += ms;
      cpuSum += cpuMs;
    }
    if (process.stdout.isTTY) process.stdout.write(`\rrepetitions: ${rep + 1}/${opts.reps}`);
  }
  if (process.stdout.isTTY) process.stdout.write('\r');
  console.log(`timed repetitions: ${opts.reps} (${fmt((performance.now() - t0) / 1000, 1)} s)`);
  const busy = machineBusy(stat0, procStat());
  const ncpu = os.cpus().length;
  const busyText = busy
    ? `all ${ncpu} CPUs were ${fmt(100 * busy.busy, 0)}% busy during the timed passes ` +
      `(this process alone is about ${fmt(100 / ncpu, 0)}%), hypervisor steal ${fmt(100 * busy.steal, 1)}%`
    : 'CPU busy share unknown (no /proc/stat)';
  console.log(busyText);
  return { times, cpuTimes, cpuShare: cpuSum / wallSum, busyText };
}

/** One result row per decoder (times in ms per pass -> per-message figures). */
function summarize(passes, timing, heap, corpus) {
  const msgs = corpus.messages; // per corpus message (also for the push-only row)
  const mb = corpus.bytes / 1e6;
  return passes.map((p) => {
    const ts = timing.times.get(p.key);
    const med = median(ts), min = Math.min(...ts), max = Math.max(...ts);
    const h = heap.get(p.key);
    return {
      p,
      nsMed: (med * 1e6) / msgs, nsMin: (min * 1e6) / msgs, nsMax: (max * 1e6) / msgs,
      nsCpu: (median(timing.cpuTimes.get(p.key)) * 1e6) / msgs,
      msgsPerSec: msgs / (med / 1e3),
      mbPerSec: mb / (med / 1e3),
      heapPerM: (h.growth / msgs) * 1e6,
      heapBytes: h.growth,
      gcs: h.gcs,
      allocated: h.allocated, // bytes, or null when GCs ran during the pass
    };
  });
}

const allocText = (r) => (r.p.external ? externalAllocText(r) : r.allocated === null ? 'n/a (GC ran)' : `${fmt(r.allocated)} B`);
// Anchors: allocation calls counted by the harness (C: malloc/calloc/realloc
// interposed; Go: runtime.MemStats Mallocs/TotalAlloc), per message.
function externalAllocText(r) {
  const x = r.p.last;
  if (!x) return 'n/a';
  const per = x.allocs / x.n;
  return `${fmt(per, 2)} allocs/msg` + (x.allocBytes !== null ? `, ${fmt(x.allocBytes / x.n, 0)} B/msg` : '');
}

function printTable(rows, cpuShare) {
  const header = ['decoder', 'msgs/s (median)', 'ns/msg median', 'ns/msg min-max', 'CPU ns/msg', 'MB/s',
    'heap growth /1M msgs', 'GCs in pass', 'allocated in pass'];
  const cells = rows.map((r) => [
    r.p.name, fmt(r.msgsPerSec), fmt(r.nsMed, 1), `${fmt(r.nsMin, 1)}-${fmt(r.nsMax, 1)}`, fmt(r.nsCpu, 1),
    fmt(r.mbPerSec, 0), (r.p.external ? 'n/a' : `${fmt(r.heapPerM / 1024, 1)} KiB`), String(r.gcs), allocText(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((x, i) => (i === 0 ? pad(x, widths[i]) : lpad(x, widths[i]))).join('  ');
  console.log('');
  console.log(line(header));
  for (const c of cells) console.log(line(c));
  console.log(`process CPU time / wall time over the timed passes: ${fmt(100 * cpuShare, 0)}%` +
    (cpuShare < 0.9 ? ' (below 90%: the VM was busy, treat wall-clock numbers with care)' : ''));
}

/**
 * Speedup of WASM records = other time / WASM time (> 1: WASM is faster).
 * Paired per repetition (both passes ran seconds apart, under similar load):
 * median and min-max of the per-repetition ratios. Cross-checks: the ratio of
 * the fastest passes (least disturbed by other jobs on this VM) and of the
 * CPU-time medians.
 */
function speedup(times, by, other) {
  const a = times.get(other), b = times.get('wasmRecords');
  const per = a.map((t, i) => t / b[i]);
  return {
    med: median(per), lo: Math.min(...per), hi: Math.max(...per),
    best: by[other].nsMin / by.wasmRecords.nsMin, cpu: by[other].nsCpu / by.wasmRecords.nsCpu,
  };
}
const ratioText = (r) => `${fmt(r.med, 2)}x (per-repetition min-max ${fmt(r.lo, 2)}x-${fmt(r.hi, 2)}x; ` +
  `fastest pass vs fastest pass ${fmt(r.best, 2)}x; by CPU time ${fmt(r.cpu, 2)}x)`;

/** This project's decoders vs each anchor that ran: anchor time / ours, paired per repetition. */
function anchorSpeedups(times, by) {
  const out = [];
  for (const anchorKey of ['nfctParse', 'nfctRead', 'goNetlink']) {
    if (!by[anchorKey]) continue;
    for (const oursKey of ['wasmRecords', 'wasmObjects', 'lean']) {
      if (!by[oursKey]) continue;
      const a = times.get(anchorKey), b = times.get(oursKey);
      const per = a.map((t, i) => t / b[i]);
      out.push({
        oursKey, anchorKey, ours: by[oursKey].p.name, anchor: by[anchorKey].p.name,
        r: { med: median(per), lo: Math.min(...per), hi: Math.max(...per), best: by[anchorKey].nsMin / by[oursKey].nsMin,
          cpu: by[anchorKey].nsCpu / by[oursKey].nsCpu },
      });
    }
  }
  return out;
}

function evaluateTargets(by, rLean, messages, rFilter) {
  const w = by.wasmRecords;
  // "Zero" = no GC during the pass and not one byte allocated in the young
  // generation (where every JS allocation starts) during the whole pass.
  const heapZero = w.gcs === 0 && w.allocated === 0;
  return [
    {
      name: 'WASM records <= 100 ns/message',
      met: w.nsMed <= 100,
      detail: `median ${fmt(w.nsMed, 1)} ns/message (min-max ${fmt(w.nsMin, 1)}-${fmt(w.nsMax, 1)}); by CPU time ${fmt(w.nsCpu, 1)} ns/message (${w.nsCpu <= 100 ? 'met' : 'not met'} by CPU time)`,
    },
    {
      name: 'WASM records >= 2x faster than lean JS',
      met: rLean.med >= 2,
      detail: `${fmt(rLean.med, 2)}x median of per-repetition ratios (min-max ${fmt(rLean.lo, 2)}x-${fmt(rLean.hi, 2)}x; ` +
        `lean ${fmt(by.lean.nsMed, 1)} ns vs WASM ${fmt(w.nsMed, 1)} ns median; ` +
        `fastest passes ${fmt(by.lean.nsMin, 1)} vs ${fmt(w.nsMin, 1)} ns = ${fmt(rLean.best, 2)}x; by CPU time ${fmt(rLean.cpu, 2)}x)`,
    },
    ...(rFilter ? [{
      name: '5-condition filter overhead <= 10%',
      met: rFilter.med <= 1.10,
      detail: `${fmt(100 * (rFilter.med - 1), 1)}% median of per-repetition ratios (min-max ${fmt(100 * (rFilter.lo - 1), 1)}%-${fmt(100 * (rFilter.hi - 1), 1)}%; ` +
        `${fmt(by.wasmFiltered.nsMed, 1)} vs ${fmt(w.nsMed, 1)} ns/message median; fastest passes ${fmt(100 * (rFilter.best - 1), 1)}%; by CPU time ${fmt(100 * (rFilter.cpu - 1), 1)}%)`,
    }] : []),
    {
      name: 'zero heap growth in the WASM decode loop',
      met: heapZero,
      detail: `${allocText(w)} allocated and ${w.gcs} GCs during a pass of ${fmt(messages)} messages; ` +
        `heapUsed growth ${fmt(w.heapBytes)} B (${fmt(w.heapPerM, 0)} B per 1M messages)`,
    },
  ];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const warnings = ensureDist();
  const started = new Date();
  const machine = machineNotes();
  const build = buildIdentity();
  const loadStart = loadavg();
  console.log(`conntrack decode benchmark${opts.quick ? ' (quick)' : ''} - ${started.toISOString()}`);
  console.log(`machine: ${machine.cores} cores, ${machine.model}; ${machine.kernel}; node ${machine.node} (V8 ${machine.v8})`);
  console.log(`load average at start: ${loadStart}`);
  console.log(`build: git ${build.commit}${build.dirty ? ` + ${build.dirty} uncommitted file(s) in assembly/ src/` : ''}; ` +
    `dist/wasm/conntrack.wasm sha256 ${build.wasmSha}... built ${build.wasmTime}`);

  // Corpus and self-check (dist/ is loaded only now, after ensureDist).
  const { buildCorpus } = require('./corpus');
  const { selfCheck } = require('./selfcheck');
  const { corpus, file: corpusFile } = await loadCorpus(opts);
  const { datagrams } = corpus;
  console.log(`corpus: ${fmt(corpus.messages)} messages in ${fmt(datagrams.length)} datagrams, ` +
    `${fmt(corpus.bytes / 1e6, 1)} MB (avg ${fmt(corpus.bytes / corpus.messages)} B/message), ` +
    (corpus.captured ? `captured from a real namespace (${path.relative(process.cwd(), corpusFile)})` : 'synthetic-from-real'));
  const checked = selfCheck(datagrams, 100);
  console.log(`self-check: lean and naive JS agree with the WASM decoder on the first ${checked} messages`);

  // Every pass must see every message and reproduce the corpus' CTA_ID sum.
  let passes = makePasses(datagrams);
  const anchorNotes = [];
  if (opts.anchors && corpusFile) {
    const { buildAnchors, OUT } = require('./anchors/build');
    const built = buildAnchors();
    const [aps, missing] = require('./anchor-passes').makeAnchorPasses(built, corpusFile, corpus);
    passes.push(...aps);
    for (const m of missing) { console.log(`ANCHOR NOT RUN: ${m}`); anchorNotes.push(`NOT RUN: ${m}`); }
    anchorNotes.push(`anchors built in ${path.relative(ROOT_DIR, OUT)}: gcc ${built.versions.gcc}, libnetfilter_conntrack ${built.versions.libnetfilter_conntrack}, ` +
      `${built.versions.go}, golang-github-vishvananda-netlink-dev ${built.versions.vishvananda_netlink}`);
  } else if (opts.anchors) {
    anchorNotes.push('NOT RUN: the C and Go anchors need a capture file (the synthetic corpus exists only in memory)');
    console.log(`ANCHORS ${anchorNotes[0]}`);
  }
  passes = passes.filter((p) => !opts.only || opts.only.includes(p.key) || p.key === 'wasmRecords');
  const check = (p, n) => {
    if (p.external) return; // the harness result is checked in its run()
    const want = p.info ? datagrams.length : corpus.messages;
    if (n !== want || (!p.info && result[0] !== corpus.idSum)) {
      throw new Error(`${p.name}: pass decoded ${n} messages (checksum ${result[0]}), expected ${want} (${corpus.idSum})`);
    }
  };

  const warm = warmUp(passes, opts, check, corpus.messages);
  const timing = timeReps(passes, opts, check);

  // Heap growth and allocation: extra passes per decoder, after the timing.
  // The measurement (timers, promises, heap statistics) allocates a little
  // the first few times it runs; warm it up so it can be subtracted exactly.
  for (let i = 0; i < 5; i++) await measureOnce(() => 0);
  const heap = new Map();
  for (const p of passes) {
    heap.set(p.key, p.external ? { growth: NaN, gcs: '-', allocated: null } : await heapPass(p, opts.heapTrials));
  }
  stopGcCounting();

  const rows = summarize(passes, timing, heap, corpus);
  const by = Object.fromEntries(rows.map((r) => [r.p.key, r]));
  const loadEnd = loadavg();
  if (buildIdentity().wasmSha !== build.wasmSha) {
    warnings.push('dist/wasm/conntrack.wasm was rebuilt while this ran: the build line above may not match what was measured');
    console.log(`WARNING: ${warnings[warnings.length - 1]}`);
  }
  printTable(rows, timing.cpuShare);
  if (opts.only) { // investigation run: no ratios, targets or report
    console.log(`load average at end: ${loadEnd}`);
    return;
  }

  const rLean = speedup(timing.times, by, 'lean');
  const rNaive = speedup(timing.times, by, 'naive');
  console.log('');
  console.log(`WASM records vs lean JS : ${ratioText(rLean)}`);
  console.log(`WASM records vs naive JS: ${ratioText(rNaive)}`);
  console.log(`(WASM push only = ${fmt((100 * by.pushOnly.nsMed) / by.wasmRecords.nsMed, 0)}% of the WASM records time)`);

  const anchorRatios = anchorSpeedups(timing.times, by);
  for (const a of anchorRatios) console.log(`${a.ours} vs ${a.anchor}: ${fmt(a.r.med, 2)}x (per-repetition min-max ${fmt(a.r.lo, 2)}x-${fmt(a.r.hi, 2)}x; fastest vs fastest ${fmt(a.r.best, 2)}x; by CPU time ${fmt(a.r.cpu, 2)}x)`);
  const rFilter = by.wasmFiltered ? speedup(timing.times, by, 'wasmFiltered') : undefined;
  if (rFilter) console.log(`5-condition filter / no filter: ${ratioText(rFilter)}`);
  const targets = evaluateTargets(by, rLean, corpus.messages, rFilter);
  const rNfct = anchorRatios.find((a) => a.oursKey === 'wasmRecords' && a.anchorKey === 'nfctParse');
  targets.splice(1, 0, rNfct ? {
    name: 'WASM records >= 12x libnetfilter_conntrack',
    met: rNfct.r.med >= 12,
    detail: `${fmt(rNfct.r.med, 2)}x median of per-repetition ratios vs nfct_nlmsg_parse into an nf_conntrack per message ` +
      `(min-max ${fmt(rNfct.r.lo, 2)}x-${fmt(rNfct.r.hi, 2)}x; ${fmt(by.nfctParse.nsMed, 1)} vs ${fmt(by.wasmRecords.nsMed, 1)} ns/message; ` +
      `by CPU time ${fmt(rNfct.r.cpu, 2)}x: ${fmt(by.nfctParse.nsCpu, 1)} vs ${fmt(by.wasmRecords.nsCpu, 1)} ns/message)`,
  } : { name: 'WASM records >= 12x libnetfilter_conntrack', met: false, detail: 'NOT MEASURED: the C anchor did not run' });
  console.log('');
  for (const t of targets) console.log(`target: ${pad(t.name, 42)} ${t.met ? 'MET    ' : 'NOT MET'}  ${t.detail}`);
  console.log('');
  console.log(`load average at end: ${loadEnd}`);

  if (opts.out) {
    const md = report({
      opts, started, machine, build, warnings, loadStart, loadEnd, busyText: timing.busyText, cpuShare: timing.cpuShare,
      corpus, checked, rows, by, warm, rLean, rNaive, ratioText, allocText, targets, anchorRatios, anchorNotes,
    });
    fs.writeFileSync(opts.out, md);
    console.log(`wrote ${path.relative(process.cwd(), opts.out)}`);
    // the numbers again for the suite's summary (bench/suite.js)
    const json = {
      started, quick: opts.quick, reps: opts.reps, messages: corpus.messages, captured: !!corpus.captured, anchorNotes,
      rows: rows.map((r) => ({ key: r.p.key, name: r.p.name, external: !!r.p.external, nsMed: r.nsMed, nsMin: r.nsMin, nsMax: r.nsMax,
        nsCpu: r.nsCpu, msgsPerSec: r.msgsPerSec, alloc: allocText(r) })),
      anchorRatios: anchorRatios.map((a) => ({ ours: a.ours, anchor: a.anchor, oursKey: a.oursKey, anchorKey: a.anchorKey, ...a.r })),
      rLean, rFilter: rFilter || null, targets,
    };
    fs.writeFileSync(opts.out.replace(/\.md$/, '') + '.json', JSON.stringify(json, null, 1));
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
