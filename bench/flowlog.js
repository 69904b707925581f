'use strict';
// Flow logger benchmark: what the direction pass (assembly/direction.ts) adds
// to decoding, and the whole tracker path (decode + direction + fields +
// flow id) in events per second. Input: the events-churn capture (1800
// NEW/UPDATE/DESTROY events of 300 TCP connections), replayed many times.
//
//   node bench/flowlog.js [--reps N] [--rounds N]
//
// Method: datagrams go into the decoder's arena in batches of 256 as the
// socket host would put them; each repetition times every variant once
// (order alternated), medians reported. Not part of npm test.
const path = require('path');
const { performance } = require('perf_hooks');
const root = path.join(__dirname, '..');
const { Decoder, readPcapBuffer, ConnTrack, ManualListener, layout: L } = require(path.join(root, 'dist', 'index.js'));
const { writeDirectionConfig, ifaceConfig } = require(path.join(root, 'dist', 'flowlog', 'config.js'));
const { netbirdMarks } = require(path.join(root, 'dist', 'flowlog', 'marks.js'));
const fs = require('fs');

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const reps = arg('--reps', 9);
const rounds = arg('--rounds', 40);

const pcap = fs.readFileSync(path.join(root, 'test', 'fixtures', 'events-churn', 'events.pcap'));
const datagrams = [...readPcapBuffer(pcap)].filter((r) => r.protocol === 12).map((r) => Uint8Array.from(r.data));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

function decodeAll(dec, enabled) {
  dec.core.view.setUint32(L.DIR_CFG + L.DIR_ENABLED, enabled ? 1 : 0, true);
  let recs = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < datagrams.length; i += 256) {
      dec.reset();
      for (let j = i; j < Math.min(i + 256, datagrams.length); j++) dec.push(datagrams[j]);
      for (let n = dec.decodeNext(); n > 0; n = dec.decodeNext()) recs += n;
    }
  }
  return recs;
}

const dec = new Decoder();
writeDirectionConfig(dec.core, ifaceConfig({ ip: '127.0.0.1', network: '127.0.0.0/8' }), netbirdMarks());

async function trackerPass() {
  const l = new ManualListener();
  let events = 0;
  const ct = new ConnTrack({ storeEvent: () => events++ }, { address: () => ({ ip: '127.0.0.1/8' }) }, { dial: () => l });
  await ct.start(false);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < datagrams.length; i += 256) l.push(...datagrams.slice(i, i + 256));
  }
  const ms = performance.now() - t0;
  await ct.stop();
  return { ms, events };
}

(async () => {
  decodeAll(dec, false);
  decodeAll(dec, true);
  await trackerPass();
  const off = [];
  const on = [];
  const tr = [];
  let recs = 0;
  let events = 0;
  for (let k = 0; k < reps; k++) {
    const order = k % 2 === 0 ? [false, true] : [true, false];
    for (const enabled of order) {
      const t0 = performance.now();
      recs = decodeAll(dec, enabled);
      (enabled ? on : off).push(performance.now() - t0);
    }
    const t = await trackerPass();
    tr.push(t.ms);
    events = t.events;
  }
  const mOff = median(off);
  const mOn = median(on);
  const mTr = median(tr);
  console.log(`records per pass: ${recs} (${datagrams.length} datagrams x ${rounds})`);
  console.log(`decode, direction pass off: ${mOff.toFixed(1)} ms  (${((recs / mOff) * 1000 / 1e6).toFixed(2)} M records/s)`);
  console.log(`decode, direction pass on:  ${mOn.toFixed(1)} ms  (${((recs / mOn) * 1000 / 1e6).toFixed(2)} M records/s)  overhead ${(((mOn - mOff) / mOff) * 100).toFixed(1)} %`);
  console.log(`tracker (decode + direction + fields + uuidv5 flow id): ${mTr.toFixed(1)} ms for ${events} logged events (${((events / mTr) * 1000 / 1e3).toFixed(0)} k events/s)`);
  console.log(`medians of ${reps} repetitions; load average ${require('os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
})();
