#!/usr/bin/env node
'use strict';
// npm run soak [-- --events N --replay-first N --live-s S --warmup-s S --out FILE]
//
// Pushes 10 million conntrack events (default) through the library with a
// consumer and watches the process's memory:
//   1. replayed: the events-churn capture (test/fixtures/events-churn) through
//      src/replay.ts at full speed, over and over, one reused decoder;
//      (the first --replay-first events, default 4 million);
//   2. live: an EventStream (ct.events()) in a private network namespace while
//      a churn generator (test/helpers/churn.js) creates and deletes 2,000
//      entries per cycle, for --live-s seconds (default 180: the run is long
//      enough for a first and a last minute that do not overlap);
//   3. replayed again up to the total.
// The consumer keeps a mirror of live flows by id (NEW adds, DESTROY removes),
// as an agent would, so its state stays bounded by the table.
// RSS and heap are sampled every second. Pass: the mean RSS of the last
// minute is within +-5 % of the mean of the first minute after the warm-up.
// Results (and the per-10-s samples) go to bench/RESULTS-soak.md.
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
  const o = { events: 10_000_000, replayFirst: 4_000_000, liveS: 180, warmupS: 30, out: path.join(ROOT, 'bench', 'RESULTS-soak.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a non-negative number`);
      return n;
    };
    if (a === '--events') o.events = Math.floor(v());
    else if (a === '--replay-first') o.replayFirst = Math.floor(v());
    else if (a === '--live-s') o.liveS = v();
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
const samples = []; // { t, rss, heapUsed, heapTotal, external, events, phase }
let phase = 'replay';
let consumer;
let t0;
function sample() {
  const m = process.memoryUsage();
  samples.push({ t: (Date.now() - t0) / 1000, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
    events: consumer.events, mirror: consumer.mirror.size, phase });
}

// ----------------------------------------------------------------- phases
async function replayPhase(target) {
  const capture = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'events-churn', 'events.pcap'));
  const decoder = new Decoder();
  let passes = 0;
  while (consumer.events < target) {
    let k = 0;
    for await (const { message } of replay(capture, { decoder })) {
      consumer.take(message);
      if (consumer.events >= target) break;
      // replay only awaits microtasks: let the 1 s sampling timer run
      if (++k % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
    passes++;
    // the capture's connections ended: an agent's mirror would be empty again
    consumer.mirror.clear();
  }
  return { passes };
}

function sh(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function livePhase(seconds) {
  const ns = `ctt-${process.pid}-soak`;
  sh('ip', ['netns', 'add', ns]);
  const cleanup = () => { try { sh('ip', ['netns', 'delete', ns]); } catch { /* gone */ } };
  process.on('exit', cleanup);
  let churn;
  let stream;
  let ct;
  try {
    const x = (file, args) => sh('ip', ['netns', 'exec', ns, file, ...args]);
    x('ip', ['link', 'set', 'lo', 'up']);
    x('nft', ['add', 'table', 'inet', 't']);
    x('nft', ['add', 'chain', 'inet', 't', 'c', '{ type filter hook output priority 0; }']);
    x('nft', ['add', 'rule', 'inet', 't', 'c', 'ct', 'state', 'new', 'counter']);
    ct = await Conntrack.open({ netns: ns });
    stream = ct.events({ resync: true });
    let resyncs = 0;
    stream.on('event', (e) => consumer.take(e));
    stream.on('resync', (snapshot) => {
      resyncs++;
      // the snapshot replaces the mirror; its entries are not events
      consumer.mirror.clear();
      for (const f of snapshot) consumer.mirror.set(f.id, { src: f.orig?.src, dst: f.orig?.dst });
    });
    stream.on('error', (e) => console.error(`soak: listener error ${e.code ?? ''} ${e.message}`));
    churn = spawn(process.execPath, [path.join(ROOT, 'test', 'helpers', 'churn.js'), ns, '0', '2000', '10.1.0.0/16'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const start = consumer.events;
    const t = Date.now();
    while ((Date.now() - t) / 1000 < seconds && churn.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    if (churn.exitCode !== null) throw new Error(`the churn generator exited early (code ${churn.exitCode})`);
    return { events: consumer.events - start, seconds: (Date.now() - t) / 1000, overflows: stream.overflows, resyncs, counters: stream.counters() };
  } finally {
    if (churn && churn.exitCode === null) {
      const exited = new Promise((r) => churn.once('exit', r));
      churn.kill('SIGTERM');
      await exited;
    }
    stream?.close?.();
    ct?.close();
    cleanup();
  }
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
  const rows = samples.filter((s, i) => i % 10 === 0 || i === samples.length - 1)
    .map((s) => `| ${s.t.toFixed(0)} | ${s.phase} | ${s.events} | ${mib(s.rss)} | ${mib(s.heapUsed)} | ${mib(s.heapTotal)} | ${mib(s.external)} | ${s.mirror} |`);
  const md = `# Soak (npm run soak)

Run: ${new Date().toISOString()}, Node ${process.version}, kernel ${require('os').release()}, ${require('os').availableParallelism()} vCPUs (shared with other jobs).
Command: \`node scripts/soak.js ${process.argv.slice(2).join(' ')}\`

| | |
|---|---|
| events through the consumer | ${consumer.events.toLocaleString('en')} (${consumer.new} new, ${consumer.update} update, ${consumer.destroy} destroy) |
| replayed (events-churn capture, full speed) | ${res.replayed.toLocaleString('en')} events in ${res.replaySeconds.toFixed(0)} s = ${Math.round(res.replayed / res.replaySeconds).toLocaleString('en')} events/s, ${res.passes} passes |
| live (namespace + churn of 2,000 entries) | ${res.live.events.toLocaleString('en')} events in ${res.live.seconds.toFixed(0)} s = ${Math.round(res.live.events / res.live.seconds).toLocaleString('en')} events/s; overflows ${res.live.overflows}, resyncs ${res.live.resyncs}; decoder: bad ${res.live.counters.bad}, spoofed ${res.live.counters.spoofed} |
| duration | ${samples.at(-1).t.toFixed(0)} s, ${samples.length} samples (1/s) |
| RSS, first minute after ${opts.warmupS} s warm-up (mean) | ${mib(v.r0)} MiB |
| RSS, last minute (mean) | ${mib(v.r1)} MiB |
| change | ${(v.change * 100).toFixed(2)} % (limit ±5 %) |
| heap used, first / last minute (mean) | ${mib(v.h0)} / ${mib(v.h1)} MiB |
| RSS min / max over the run | ${mib(Math.min(...samples.map((s) => s.rss)))} / ${mib(Math.max(...samples.map((s) => s.rss)))} MiB |
| **result** | **${v.pass ? 'PASS' : v.enough ? 'FAIL' : 'FAIL (run too short for two separate one-minute windows)'}** |

Every 10th sample (MiB):

| t (s) | phase | events | RSS | heap used | heap total | external | mirror size |
|---:|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
  fs.writeFileSync(opts.out, md);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  consumer = makeConsumer();
  t0 = Date.now();
  sample();
  const timer = setInterval(sample, 1000);
  const progress = setInterval(() => {
    if (samples.length === 0) return;
    const s = samples.at(-1);
    console.log(`  ${s.t.toFixed(0)} s ${s.phase}: ${s.events} events, RSS ${mib(s.rss)} MiB, heap ${mib(s.heapUsed)} MiB`);
  }, 30_000);
  // replay, then the live listener for a fixed time, then replay up to the
  // total: the last minute is replay like the first, after the live socket came and went
  let tr = Date.now();
  const a = await replayPhase(Math.min(opts.replayFirst, opts.events));
  let replaySeconds = (Date.now() - tr) / 1000;
  phase = 'live';
  const live = await livePhase(opts.liveS);
  phase = 'replay';
  tr = Date.now();
  const b = await replayPhase(opts.events);
  replaySeconds += (Date.now() - tr) / 1000;
  const replayed = consumer.events - live.events;
  const passes = a.passes + b.passes;
  clearInterval(timer);
  clearInterval(progress);
  sample();
  const verdictRes = verdict(opts);
  writeReport(opts, { replayed, replaySeconds, passes, live, verdict: verdictRes });
  console.log(`soak: ${consumer.events} events (${replayed} replayed, ${live.events} live) in ${samples.at(-1).t.toFixed(0)} s; ` +
    `RSS ${mib(verdictRes.r0)} -> ${mib(verdictRes.r1)} MiB (${(verdictRes.change * 100).toFixed(2)} %): ${verdictRes.pass ? 'PASS' : 'FAIL'}; report: ${path.relative(ROOT, opts.out)}`);
  process.exitCode = verdictRes.pass ? 0 : 1;
}

main().catch((e) => {
  console.error(`soak: ${e && e.stack}`);
  process.exit(2);
});
