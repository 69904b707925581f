#!/usr/bin/env node
'use strict';
// Event throughput: how many conntrack events each listener receives, and the
// CPU it spends, when the kernel generates NEW + DESTROY events as fast as it
// can (and in bursts). `npm run bench:events`.
//
// For every pattern and listener, in a fresh namespace (ctb-<pid>-N, see
// bench/fill.js): start the listener with its DEFAULT options, wait until it
// listens, run bench/anchors/evgen (batched netlink creates then deletes of
// UDP entries: one NEW and one DESTROY event each), wait until the listener's
// CPU time stops growing (it has read everything it will ever read), read its
// CPU seconds (utime + stime from /proc/<pid>/stat), stop it with SIGINT and
// take its count:
//   api        node bench/events-listener.js NS batch    ct.events(), 'batch' (reused view)
//   api-obj    node bench/events-listener.js NS objects  ct.events(), 'event' (one object each)
//   ctrack     node dist/cli/ctrack.js -E --netns NS > /dev/null
//   conntrack  ip netns exec NS conntrack -E > /dev/null (conntrack-tools 1.4.7)
//   filter-bpf / filter-wasm  (only with --only) the API with a filter that
//              keeps 512 of the events, with and without the kernel BPF:
//              datagrams received say what the BPF kept out of user space

// Patterns: 'max' (as fast as possible), 'burst512' (bursts of 512 events at
// 5000 events/s on average: where conntrack -E is known to lose most).
//
//   node bench/events.js [ENTRIES] [--only api,ctrack] [--patterns max,burst512] [--md FILE]
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { createNs, destroyNs } = require('./fill');

const ROOT = path.join(__dirname, '..');
const GEN_SRC = path.join(__dirname, 'anchors', 'evgen.c');
const GEN = path.join(__dirname, 'anchors', 'evgen');
const CTRACK = path.join(ROOT, 'dist', 'cli', 'ctrack.js');
const LISTENER = path.join(__dirname, 'events-listener.js');
const TICKS = 100; // USER_HZ

function buildGen() {
  if (fs.existsSync(GEN) && fs.statSync(GEN).mtimeMs >= fs.statSync(GEN_SRC).mtimeMs) return;
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', GEN, GEN_SRC], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`cannot build bench/anchors/evgen.c (install the Debian package gcc): ${(e.stderr || e.message).toString().trim()}`);
  }
}

function cpuSeconds(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS; // fields 14, 15: utime, stime
  } catch {
    return NaN;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const LISTENERS = {
  api: (ns) => ({ file: process.execPath, args: [LISTENER, ns, 'batch'], stdout: 'pipe', ready: 'stdout' }),
  'api-obj': (ns) => ({ file: process.execPath, args: [LISTENER, ns, 'objects'], stdout: 'pipe', ready: 'stdout' }),
  'filter-bpf': (ns) => ({ file: process.execPath, args: [LISTENER, ns, 'filter-bpf'], stdout: 'pipe', ready: 'stdout' }),
  'filter-wasm': (ns) => ({ file: process.execPath, args: [LISTENER, ns, 'filter-wasm'], stdout: 'pipe', ready: 'stdout' }),
  ctrack: (ns) => ({ file: process.execPath, args: [CTRACK, '-E', '--netns', ns], stdout: 'ignore', ready: 'delay' }),
  conntrack: (ns) => ({ file: 'ip', args: ['netns', 'exec', ns, 'conntrack', '-E'], stdout: 'ignore', ready: 'delay' }),
};

// conntrack-tools' and ctrack's closing line: "... N flow events have been shown."
function shownCount(stderr) {
  const m = /(\d+) flow events have been shown/.exec(stderr);
  return m ? Number(m[1]) : 0;
}

async function runOne(listener, pattern, entries) {
  const { name: ns } = createNs(Math.max(262144, entries * 2));
  try {
    const spec = LISTENERS[listener](ns);
    const child = spawn(spec.file, spec.args, { stdio: ['ignore', spec.stdout, 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    if (child.stdout) child.stdout.on('data', (b) => (out += b));
    const closed = new Promise((r) => child.on('close', r));
    if (spec.ready === 'stdout') {
      const end = Date.now() + 20000;
      while (!out.includes('ready') && Date.now() < end) await sleep(20);
      if (!out.includes('ready')) throw new Error(`${listener} did not start: ${err}`);
    } else {
      await sleep(1500); // node start-up / conntrack's socket setup under load
    }
    const cpu0 = cpuSeconds(child.pid);
    const gen = execFileSync('ip', ['netns', 'exec', ns, GEN, String(entries), String(pattern.burst), String(pattern.rate)], { encoding: 'utf8' });
    const [generated, genSeconds, genErrors] = gen.trim().split(' ').map(Number);
    // settled: the listener's CPU time has not grown for 1 s
    let last = cpuSeconds(child.pid);
    for (let still = 0; still < 5;) {
      await sleep(200);
      const c = cpuSeconds(child.pid);
      still = c === last ? still + 1 : 0;
      last = c;
    }
    const cpu = last - cpu0;
    child.kill('SIGINT');
    await closed;
    let received = 0;
    let enobufs = 0;
    let datagrams;
    if (listener.startsWith('api') || listener.startsWith('filter')) {
      const r = JSON.parse(out.trim().split('\n').pop());
      received = r.received;
      enobufs = r.overflows;
      datagrams = r.datagrams;
    } else {
      received = shownCount(err);
      const m = /dropped events (\d+) time/.exec(err);
      enobufs = listener === 'ctrack' ? (m ? Number(m[1]) : 0) : (err.match(/ENOBUFS/g) || []).length;
    }
    return { listener, pattern: pattern.name, generated, genSeconds, genErrors, received, enobufs, cpu, datagrams };
  } finally {
    destroyNs(ns);
  }
}

function table(rows) {
  const head = '| pattern | listener | generated | gen rate (ev/s) | received | % | datagrams read | ENOBUFS | CPU s | CPU s / M events |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  // per million events received; filter rows: per million generated (what the listener had to look at)
  const per = (r) => (r.listener.startsWith('filter') ? r.generated : r.received);
  const lines = rows.map((r) => `| ${r.pattern} | ${r.listener} | ${r.generated} | ${Math.round(r.generated / r.genSeconds)} | ${r.received} | ${(100 * r.received / r.generated).toFixed(1)} | ${r.datagrams ?? '-'} | ${r.enobufs} | ${r.cpu.toFixed(2)} | ${per(r) ? (r.cpu / per(r) * 1e6).toFixed(1) : '-'} |`);
  return [head, sep, ...lines].join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (k, d) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : d;
  };
  const entries = Number(argv.find((a) => /^\d+$/.test(a)) ?? 100000);
  const only = opt('--only', 'api,api-obj,ctrack,conntrack').split(',');
  const patterns = [
    { name: 'max', burst: 128, rate: 0 },
    { name: 'burst512', burst: 512, rate: 5000 },
  ].filter((p) => opt('--patterns', 'max,burst512').split(',').includes(p.name));
  if (process.getuid() !== 0) throw new Error('bench:events creates network namespaces: run it as root');
  if (!fs.existsSync(CTRACK)) throw new Error('dist/ is missing: run npm run build');
  buildGen();
  const rows = [];
  for (const p of patterns) {
    const n = p.rate > 0 ? Math.min(entries, 25600) : entries; // bursts: ~10 s at 5000/s
    for (const l of only) {
      const r = await runOne(l, p, n);
      rows.push(r);
      process.stderr.write(`${p.name} ${l}: ${r.received}/${r.generated} received${r.datagrams !== undefined ? ` (${r.datagrams} datagrams)` : ''}, ${r.enobufs} ENOBUFS, ${r.cpu.toFixed(2)} CPU s\n`);
    }
  }
  const md = table(rows);
  process.stdout.write(md + '\n');
  const file = opt('--md');
  if (file) fs.writeFileSync(file, md + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exitCode = 1;
});
