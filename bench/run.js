'use strict';
// Decode-throughput benchmark: the WASM decoder against two hand-written JS
// baselines, on the same datagrams, in one process, interleaved.
//
//   npm run bench                 full run (writes bench/RESULTS.md)
//   npm run bench -- --quick      smaller run, < 1 min (prints only)
//   options: --messages N  --reps N  --out FILE (write the report there)
//
// Never part of `npm test` (jest only looks in test/).
//
// Method: build the corpus once; self-check that the baselines decode the same
// values as the WASM decoder; warm every decoder up; then for each repetition
// time one full pass of every decoder (order rotated per repetition, forced GC
// before each pass, outside the timing). Report median and min-max per
// decoder, then measure heap growth / allocation in extra passes per decoder.
// Files: corpus.js (input), baselines/naive.js + lean.js (JS decoders),
// selfcheck.js (all decoders agree before anything is timed).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const v8 = require('v8');
const { performance, PerformanceObserver } = require('perf_hooks');

// --- we need global.gc: re-run this script under --expose-gc ----------------
if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const ROOT = path.join(__dirname, '..');

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
    // WASM code tiers up from Liftoff to TurboFan only after several passes
    // (decode() is called once per 256 records), so warm up generously.
    warmup: quick ? 4 : 6,
    heapTrials: 5,
    out: opt('--out', quick ? null : path.join(__dirname, 'RESULTS.md')),
  };
  if (!(o.messages >= 1000) || !(o.reps >= 1)) throw new Error('--messages must be >= 1000 and --reps >= 1');
  return o;
}

// --- dist/ must exist (compile it only if it is missing) -------------------------
function ensureDist() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'decoder.js'))) {
    console.log('dist/ missing: running npx tsc -p tsconfig.json');
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('tsc failed');
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'wasm', 'conntrack.wasm'))) {
    throw new Error('dist/wasm/conntrack.wasm missing: run "npm run build:wasm"');
  }
  // Warn (only) when sources are newer than what we are about to measure.
  const newest = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))
    .reduce((m, f) => Math.max(m, fs.statSync(path.join(dir, f)).mtimeMs), 0);
  const warnings = [];
  if (newest(path.join(ROOT, 'src')) > fs.statSync(path.join(ROOT, 'dist', 'decoder.js')).mtimeMs) {
    warnings.push('src/*.ts is newer than dist/decoder.js: run "npm run build:ts" for current numbers');
  }
  if (newest(path.join(ROOT, 'assembly')) > fs.statSync(path.join(ROOT, 'dist', 'wasm', 'conntrack.wasm')).mtimeMs) {
    warnings.push('assembly/*.ts is newer than dist/wasm/conntrack.wasm: run "npm run build:wasm" for current numbers');
  }
  for (const w of warnings) console.log(`WARNING: ${w}`);
  return warnings;
}

/** What exactly is being measured: git commit, local changes, the .wasm file. */
function buildIdentity() {
  const git = (...args) => {
    const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  const wasmFile = path.join(ROOT, 'dist', 'wasm', 'conntrack.wasm');
  const hash = require('crypto').createHash('sha256').update(fs.readFileSync(wasmFile)).digest('hex');
  const dirty = git('status', '--porcelain', '--', 'assembly', 'src', 'asconfig.json');
  return {
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: dirty ? dirty.split('\n').length : 0,
    wasmSha: hash.slice(0, 16),
    wasmTime: fs.statSync(wasmFile).mtime.toISOString(),
  };
}

function machineNotes() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    model: cpus.length ? cpus[0].model.trim() : 'unknown',
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** Aggregate CPU jiffies from /proc/stat (Linux), or null. */
function procStat() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return null;
  }
}

/** Share of all CPUs that was busy, and stolen by the hypervisor, between two procStat() samples. */
function machineBusy(a, b) {
  if (!a || !b) return null;
  const busy = b.busy - a.busy, idle = b.idle - a.idle, steal = b.steal - a.steal;
  const total = busy + idle + steal;
  return total > 0 ? { busy: busy / total, steal: steal / total } : null;
}

// --- the passes: each decodes every datagram once -----------------------------
// A pass returns the number of flow messages and leaves the sum of their CTA_ID
// values (mod 2^32) in `result[0]`, so no decoder's work can be skipped and
// every pass can be checked against the corpus. No allocation in the harness.
const result = new Float64Array(1);

function makePasses(datagrams) {
  const { Decoder } = require('../dist/decoder');
  const { toMessage } = require('../dist/materialize');
  const L = require('../dist/generated/layout');
  const { LeanDecoder, S, KIND_FLOW } = require('./baselines/lean');
  const naive = require('./baselines/naive');
  const N = datagrams.length;

  const wasm = new Decoder();
  const lean = new LeanDecoder();
  const rec = lean.rec;

  // Fill the arena with as many datagrams as fit, starting at i; returns the next i.
  function fill(i) {
    wasm.reset();
    while (i < N && wasm.push(datagrams[i])) i++;
    return i;
  }

  return [
    {
      name: 'WASM records',
      key: 'wasmRecords',
      what: 'push datagrams into the arena, decodeNext(), read kind + CTA_ID of each record via RecordView',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N;) {
          i = fill(i);
          for (let k = wasm.decodeNext(); k > 0; k = wasm.decodeNext()) {
            for (let j = 0; j < k; j++) {
              const r = wasm.record(j);
              if (r.kind === L.KIND_FLOW) {
                n++;
                sum = (sum + r.u32(L.REC_ID)) >>> 0;
              }
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'WASM + materialize',
      key: 'wasmObjects',
      what: 'as above, plus toMessage(record) -> plain object (string addresses, bigint counters)',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N;) {
          i = fill(i);
          for (let k = wasm.decodeNext(); k > 0; k = wasm.decodeNext()) {
            for (let j = 0; j < k; j++) {
              const m = toMessage(wasm.record(j));
              if (m.kind === 'flow') {
                n++;
                sum = (sum + m.id) >>> 0;
              }
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'naive JS',
      key: 'naive',
      what: 'bench/baselines/naive.js: DataView walk, one object per message, strings + bigint',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N; i++) {
          const msgs = naive.decodeDatagram(datagrams[i]);
          for (let j = 0; j < msgs.length; j++) {
            const m = msgs[j];
            if (m.kind === 'flow') {
              n++;
              sum = (sum + m.id) >>> 0;
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'lean JS',
      key: 'lean',
      what: 'bench/baselines/lean.js: numbers/offsets into one reused Uint32Array, bounds-checked',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N; i++) {
          lean.begin(datagrams[i]);
          for (let kind = lean.next(); kind !== 0; kind = lean.next()) {
            if (kind === KIND_FLOW) {
              n++;
              sum = (sum + rec[S.ID]) >>> 0;
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: '(WASM push only)',
      key: 'pushOnly',
      info: true, // not a decoder: the arena copy that row 1 includes
      what: 'reset() + push() of every datagram, no decoding: the copy cost included in "WASM records"',
      run() {
        let n = 0;
        for (let i = 0; i < N;) {
          const j = fill(i);
          n += j - i;
          i = j;
        }
        result[0] = 0;
        return n;
      },
    },
  ];
}

// --- GC counting (PerformanceObserver entries arrive asynchronously) -----------
let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => { gcCount += list.getEntries().length; });
gcObserver.observe({ entryTypes: ['gc'] });
const flush = () => new Promise((resolve) => setTimeout(resolve, 20));

const newSpaceUsed = () => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_used_size;

/** One measured call of fn after a forced GC and a pause (so concurrent sweeping is done). */
async function measureOnce(fn) {
  global.gc();
  await flush();
  const gcBefore = gcCount;
  const young0 = newSpaceUsed();
  const heap0 = process.memoryUsage().heapUsed;
  fn();
  const heap1 = process.memoryUsage().heapUsed;
  const young1 = newSpaceUsed();
  await flush();
  return { heap: heap1 - heap0, young: young1 - young0, gcs: gcCount - gcBefore };
}

/**
 * Heap growth of one pass: heapUsed after minus before (forced GC first), net
 * of what the measurement itself allocates (the same measured around an empty
 * function). Also: the GCs V8 ran during the pass and, when there were none,
 * the bytes allocated in the young generation during the pass (exact: every
 * JS allocation lands there first). Median of `trials` runs.
 */
async function heapPass(pass, trials) {
  const heap = [], young = [], gcs = [];
  for (let t = 0; t < trials; t++) {
    const empty = await measureOnce(() => 0);
    const m = await measureOnce(() => pass.run());
    heap.push(m.heap - empty.heap);
    young.push(m.gcs === 0 ? m.young - empty.young : NaN);
    gcs.push(m.gcs);
  }
  const y = young.filter((x) => !Number.isNaN(x));
  return { growth: median(heap), gcs: median(gcs), allocated: y.length === trials ? median(y) : null };
}

// --- statistics and formatting ----------------------------------------------
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const fmt = (x, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

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

  // Corpus and self-check.
  const { buildCorpus } = require('./corpus');
  const { selfCheck } = require('./selfcheck');
  const corpus = buildCorpus(opts.messages);
  const { datagrams } = corpus;
  const expectSum = corpus.idSum;
  const mb = corpus.bytes / 1e6;
  console.log(`corpus: ${fmt(corpus.messages)} messages in ${fmt(datagrams.length)} datagrams, ` +
    `${fmt(mb, 1)} MB (avg ${fmt(corpus.bytes / corpus.messages)} B/message), synthetic-from-real`);
  const checked = selfCheck(datagrams, 100);
  console.log(`self-check: lean and naive JS agree with the WASM decoder on the first ${checked} messages`);

  const passes = makePasses(datagrams);
  const check = (p, n) => {
    const want = p.info ? datagrams.length : corpus.messages;
    if (n !== want || (!p.info && result[0] !== expectSum)) {
      throw new Error(`${p.name}: pass decoded ${n} messages (checksum ${result[0]}), expected ${want} (${expectSum})`);
    }
  };

  // Warm-up (JIT tiers, caches), untimed by the results but kept to show tier-up.
  const warm = new Map(passes.map((p) => [p.key, []]));
  for (let w = 0; w < opts.warmup; w++) {
    for (const p of passes) {
      const a = performance.now();
      check(p, p.run());
      warm.get(p.key).push(((performance.now() - a) * 1e6) / corpus.messages);
    }
  }

  // Timed repetitions, interleaved, order rotated each repetition.
  // Wall time is the measure; process CPU time (all threads, incl. V8 GC and
  // compiler helpers) is kept too: CPU << wall means the VM took the CPU away.
  const times = new Map(passes.map((p) => [p.key, []]));
  const cpuTimes = new Map(passes.map((p) => [p.key, []]));
  let wallSum = 0, cpuSum = 0;
  const stat0 = procStat();
  const t0 = performance.now();
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let k = 0; k < passes.length; k++) {
      const p = passes[(rep + k) % passes.length];
      global.gc(); // garbage of the previous pass is not charged to this one
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
  const busyText = busy
    ? `all ${os.cpus().length} CPUs were ${fmt(100 * busy.busy, 0)}% busy during the timed passes ` +
      `(this process alone is about ${fmt(100 / os.cpus().length, 0)}%), hypervisor steal ${fmt(100 * busy.steal, 1)}%`
    : 'CPU busy share unknown (no /proc/stat)';
  console.log(busyText);

  // Heap growth and allocation: extra passes per decoder, after the timing.
  // The measurement (timers, promises, heap statistics) allocates a little
  // the first few times it runs; warm it up so it can be subtracted exactly.
  for (let i = 0; i < 5; i++) await measureOnce(() => 0);
  const heap = new Map();
  for (const p of passes) heap.set(p.key, await heapPass(p, opts.heapTrials));

  // Results.
  const rows = passes.map((p) => {
    const ts = times.get(p.key);
    const msgs = corpus.messages; // per corpus message (also for the push-only row)
    const med = median(ts), min = Math.min(...ts), max = Math.max(...ts);
    const h = heap.get(p.key);
    return {
      p, med, min, max,
      nsMed: (med * 1e6) / msgs, nsMin: (min * 1e6) / msgs, nsMax: (max * 1e6) / msgs,
      nsCpu: (median(cpuTimes.get(p.key)) * 1e6) / msgs,
      msgsPerSec: msgs / (med / 1e3),
      mbPerSec: mb / (med / 1e3),
      heapPerM: (h.growth / msgs) * 1e6,
      heapBytes: h.growth,
      gcs: h.gcs,
      allocated: h.allocated, // bytes, or null when GCs ran during the pass
    };
  });
  const by = Object.fromEntries(rows.map((r) => [r.p.key, r]));
  const loadEnd = loadavg();
  if (buildIdentity().wasmSha !== build.wasmSha) {
    warnings.push('dist/wasm/conntrack.wasm was rebuilt while this ran: the build line above may not match what was measured');
    console.log(`WARNING: ${warnings[warnings.length - 1]}`);
  }

  const cpuShare = cpuSum / wallSum;
  const allocText = (r) => (r.allocated === null ? 'n/a (GC ran)' : `${fmt(r.allocated)} B`);
  const header = ['decoder', 'msgs/s (median)', 'ns/msg median', 'ns/msg min-max', 'CPU ns/msg', 'MB/s', 'heap growth /1M msgs', 'GCs in pass', 'allocated in pass'];
  const cells = rows.map((r) => [
    r.p.name, fmt(r.msgsPerSec), fmt(r.nsMed, 1), `${fmt(r.nsMin, 1)}-${fmt(r.nsMax, 1)}`, fmt(r.nsCpu, 1), fmt(r.mbPerSec, 0),
    `${fmt(r.heapPerM / 1024, 1)} KiB`, String(r.gcs), allocText(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  console.log('');
  console.log(header.map((h, i) => (i === 0 ? pad(h, widths[i]) : lpad(h, widths[i]))).join('  '));
  for (const c of cells) console.log(c.map((x, i) => (i === 0 ? pad(x, widths[i]) : lpad(x, widths[i]))).join('  '));
  console.log(`process CPU time / wall time over the timed passes: ${fmt(100 * cpuShare, 0)}%` +
    (cpuShare < 0.9 ? ' (below 90%: the VM was busy, treat wall-clock numbers with care)' : ''));

  // Ratios: speedup of WASM records = other time / WASM time (> 1: WASM is
  // faster). Paired per repetition (both passes ran seconds apart, under
  // similar load), then the median and min-max of those per-rep ratios; the
  // ratio of CPU-time medians is shown as a cross-check.
  const ratio = (other) => {
    const a = times.get(other), b = times.get('wasmRecords');
    const per = a.map((t, i) => t / b[i]);
    return { med: median(per), lo: Math.min(...per), hi: Math.max(...per), cpu: by[other].nsCpu / by.wasmRecords.nsCpu };
  };
  const rLean = ratio('lean'), rNaive = ratio('naive');
  const ratioText = (r) => `${fmt(r.med, 2)}x (per-repetition min-max ${fmt(r.lo, 2)}x-${fmt(r.hi, 2)}x; by CPU time ${fmt(r.cpu, 2)}x)`;
  console.log('');
  console.log(`WASM records vs lean JS : ${ratioText(rLean)}`);
  console.log(`WASM records vs naive JS: ${ratioText(rNaive)}`);
  console.log(`(WASM push only = ${fmt((100 * by.pushOnly.nsMed) / by.wasmRecords.nsMed, 0)}% of the WASM records time)`);

  // Targets.
  const w = by.wasmRecords;
  // "Zero" = no GC during the pass and not one byte allocated in the young
  // generation (where every JS allocation starts) during the whole pass.
  const heapZero = w.gcs === 0 && w.allocated === 0;
  const targets = [
    { name: 'WASM records <= 100 ns/message', met: w.nsMed <= 100, detail: `median ${fmt(w.nsMed, 1)} ns/message (min-max ${fmt(w.nsMin, 1)}-${fmt(w.nsMax, 1)})` },
    { name: 'WASM records >= 2x faster than lean JS', met: rLean.med >= 2, detail: `${fmt(rLean.med, 2)}x median of per-repetition ratios (min-max ${fmt(rLean.lo, 2)}x-${fmt(rLean.hi, 2)}x; lean ${fmt(by.lean.nsMed, 1)} ns vs WASM ${fmt(w.nsMed, 1)} ns median; by CPU time ${fmt(rLean.cpu, 2)}x)` },
    { name: 'zero heap growth in the WASM decode loop', met: heapZero, detail: `${allocText(w)} allocated and ${w.gcs} GCs during a pass of ${fmt(corpus.messages)} messages; heapUsed growth ${fmt(w.heapBytes)} B (${fmt(w.heapPerM, 0)} B per 1M messages)` },
  ];
  console.log('');
  for (const t of targets) console.log(`target: ${pad(t.name, 42)} ${t.met ? 'MET    ' : 'NOT MET'}  ${t.detail}`);
  console.log('');
  console.log(`load average at end: ${loadEnd}`);

  if (opts.out) {
    const md = report({ opts, started, machine, loadStart, loadEnd, corpus, checked, rows, rLean, rNaive, by, targets, warnings, ratioText, cpuShare, allocText, build, warm, busyText });
    fs.writeFileSync(opts.out, md);
    console.log(`wrote ${path.relative(process.cwd(), opts.out)}`);
  }
  gcObserver.disconnect();
}

// --- bench/RESULTS.md ------------------------------------------------------------
function report(x) {
  const { opts, started, machine, corpus, rows, by, targets } = x;
  const lines = [];
  const L = (s = '') => lines.push(s);
  L('# Decode benchmark results');
  L();
  L(`Date: ${started.toISOString()} (${opts.quick ? 'quick run' : 'full run'}: ${fmt(opts.reps)} repetitions, ${opts.warmup} warm-up passes)`);
  L();
  L('Generated by `npm run bench` (bench/run.js); do not edit by hand.');
  if (x.warnings.length) {
    L();
    for (const w of x.warnings) L(`**Warning:** ${w}`);
  }
  L();
  L('## Build measured');
  L();
  L(`- git ${x.build.commit}${x.build.dirty ? ` with ${x.build.dirty} uncommitted file(s) in assembly/, src/ or asconfig.json` : ' (no local changes in assembly/, src/)'}`);
  L(`- dist/wasm/conntrack.wasm: sha256 ${x.build.wasmSha}..., built ${x.build.wasmTime}`);
  L();
  L('## Machine');
  L();
  L(`- cores: ${machine.cores} (os.cpus())`);
  L(`- CPU: ${machine.model}`);
  L(`- kernel: ${machine.kernel}`);
  L(`- node: ${machine.node} (V8 ${machine.v8})`);
  L(`- load average (1/5/15 min) at start: ${x.loadStart}; at end: ${x.loadEnd}`);
  L(`- ${x.busyText}`);
  L('- a shared VM: timings are noisy, hence the min-max columns');
  L();
  L('## Corpus');
  L();
  L('**Synthetic-from-real** (until the live socket exists): real ctnetlink messages captured from a Linux 6.18 kernel, ' +
    'copied and varied. Templates, used in equal thirds, round-robin:');
  L();
  for (const t of corpus.templates) L(`- \`test/fixtures/${t.name}\`: ${t.messages} flow messages`);
  L();
  L('Each copy gets a new CTA_ID (be32) and a new original-direction source address ' +
    '(CTA_TUPLE_ORIG > CTA_TUPLE_IP > CTA_IP_V4_SRC / CTA_IP_V6_SRC); every other byte is as the kernel sent it. ' +
    'Messages are packed back to back (4-byte aligned) into dump-style datagrams of at most 32 KiB, as the kernel does for dumps.');
  L();
  L(`Caveat: the corpus has only ${fmt(corpus.templates.reduce((a, t) => a + t.messages, 0))} distinct message layouts, ` +
    'all TCP/UDP/ICMP over loopback with counters and timestamps (no NAT, helpers, labels, zones). The kernel emits ' +
    'attributes in a fixed order per message kind, so real traffic is regular too, but a busy real table is more varied; ' +
    'decoders with layout-specific fast paths may do less well there. A live-socket corpus should replace this one.');
  L();
  L(`- ${fmt(corpus.messages)} messages in ${fmt(corpus.datagrams.length)} datagrams, ${fmt(corpus.bytes)} bytes ` +
    `(average ${fmt(corpus.bytes / corpus.messages)} bytes/message)`);
  L(`- self-check before timing: lean and naive JS decoders agree with the WASM decoder's materialized objects on ` +
    `the first ${x.checked} messages (id, family, event, status, timeout, mark, use, zone, tuples with addresses, ports and ICMP fields, ` +
    'TCP protoinfo, counters, timestamps); every timed pass is also checked for message count and the sum of CTA_ID values.');
  L();
  L('## Results');
  L();
  L('One pass = decoding every datagram of the corpus once. Each repetition times one pass of every decoder, ' +
    'in rotated order, with a forced GC (untimed) before each pass. ns/message and messages/s use the median pass; ' +
    'MB/s = datagram bytes (1 MB = 10^6 bytes) / median pass time.');
  L();
  L('| decoder | messages/s | ns/message (median) | ns/message (min-max) | CPU ns/message (median) | MB/s | heap growth per 1M messages | GCs during pass | allocated during pass |');
  L('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    L(`| ${r.p.name} | ${fmt(r.msgsPerSec)} | ${fmt(r.nsMed, 1)} | ${fmt(r.nsMin, 1)}-${fmt(r.nsMax, 1)} | ${fmt(r.nsCpu, 1)} | ${fmt(r.mbPerSec, 0)} | ` +
      `${fmt(r.heapPerM / 1024, 1)} KiB | ${r.gcs} | ${x.allocText(r)} |`);
  }
  L();
  for (const r of rows) L(`- **${r.p.name}**: ${r.p.what}`);
  L();
  L(`CPU ns/message: process CPU time (user + system, all threads including V8's GC and compiler helpers) of the median pass. ` +
    `Over all timed passes the process got ${fmt(100 * x.cpuShare, 0)}% of wall time as CPU time` +
    (x.cpuShare < 0.9 ? ': the VM was busy (other jobs running), so wall-clock figures are inflated and noisy.' : '.'));
  L();
  L('Heap growth: `process.memoryUsage().heapUsed` after one pass minus before it (forced GC and a short pause just before; ' +
    'what the measurement itself allocates is subtracted), scaled to 1M messages, median of ' + opts.heapTrials + ' passes. ' +
    'For decoders that allocate, V8 collects garbage during the pass, so this understates what they allocate; the GC count ' +
    'shows it. "Allocated during pass" is the growth of V8\'s young generation (where every JS allocation starts) over the ' +
    'pass, exact when no GC ran. The WASM memory itself is outside the JS heap.');
  L();
  L('Warm-up passes (ns/message, in order, before the timed repetitions; shows JIT / WASM tier-up):');
  L();
  for (const p of x.rows.map((r) => r.p)) L(`- ${p.name}: ${x.warm.get(p.key).map((v) => fmt(v, 0)).join(', ')}`);
  L();
  L('## Ratios');
  L();
  L('Speedup of WASM records = other decoder\'s pass time / WASM records pass time, paired within each repetition ' +
    '(median, and min-max over repetitions); "by CPU time" divides the CPU-time medians instead.');
  L();
  L(`- WASM records vs lean JS: ${x.ratioText(x.rLean)}`);
  L(`- WASM records vs naive JS: ${x.ratioText(x.rNaive)}`);
  L(`- WASM + materialize vs naive JS: ${fmt(by.naive.nsMed / by.wasmObjects.nsMed, 2)}x`);
  L(`- the arena copy (push only) is ${fmt((100 * by.pushOnly.nsMed) / by.wasmRecords.nsMed, 0)}% of the WASM records time`);
  L();
  L('## Targets');
  L();
  L('| target | met | measured |');
  L('|---|---|---|');
  for (const t of targets) L(`| ${t.name} | ${t.met ? 'yes' : 'no'} | ${t.detail} |`);
  L();
  L('## Orientation figures (NOT measured in this run)');
  L();
  L('Measured earlier on this kind of machine with other tools, per message, for comparison only:');
  L();
  L('| decoder | ns/message |');
  L('|---|---:|');
  L('| libnetfilter_conntrack `nfct_nlmsg_parse` | ~1,200-1,500 |');
  L('| bare libmnl attribute walk | ~500 |');
  L('| naive JS | ~850 |');
  L('| lean JS | ~200 |');
  L('| Go ti-mo/conntrack | ~3,100 |');
  L('| Go vishvananda/netlink | ~5,000 |');
  L();
  L('## Reproduce');
  L();
  L('```');
  L('npm run build            # or: npm run build:wasm && npm run build:ts');
  L('npm run bench            # full run, rewrites bench/RESULTS.md');
  L('npm run bench -- --quick # < 1 min, prints only (add --out FILE to write a report)');
  L('```');
  L();
  L('Options: `--messages N` (corpus size), `--reps N` (timed repetitions), `--out FILE`. ' +
    'The script re-runs itself with `node --expose-gc`.');
  L();
  return lines.join('\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
