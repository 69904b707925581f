#!/usr/bin/env node
'use strict';
// Memory over a long event replay: the real kernel events of
// test/fixtures/events-churn/events.pcap (NEW/UPDATE/DESTROY, captured from
// Linux 6.18) are replayed again and again through one reused Decoder until N
// events went through, with an event consumer of each kind:
//   records   replayRecords(): the allocation-free path, the consumer reads
//             event kind, CTA_ID and the original source port through the view
//   objects   replay(): one plain object per event (what EventStream emits to
//             'event' listeners), the consumer keeps a few counters
// Process RSS is sampled every 1/50 of the run. "Flat" = the RSS at the end is
// within max(8 MiB, 5%) of the RSS after the first 10% (warm-up: JIT, heap
// sizing) and the maximum is within the same band.
//
//   node bench/soak.js [--events N] [--json FILE]    both modes, one child each
//   node bench/soak.js --child MODE N                one mode, JSON on stdout

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const v8 = require('v8');

const ROOT = path.join(__dirname, '..');
const PCAP = path.join(ROOT, 'test', 'fixtures', 'events-churn', 'events.pcap');
const MiB = 1024 * 1024;

async function child(mode, total) {
  const { Decoder } = require(path.join(ROOT, 'dist', 'decoder.js'));
  const { replay, replayRecords } = require(path.join(ROOT, 'dist', 'replay.js'));
  const L = require(path.join(ROOT, 'dist', 'generated', 'layout.js'));
  const bytes = fs.readFileSync(PCAP);
  const decoder = new Decoder();
  const every = Math.max(1, Math.floor(total / 50));
  const samples = [];
  let n = 0, next = every, sum = 0, news = 0;
  // RSS, and what V8 holds: heap in use, heap reserved (all spaces), of it the
  // young generation's reserved size (V8 grows it in steps while it runs)
  const sample = () => {
    const m = process.memoryUsage();
    const young = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    samples.push({ events: n, rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB, heapTotalMiB: m.heapTotal / MiB, youngMiB: young ? young.space_size / MiB : NaN });
  };
  const t0 = process.hrtime.bigint();
  sample();
  while (n < total) {
    if (mode === 'records') {
      await replayRecords(bytes, (r) => {
        if (r.kind !== L.KIND_FLOW) return;
        n++;
        sum = (sum + r.u32(L.REC_ID)) >>> 0;
      }, { decoder });
    } else {
      for await (const { message: m } of replay(bytes, { decoder })) {
        if (m.kind !== 'flow') continue;
        n++;
        if (m.event === 'new') news++;
        sum = (sum + (m.orig?.srcPort ?? 0)) >>> 0;
      }
    }
    if (n >= next) { sample(); next += every; }
  }
  sample();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ mode, events: n, seconds, samples, sum, news }) + '\n');
}

function verdict(r) {
  const base = r.samples.find((s) => s.events >= r.events * 0.1) || r.samples[0];
  const end = r.samples[r.samples.length - 1];
  const max = Math.max(...r.samples.map((s) => s.rssMiB));
  const band = Math.max(8, base.rssMiB * 0.05);
  // RSS minus V8's reserved JS heap: WASM memory, native buffers, code. When
  // RSS grows but this does not, the growth is V8 sizing its heap (mostly the
  // young generation, which it doubles in steps up to --max-semi-space-size).
  const outside = (x) => x.rssMiB - x.heapTotalMiB;
  const maxOutside = Math.max(...r.samples.map(outside));
  return {
    baseMiB: base.rssMiB, endMiB: end.rssMiB, maxMiB: max, growthMiB: end.rssMiB - base.rssMiB,
    flat: end.rssMiB - base.rssMiB <= band && max - base.rssMiB <= band, band,
    heapTotalBase: base.heapTotalMiB, heapTotalEnd: end.heapTotalMiB, youngBase: base.youngMiB, youngEnd: end.youngMiB,
    heapUsedEnd: end.heapMiB, outsideBase: outside(base), outsideEnd: outside(end),
    flatOutside: outside(end) - outside(base) <= band && maxOutside - outside(base) <= band,
  };
}

function runSoak(total, log = console.log) {
  const out = [];
  for (const mode of ['records', 'objects']) {
    const r = spawnSync(process.execPath, [__filename, '--child', mode, String(total)], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`soak ${mode} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
    const x = JSON.parse(r.stdout.trim().split('\n').pop());
    x.verdict = verdict(x);
    const v = x.verdict;
    log(`soak ${mode}: ${x.events.toLocaleString('en')} events in ${x.seconds.toFixed(1)} s (${Math.round(x.events / x.seconds).toLocaleString('en')}/s); ` +
      `RSS after 10% ${v.baseMiB.toFixed(1)} MiB, at end ${v.endMiB.toFixed(1)} MiB, max ${v.maxMiB.toFixed(1)} MiB -> ${v.flat ? 'FLAT' : 'NOT FLAT'} (band ${v.band.toFixed(1)} MiB); ` +
      `V8 heap reserved ${v.heapTotalBase.toFixed(1)} -> ${v.heapTotalEnd.toFixed(1)} MiB (young generation ${v.youngBase.toFixed(1)} -> ${v.youngEnd.toFixed(1)}); ` +
      `RSS outside the V8 heap ${v.outsideBase.toFixed(1)} -> ${v.outsideEnd.toFixed(1)} MiB -> ${v.flatOutside ? 'FLAT' : 'NOT FLAT'}`);
    out.push(x);
  }
  return out;
}

module.exports = { runSoak };

if (require.main === module) {
  const a = process.argv.slice(2);
  if (a[0] === '--child') {
    child(a[1], Number(a[2])).catch((e) => { console.error(e.stack || e); process.exit(1); });
  } else {
    const i = a.indexOf('--events');
    const j = a.indexOf('--json');
    const res = runSoak(i >= 0 ? Number(a[i + 1]) : 10000000);
    if (j >= 0) fs.writeFileSync(a[j + 1], JSON.stringify(res, null, 1));
  }
}
