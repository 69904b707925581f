#!/usr/bin/env node
'use strict';
// npm run soak [-- --events N --min-s S --warmup-s S --out FILE]
//
// Pushes at least 10 million conntrack events (default) through the library
// with consumers, for at least --min-s seconds (default 240), and watches the
// process's memory. Two sources run at the same time, so the workload is the
// same from the first minute to the last:
//   - replayed: the events-churn capture (test/fixtures/events-churn) through
//     src/replay.ts at full speed, pass after pass, one reused decoder (it
//     yields to the event loop every 2,000 events);
//   - live: an EventStream (ct.events({ resync: true })) in a private network
//     namespace while a churn generator (test/helpers/churn.js) creates and
//     deletes 2,000 entries per cycle.
// Each consumer keeps a mirror of the flows by id (new/update set, destroy
// deletes; a resync snapshot replaces it), as an agent would.
// RSS and heap are sampled every second. Pass: the mean RSS of the last
// minute is within +-5 % of the mean of the first minute after the warm-up
// (--warmup-s, default 30). Results go to bench/RESULTS-soak.md.
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
if (!fs.existsSync(path.join(DIST, 'index.js'))) {
  console.error('soak: dist/ is missing: run "npm run build" first');
  process.exit(2);
}
const { Conntrack, Decoder, replay } = require(path.join(DIST, 'index.js'));

function parseArgs(argv) {
  const o = { events: 10_000_000, minS: 240, warmupS: 30, out: path.join(ROOT, 'bench', 'RESULTS-soak.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a non-negative number`);
      return n;
    };
    if (a === '--events') o.events = Math.floor(v());
    else if (a === '--min-s') o.minS = v();
    else if (a === '--warmup-s') o.warmupS = v();
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a} (see the header of scripts/soak.js)`);
  }
  return o;
}

// --------------------------------------------------------------- consumer
/** What an agent would do with each event: count it and mirror the table by id. */
function makeConsumer() {
  const mirror = new Map();
  const c = { events: 0, new: 0, update: 0, destroy: 0, other: 0, mirror };
  c.take = (m) => {
    if (m.kind !== 'flow') {
      c.other++;
      return;
    }
    c.events++;
    const key = m.id ?? `${m.orig?.src} ${m.orig?.srcPort} ${m.orig?.dst} ${m.orig?.dstPort} ${m.orig?.protoNum}`;
    if (m.event === 'destroy') {
      c.destroy++;
      mirror.delete(key);
    } else {
      if (m.event === 'new') c.new++;
      else c.update++;
      mirror.set(key, { src: m.orig?.src, dst: m.orig?.dst, state: m.tcp?.state, bytes: m.countersOrig?.bytes });
    }
  };
  return c;
}

// ---------------------------------------------------------------- sampling
const samples = []; // { t, rss, heapUsed, heapTotal, external, events, mirror }
let replayed;
let live;
let t0;
const total = () => replayed.events + live.events;
function sample() {
  const m = process.memoryUsage();
  samples.push({ t: (Date.now() - t0) / 1000, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external,
    replayed: replayed.events, live: live.events, mirror: replayed.mirror.size + live.mirror.size });
}

// ----------------------------------------------------------------- sources
async function replayUntil(done) {
  const capture = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'events-churn', 'events.pcap'));
  const decoder = new Decoder();
  let passes = 0;
  let k = 0;
  while (!done()) {
    for await (const { message } of replay(capture, { decoder })) {
      replayed.take(message);
      // replay only awaits microtasks: let the sampling timer and the live socket run
      if (++k % 2000 === 0) {
        await new Promise((r) => setImmediate(r));
        if (done()) break;
      }
    }
    passes++;
    // the capture's connections all ended: an agent's mirror would be empty again
    replayed.mirror.clear();
  }
  return passes;
}

function sh(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Start the live source; returns stop() resolving with its numbers. */
async function startLive() {
  const ns = `ctt-${process.pid}-soak`;
  sh('ip', ['netns', 'add', ns]);
  const cleanup = () => { try { sh('ip', ['netns', 'delete', ns]); } catch { /* gone */ } };
  process.on('exit', cleanup);
  const x = (file, args) => sh('ip', ['netns', 'exec', ns, file, ...args]);
  x('ip', ['link', 'set', 'lo', 'up']);
  x('nft', ['add', 'table', 'inet', 't']);
  x('nft', ['add', 'chain', 'inet', 't', 'c', '{ type filter hook output priority 0; }']);
  x('nft', ['add', 'rule', 'inet', 't', 'c', 'ct', 'state', 'new', 'counter']);
  const ct = await Conntrack.open({ netns: ns });
  const stream = ct.events({ resync: true });
  let resyncs = 0;
  let errors = 0;
  stream.on('event', (e) => live.take(e));
  stream.on('resync', (snapshot) => {
    resyncs++;
    // the snapshot replaces the mirror; its entries are not events
    live.mirror.clear();
    for (const f of snapshot) live.mirror.set(f.id, { src: f.orig?.src, dst: f.orig?.dst });
  });
  stream.on('error', (e) => {
    errors++;
    console.error(`soak: listener error ${e.code ?? ''} ${e.message}`);
  });
  const churn = spawn(process.execPath, [path.join(ROOT, 'test', 'helpers', 'churn.js'), ns, '0', '2000', '10.1.0.0/16'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let churnDied = false;
  churn.on('exit', () => { churnDied = true; });
  const t = Date.now();
  return {
    get failed() { return churnDied ? 'the churn generator exited early' : null; },
    async stop() {
      const seconds = (Date.now() - t) / 1000;
      const died = churnDied;
      if (!died) {
        const exited = new Promise((r) => churn.once('exit', r));
        churn.kill('SIGTERM');
        await exited;
      }
      const res = { seconds, overflows: stream.overflows, resyncs, errors, counters: stream.counters(), churnDied: died };
      stream.close();
      ct.close();
      cleanup();
      return res;
    },
  };
}

// ------------------------------------------------------------------ report
const mean = (a) => a.reduce((s, x) => s + x, 0) / Math.max(a.length, 1);
const mib = (b) => (b / 1048576).toFixed(1);

function verdict(opts) {
  const after = samples.filter((s) => s.t >= opts.warmupS);
  const first = after.filter((s) => s.t < opts.warmupS + 60);
  const lastT = samples.at(-1).t;
  const last = samples.filter((s) => s.t > lastT - 60);
  const r0 = mean(first.map((s) => s.rss));
  const r1 = mean(last.map((s) => s.rss));
  const change = (r1 - r0) / r0;
  const enough = lastT - 60 >= opts.warmupS + 60; // the two windows do not overlap
  return { r0, r1, change, pass: enough && Math.abs(change) <= 0.05, enough, h0: mean(first.map((s) => s.heapUsed)), h1: mean(last.map((s) => s.heapUsed)) };
}

function writeReport(opts, res) {
  const v = res.verdict;
  const secs = samples.at(-1).t;
  const rate = (n, t) => Math.round(n / t).toLocaleString('en');
  const rows = samples.filter((s, i) => i % 10 === 0 || i === samples.length - 1)
    .map((s) => `| ${s.t.toFixed(0)} | ${s.replayed} | ${s.live} | ${mib(s.rss)} | ${mib(s.heapUsed)} | ${mib(s.heapTotal)} | ${mib(s.external)} | ${s.mirror} |`);
  const md = `# Soak (npm run soak)

Run: ${new Date().toISOString()}, Node ${process.version}, kernel ${require('os').release()}, ${require('os').availableParallelism()} vCPUs (shared with other jobs).
Command: \`node scripts/soak.js ${process.argv.slice(2).join(' ')}\` (replay and live listener at the same time; see the script's header)

| | |
|---|---|
| events through the consumers | ${total().toLocaleString('en')} in ${secs.toFixed(0)} s |
| replayed (events-churn capture, full speed) | ${replayed.events.toLocaleString('en')} = ${rate(replayed.events, secs)} events/s (${replayed.new} new, ${replayed.update} update, ${replayed.destroy} destroy), ${res.passes} passes |
| live (namespace, churn of 2,000 entries per cycle) | ${live.events.toLocaleString('en')} = ${rate(live.events, secs)} events/s (${live.new} new, ${live.update} update, ${live.destroy} destroy); overflows ${res.live.overflows}, resyncs ${res.live.resyncs}, listener errors ${res.live.errors}; decoder: bad ${res.live.counters.bad}, spoofed ${res.live.counters.spoofed} |
| samples | ${samples.length} (every second) |
| RSS, first minute after the ${opts.warmupS} s warm-up (mean) | ${mib(v.r0)} MiB |
| RSS, last minute (mean) | ${mib(v.r1)} MiB |
| change | ${(v.change * 100).toFixed(2)} % (limit ±5 %) |
| heap used, first / last minute (mean) | ${mib(v.h0)} / ${mib(v.h1)} MiB |
| RSS min / max over the run | ${mib(Math.min(...samples.map((s) => s.rss)))} / ${mib(Math.max(...samples.map((s) => s.rss)))} MiB |
| **result** | **${v.pass ? 'PASS' : v.enough ? 'FAIL' : 'FAIL (run too short for two separate one-minute windows)'}** |

Every 10th sample (MiB):

| t (s) | replayed | live | RSS | heap used | heap total | external | mirror sizes |
|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
  fs.writeFileSync(opts.out, md);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  replayed = makeConsumer();
  live = makeConsumer();
  t0 = Date.now();
  sample();
  const timer = setInterval(sample, 1000);
  const progress = setInterval(() => {
    const s = samples.at(-1);
    console.log(`  ${s.t.toFixed(0)} s: ${s.replayed} replayed + ${s.live} live events, RSS ${mib(s.rss)} MiB, heap ${mib(s.heapUsed)} MiB`);
  }, 30_000);
  const src = await startLive();
  const done = () => src.failed !== null || (total() >= opts.events && (Date.now() - t0) / 1000 >= opts.minS);
  const passes = await replayUntil(done);
  const failed = src.failed; // (stop() ends the churn itself)
  const liveRes = await src.stop();
  if (failed) throw new Error(failed);
  clearInterval(timer);
  clearInterval(progress);
  sample();
  const v = verdict(opts);
  writeReport(opts, { passes, live: liveRes, verdict: v });
  console.log(`soak: ${total()} events (${replayed.events} replayed, ${live.events} live) in ${samples.at(-1).t.toFixed(0)} s; ` +
    `RSS ${mib(v.r0)} -> ${mib(v.r1)} MiB (${(v.change * 100).toFixed(2)} %): ${v.pass ? 'PASS' : 'FAIL'}; report: ${path.relative(ROOT, opts.out)}`);
  process.exitCode = v.pass ? 0 : 1;
}

main().catch((e) => {
  console.error(`soak: ${e && e.stack}`);
  process.exit(2);
});
