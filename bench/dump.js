#!/usr/bin/env node
'use strict';
// Dump benchmark against the real kernel: one private namespace (ctb-<pid>-1)
// grown step by step to 10k, 100k and 1M entries (bench/fill.js); at each size
// the runs below are interleaved (round-robin, several repetitions) and each
// one is a child process, so wall time and peak RSS (/usr/bin/time -f %M) are
// per run:
//   ctrack      node dist/cli/ctrack.js -L --netns NS > /dev/null
//   api         node bench/dump.js --child api NS: Conntrack.open() + dumpRecords({}, () => {})
//   conntrack   ip netns exec NS conntrack -L > /dev/null     (the anchor)
//   floor-js    node bench/dump.js --child floor NS: the dump request on a
//               NetlinkSocket, native receiveBatch() in a loop, bytes counted,
//               no decoding, until NLMSG_DONE; each call takes as many
//               datagrams as the API's socket takes per wake-up
//               (DUMP_MAX_PER_WAKE), so both receive into the same arena span
//   floor-c     ip netns exec NS bench/anchors/drain           (raw recv(), nlmsghdr walk only)
//   api-w / floor-w   the api and floor children dumping three times on one
//               socket: the third dump alone, with the code warm (a service
//               dumping repeatedly)
//   ctrack-x / conntrack-x   the same with -o extended (full runs)
//   nfct        ip netns exec NS bench/data/anchors/nfct_dump: libnetfilter_conntrack
//               nfct_query(NFCT_Q_DUMP) with a counting callback (C anchor)
//   go          ip netns exec NS bench/data/anchors/ctgo dump: vishvananda/netlink
//               ConntrackTableList (Go anchor)
//   pyroute2    ip netns exec NS /usr/bin/python3 bench/anchors/pyroute2_dump.py:
//               NFCTSocket().dump() counted (Python anchor; slow: one run per
//               size, no warm-up, and only up to --pyroute2-max entries)
//   (anchors are built by bench/anchors/build.js; one that cannot be built is
//   named in the output and the report instead of its row)
//
//   node bench/dump.js            sizes 10k, 100k, 1M; 5 reps (3 at 1M)
//   node bench/dump.js --quick    sizes 10k, 100k; 3 reps
//   options: --sizes 10000,50000  --reps N  --no-write (do not write bench/RESULTS-dump.md)
//            --out FILE (write the report there, also with --sizes)
//            --pyroute2-max N (largest size pyroute2 runs at; default 1M full, 10k --quick)
//            --no-extended
//
// Writes bench/RESULTS-dump.md (full runs and --quick; not with --sizes/--no-write).
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const CTRACK = path.join(DIST, 'cli', 'ctrack.js');
const TIME = '/usr/bin/time';
const { buildAnchors, PYTHON } = require('./anchors/build');

// ---------------------------------------------------------------------------
// Child modes: one measured dump, printing JSON {n, bytes, seconds} on
// stdout; `seconds` runs from opening the socket to the end of the dump (what
// a fresh process pays: V8 compiles and warms up the code on the way). With
// `warm` the child dumps WARM_DUMPS times on the same socket and `seconds` is
// the last dump alone (what a service that dumps repeatedly pays once its
// code is warm; `first` is the first dump as above).
const WARM_DUMPS = 3;
async function child(mode, ns, warm) {
  const dumps = warm === 'warm' ? WARM_DUMPS : 1;
  if (mode === 'api') {
    const { Conntrack } = require(path.join(DIST, 'conntrack.js'));
    // The native addon is loaded before the clock starts, as the floor child
    // below loads it (~1 ms: dlopen and module resolution); Conntrack.open()
    // would otherwise load it inside the timed span.
    require(path.join(DIST, 'host.js')).loadHost();
    const t0 = process.hrtime.bigint();
    const ct = await Conntrack.open({ netns: ns });
    const n = await ct.dumpRecords({}, () => {});
    let t1 = process.hrtime.bigint();
    const first = Number(t1 - t0) / 1e9;
    let last = first;
    for (let i = 1; i < dumps; i++) {
      const again = await ct.dumpRecords({}, () => {});
      const t2 = process.hrtime.bigint();
      if (again !== n) throw new Error(`dump ${i + 1} counted ${again}, the first ${n}`);
      last = Number(t2 - t1) / 1e9;
      t1 = t2;
    }
    ct.close();
    process.stdout.write(JSON.stringify(dumps > 1 ? { n, seconds: last, first } : { n, seconds: first }) + '\n');
    return;
  }
  if (mode === 'floor') {
    const { NetlinkSocket } = require(path.join(DIST, 'socket.js'));
    const { dumpRequest } = require(path.join(DIST, 'encode.js'));
    const { loadHost } = require(path.join(DIST, 'host.js'));
    const L = require(path.join(DIST, 'generated', 'layout.js'));
    // Datagrams per receiveBatch(): what Conntrack's socket takes per wake-up.
    // Receiving the whole arena (DESC_MAX) at once is slower (~46 vs ~39 ms at
    // 10k): the kernel then copies into cache-cold memory.
    const { DUMP_MAX_PER_WAKE } = require(path.join(DIST, 'conntrack.js'));
    const perCall = DUMP_MAX_PER_WAKE ?? L.DESC_MAX;
    const host = loadHost();
    const t0 = process.hrtime.bigint();
    const sock = NetlinkSocket.open({ netns: ns, rcvBuf: 4 << 20 });
    const one = drain(sock, { host, L, dumpRequest }, perCall);
    let t1 = process.hrtime.bigint();
    const first = Number(t1 - t0) / 1e9;
    let last = first;
    for (let i = 1; i < dumps; i++) {
      const again = drain(sock, { host, L, dumpRequest }, perCall);
      const t2 = process.hrtime.bigint();
      if (again.bytes !== one.bytes) throw new Error(`dump ${i + 1} had ${again.bytes} bytes, the first ${one.bytes}`);
      last = Number(t2 - t1) / 1e9;
      t1 = t2;
    }
    sock.close();
    process.stdout.write(JSON.stringify({ ...one, perCall, ...(dumps > 1 ? { seconds: last, first } : { seconds: first }) }) + '\n');
    return;
  }
  throw new Error(`unknown child mode ${mode}`);
}

// The node floor's dump: the request, then receiveBatch() until NLMSG_DONE.
function drain(sock, { host, L, dumpRequest }, perCall) {
  const nat = sock.native;
  const mem = () => sock.decoder.core.memory.buffer;
  nat.send(dumpRequest(sock.decoder.core, sock.nextSeq()));
  let bytes = 0, dgrams = 0, spins = 0, done = false;
  while (!done) {
    const b = nat.receiveBatch(perCall);
    if (b.enobufs) throw new Error('ENOBUFS');
    if (b.count === 0) {
      spins++;
      continue; // a dump never stalls for long: the kernel refills on each recvmsg
    }
    bytes += b.bytes;
    dgrams += b.count;
    // The last datagram of the batch: does it end with NLMSG_DONE (20 bytes, type 3)?
    const dv = new DataView(mem());
    const d = L.DESC + (b.count - 1) * host.DESC_SIZE;
    const off = dv.getUint32(d + host.DESC_OFF, true);
    const len = dv.getUint32(d + host.DESC_LEN, true);
    const base = L.ARENA + off;
    if (len >= 20 && dv.getUint32(base + len - 20, true) === 20 && dv.getUint16(base + len - 16, true) === 3) done = true;
    // an NLMSG_ERROR datagram ends it too (type 2)
    if (len >= 16 && dv.getUint16(base + 4, true) === 2) throw new Error('NLMSG_ERROR in reply');
  }
  return { bytes, dgrams, spins };
}

// ---------------------------------------------------------------------------
// Parent.

function sh(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Children run asynchronously (spawn, not spawnSync) so SIGINT reaches the
// handler in bench/fill.js at once and the namespace is deleted.
function run(file, args, { capture = true, countLines = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(file, args, { stdio: ['ignore', capture || countLines ? 'pipe' : 'ignore', 'pipe'] });
    const out = [];
    let lines = 0;
    let err = '';
    if (c.stdout) {
      c.stdout.on('data', (b) => {
        if (countLines) {
          for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
        } else {
          out.push(b);
        }
      });
    }
    c.stderr.on('data', (b) => { err += b; });
    c.on('error', reject);
    c.on('close', (status) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      resolve({ status, wall, stdout: Buffer.concat(out).toString('utf8'), stderr: err, lines });
    });
  });
}

// One child run under /usr/bin/time: wall seconds (parent clock), peak RSS (KiB),
// stdout, and the inner JSON when any. Other work on this tree may rebuild
// dist/ or the addon while we run: a run that fails is retried (up to 3
// times, 15 s apart) and the retry is noted in the report.
const retries = [];
async function timed(argv, opts = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await timedOnce(argv, opts);
    } catch (e) {
      if (attempt >= 3) throw e;
      retries.push(`${argv.slice(-4).join(' ')}: ${e.message.split('\n')[0].slice(0, 200)}`);
      process.stderr.write(`retrying after failure: ${e.message.split('\n')[0]}\n`);
      await new Promise((r) => setTimeout(r, 15000));
    }
  }
}

async function timedOnce(argv, { stdoutTo = 'ignore' } = {}) {
  const r = await run(TIME, ['-f', 'RSSKB=%M CPUS=%U %S', ...argv], { capture: stdoutTo !== 'ignore' });
  const m = /RSSKB=(\d+)/.exec(r.stderr);
  const c = /CPUS=([\d.]+) ([\d.]+)/.exec(r.stderr); // user + system seconds of the run (on a busy VM, steadier than wall)
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.trim().slice(0, 500)}`);
  let inner;
  if (stdoutTo === 'json') inner = JSON.parse(r.stdout.trim().split('\n').pop());
  return { wall: r.wall, cpu: c ? Number(c[1]) + Number(c[2]) : NaN, rssKiB: m ? Number(m[1]) : NaN, inner, stdout: r.stdout, stderr: r.stderr };
}

function variants(ns, extended, anchors, { size, pyroute2Max }) {
  const haveDrain = anchors.drain && anchors.drain.path;
  const DRAIN = haveDrain;
  const v = [
    { key: 'ctrack', label: 'ctrack -L > /dev/null', argv: [process.execPath, CTRACK, '-L', '--netns', ns] },
    { key: 'api', label: 'API dumpRecords count-only', argv: [process.execPath, __filename, '--child', 'api', ns], json: true },
    { key: 'conntrack', label: 'conntrack -L > /dev/null', argv: ['ip', 'netns', 'exec', ns, 'conntrack', '-L'] },
    { key: 'floor', label: 'kernel floor (node, receiveBatch)', argv: [process.execPath, __filename, '--child', 'floor', ns], json: true },
    // the last of WARM_DUMPS dumps of one process: the code is warm (a service)
    { key: 'apiw', label: `API dumpRecords count-only, dump ${WARM_DUMPS} of a process`, argv: [process.execPath, __filename, '--child', 'api', ns, 'warm'], json: true, warmRow: true },
    { key: 'floorw', label: `kernel floor (node), dump ${WARM_DUMPS} of a process`, argv: [process.execPath, __filename, '--child', 'floor', ns, 'warm'], json: true, warmRow: true },
  ];
  v.push({ key: 'node', label: 'node start-up alone (node -e 0)', argv: [process.execPath, '-e', '0'] });
  if (haveDrain) v.push({ key: 'floorc', label: 'kernel floor (C, recv)', argv: ['ip', 'netns', 'exec', ns, DRAIN], cfloor: true });
  const inNs = (...argv) => ['ip', 'netns', 'exec', ns, ...argv];
  if (anchors.nfct_dump && anchors.nfct_dump.path) {
    v.push({ key: 'nfct', label: 'libnetfilter_conntrack nfct_query(NFCT_Q_DUMP) count (C)', argv: inNs(anchors.nfct_dump.path), counted: true });
  }
  if (anchors.ctgo && anchors.ctgo.path) {
    v.push({ key: 'go', label: 'vishvananda/netlink ConntrackTableList (Go)', argv: inNs(anchors.ctgo.path, 'dump'), counted: true });
  }
  if (anchors.pyroute2 && anchors.pyroute2.path && size <= pyroute2Max) {
    v.push({ key: 'pyroute2', label: 'pyroute2 NFCTSocket().dump() count (Python)', argv: inNs(PYTHON, anchors.pyroute2.path), counted: true, once: true });
  }
  if (extended) {
    v.push({ key: 'ctrackx', label: 'ctrack -L -o extended', argv: [process.execPath, CTRACK, '-L', '-o', 'extended', '--netns', ns] });
    v.push({ key: 'conntrackx', label: 'conntrack -L -o extended', argv: ['ip', 'netns', 'exec', ns, 'conntrack', '-L', '-o', 'extended'] });
  }
  return v;
}

async function lineCount(argv) {
  const r = await run(argv[0], argv.slice(1), { countLines: true });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 300)}`);
  return r.lines;
}

function fmtS(x) {
  return x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}
function fmtRate(n, s) {
  const r = n / s;
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(0)} k/s`;
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0] ? cpus[0].model : 'unknown',
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    conntrack: (() => { try { return sh('conntrack', ['--version']); } catch { return 'unknown'; } })(),
    load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], args[2], args[3]);
  const quick = args.includes('--quick');
  const sizesArg = args.indexOf('--sizes');
  const repsArg = args.indexOf('--reps');
  const sizes = sizesArg >= 0 ? args[sizesArg + 1].split(',').map(Number) : quick ? [10000, 100000] : [10000, 100000, 1000000];
  const outArg = args.indexOf('--out');
  const outFile = outArg >= 0 ? args[outArg + 1] : path.join(__dirname, 'RESULTS-dump.md');
  const noWrite = args.includes('--no-write') || (sizesArg >= 0 && outArg < 0);
  const pyArg = args.indexOf('--pyroute2-max');
  const pyroute2Max = pyArg >= 0 ? Number(args[pyArg + 1]) : quick ? 10000 : 1000000;
  const extended = !quick && !args.includes('--no-extended');

  if (!fs.existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install time`);
  if (!fs.existsSync(CTRACK)) throw new Error('dist/ is missing: npm run build');
  const anchors = buildAnchors((m) => process.stdout.write(`${m}\n`));
  const anchorErrors = ['drain', 'nfct_dump', 'ctgo', 'pyroute2'].filter((k) => anchors[k].error).map((k) => anchors[k].error);
  for (const e of anchorErrors) process.stdout.write(`ANCHOR NOT RUN: ${e}\n`);
  const drainError = anchors.drain.error || null;

  const { createNs, cleanupAll, fill, count } = require('./fill.js');
  const started = new Date();
  const m0 = machine();
  process.stdout.write(`dump benchmark ${quick ? '(--quick) ' : ''}${started.toISOString()}: ${m0.cores} cores, ${m0.cpu}, ${m0.kernel}, node ${m0.node}, load ${m0.load}\n`);
  const maxSize = Math.max(...sizes);
  const { name: ns, buckets } = createNs(Math.max(2000000, maxSize * 2));
  const results = [];
  const fills = [];
  try {
    let have = 0;
    for (const size of sizes) {
      const f = await fill(ns, have, size);
      const got = await count(ns);
      fills.push({ from: have, to: size, seconds: f.seconds, errors: f.errors, got });
      process.stdout.write(`\nfilled ${have} -> ${size} in ${fmtS(f.seconds)} s (${fmtRate(size - have, f.seconds)}); Conntrack.count() = ${got}${got === size ? '' : ' MISMATCH'}\n`);
      if (got !== size) throw new Error(`table has ${got} entries, wanted ${size}`);
      have = size;

      // Correctness once per size: line counts of ctrack -L and conntrack -L.
      const lc = await lineCount([process.execPath, CTRACK, '-L', '--netns', ns]);
      const lk = await lineCount(['ip', 'netns', 'exec', ns, 'conntrack', '-L']);
      process.stdout.write(`lines: ctrack -L ${lc}, conntrack -L ${lk} ${lc === lk && lc === size ? '(equal)' : '(DIFFER)'}\n`);

      const reps = repsArg >= 0 ? Number(args[repsArg + 1]) : quick ? 3 : size >= 1000000 ? 3 : 5;
      const vs = variants(ns, extended, anchors, { size, pyroute2Max });
      const runs = Object.fromEntries(vs.map((v) => [v.key, []]));
      // Untimed warm-up of every variant at the first size only (binaries and
      // node's code in the page cache); at later sizes the two line-count
      // dumps above have already walked the grown table.
      if (size === sizes[0]) for (const v of vs) if (!v.once) await timed(v.argv, { stdoutTo: v.json ? 'json' : v.cfloor || v.counted ? 'pipe' : 'ignore' });
      for (let r = 0; r < reps; r++) {
        const order = r % 2 === 0 ? vs : [...vs].reverse();
        for (const v of order) {
          let t;
          if (v.once && r > 0) continue; // pyroute2: one run per size (it takes minutes at 1M)
          if (v.counted) { // anchors print "<entries> <seconds>"
            t = await timed(v.argv, { stdoutTo: 'pipe' });
            const [n, secs] = t.stdout.trim().split(/\s+/).map(Number);
            if (n !== size) throw new Error(`${v.label} counted ${n} entries, the table has ${size}`);
            t.inner = { n, seconds: secs };
          } else if (v.cfloor) {
            t = await timed(v.argv, { stdoutTo: 'pipe' });
            const [msgs, , , secs] = t.stdout.trim().split(/\s+/).map(Number);
            t.inner = { n: msgs, seconds: secs };
          } else {
            t = await timed(v.argv, { stdoutTo: v.json ? 'json' : 'ignore' });
          }
          runs[v.key].push(t);
        }
      }
      const row = { size, reps, pyroute2Skipped: anchors.pyroute2.path && size > pyroute2Max ? pyroute2Max : 0, lines: { ctrack: lc, conntrack: lk }, v: {}, load: os.loadavg()[0].toFixed(2) };
      for (const v of vs) {
        const rs = runs[v.key];
        const walls = rs.map((x) => x.wall);
        const inner = rs[0].inner ? rs.map((x) => x.inner.seconds) : null;

        row.v[v.key] = {
          label: v.label,
          wall: median(walls), wallMin: Math.min(...walls), wallMax: Math.max(...walls),
          inner: inner ? median(inner) : null, innerMin: inner ? Math.min(...inner) : null, innerMax: inner ? Math.max(...inner) : null,
          rssMiB: Math.max(...rs.map((x) => x.rssKiB)) / 1024,
          runs: rs.length,
          warmRow: v.warmRow === true,
          cpu: median(rs.map((x) => x.cpu)),
        };
      }
      results.push(row);
      process.stdout.write(table(row));
    }
  } finally {
    cleanupAll();
  }
  const m1 = machine();
  const md = report({ started, quick, m0, m1, results, fills, buckets, drainError, anchorErrors, versions: anchors.versions, pyroute2Max });
  process.stdout.write(`\n${verdicts(results, quick).join('\n')}\nload at end: ${m1.load}\n`);
  if (!noWrite) {
    fs.writeFileSync(outFile, md);
    process.stdout.write(`wrote ${path.relative(process.cwd(), outFile)}\n`);
    fs.writeFileSync(outFile.replace(/\.md$/, '.json'), JSON.stringify({ started, quick, results, verdicts: verdicts(results, quick), anchorErrors, pyroute2Max }, null, 1));
  }
}

function table(row) {
  const v = row.v;
  const lines = [];
  lines.push(`\n### ${row.size.toLocaleString('en')} entries (${row.reps} runs each, interleaved; median [min-max])\n`);
  lines.push('| run | runs | wall s | in-process dump s | entries/s (wall) | CPU s (user+sys) | peak RSS MiB |');
  lines.push('|---|---:|---|---|---|---:|---|');
  for (const k of Object.keys(v)) {
    const x = v[k];
    const inner = x.inner === null ? '' : `${fmtS(x.inner)} [${fmtS(x.innerMin)}-${fmtS(x.innerMax)}]`;
    // the warm rows' processes dump several times: their wall time is not one dump's
    const rate = x.warmRow ? '' : fmtRate(row.size, x.wall);
    lines.push(`| ${x.label} | ${x.runs} | ${fmtS(x.wall)} [${fmtS(x.wallMin)}-${fmtS(x.wallMax)}] | ${inner} | ${rate} | ${fmtS(x.cpu)} | ${x.rssMiB.toFixed(1)} |`);
  }
  lines.push('');
  lines.push(`- ctrack -L / conntrack -L (wall): **${(v.ctrack.wall / v.conntrack.wall).toFixed(2)}x** (target <= 0.5x)`);
  lines.push(`- API count-only / kernel floor (node), in-process: **${(v.api.inner / v.floor.inner).toFixed(2)}x** (target <= 1.3x); wall incl. node start: ${(v.api.wall / v.floor.wall).toFixed(2)}x; dump ${WARM_DUMPS} of a process (warm code): ${(v.apiw.inner / v.floorw.inner).toFixed(2)}x`);
  if (v.floorc) lines.push(`- API count-only / kernel floor (C), in-process: ${(v.api.inner / v.floorc.inner).toFixed(2)}x; node floor / C floor: ${(v.floor.inner / v.floorc.inner).toFixed(2)}x`);
  if (v.ctrackx) lines.push(`- ctrack -L -o extended / conntrack -L -o extended (wall): ${(v.ctrackx.wall / v.conntrackx.wall).toFixed(2)}x`);
  for (const [k, name] of [['nfct', 'libnetfilter_conntrack (C)'], ['go', 'vishvananda/netlink (Go)'], ['pyroute2', 'pyroute2 (Python)']]) {
    if (!v[k]) continue;
    lines.push(`- vs ${name}: ctrack -L / it (wall) ${(v.ctrack.wall / v[k].wall).toFixed(2)}x; API count-only / it (wall) ${(v.api.wall / v[k].wall).toFixed(2)}x, ` +
      `(in-process) ${(v.api.inner / v[k].inner).toFixed(2)}x; its peak RSS ${v[k].rssMiB.toFixed(1)} MiB`);
  }
  if (row.pyroute2Skipped) lines.push(`- pyroute2 not run at this size (--pyroute2-max ${row.pyroute2Skipped}: about 110 s per run at 1M)`);
  lines.push(`- peak RSS: ctrack -L ${v.ctrack.rssMiB.toFixed(1)} MiB, API ${v.api.rssMiB.toFixed(1)} MiB, conntrack -L ${v.conntrack.rssMiB.toFixed(1)} MiB`);
  lines.push(`- 1-min load average after this size's runs: ${row.load} (2 cores)`);
  lines.push(`- correctness: ctrack -L printed ${row.lines.ctrack} lines, conntrack -L ${row.lines.conntrack} ${row.lines.ctrack === row.lines.conntrack ? '(equal)' : '(DIFFER)'}`);
  return lines.join('\n') + '\n';
}

function verdicts(results, quick) {
  const out = [];
  const api = results.map((r) => r.v.api.inner / r.v.floor.inner);
  out.push(`- API count-only <= 1.3x the kernel floor (node receiveBatch floor, in-process time): ${api.every((x) => x <= 1.3) ? 'MET' : 'NOT MET'} (${results.map((r, i) => `${r.size}: ${api[i].toFixed(2)}x`).join(', ')})`);
  if (results.every((r) => r.v.floorc)) {
    const apic = results.map((r) => r.v.api.inner / r.v.floorc.inner);
    out.push(`- API count-only <= 1.3x the kernel floor (C recv() drain, in-process time): ${apic.every((x) => x <= 1.3) ? 'MET' : 'NOT MET'} (${results.map((r, i) => `${r.size}: ${apic[i].toFixed(2)}x`).join(', ')})`);
  }
  const ct = results.map((r) => r.v.ctrack.wall / r.v.conntrack.wall);
  const ctCpu = results.map((r) => r.v.ctrack.cpu / r.v.conntrack.cpu);
  out.push(`- ctrack -L > /dev/null <= 0.5x conntrack -L at every size: ${ct.every((x) => x <= 0.5) ? 'MET' : 'NOT MET'} (${results.map((r, i) => `${r.size}: ${ct[i].toFixed(2)}x`).join(', ')}; ` +
    `by CPU time ${results.map((r, i) => `${r.size}: ${ctCpu[i].toFixed(2)}x`).join(', ')})`);
  const big = results.find((r) => r.size >= 1000000);
  if (big) {
    const rss = Math.max(big.v.ctrack.rssMiB, big.v.api.rssMiB);
    out.push(`- peak RSS < 150 MiB at 1M: ${rss < 150 ? 'MET' : 'NOT MET'} (ctrack -L ${big.v.ctrack.rssMiB.toFixed(1)} MiB, API ${big.v.api.rssMiB.toFixed(1)} MiB)`);
  } else {
    out.push(`- peak RSS < 150 MiB at 1M: not measured${quick ? ' (--quick stops at 100k)' : ''}`);
  }
  return out;
}

function report({ started, quick, m0, m1, results, fills, buckets, drainError, anchorErrors, versions, pyroute2Max }) {
  const L = [];
  L.push('# Dump benchmark results (real kernel)');
  L.push('');
  L.push(`Date: ${started.toISOString()} (${quick ? '--quick: 10k and 100k only, 3 runs each' : 'full run: 5 runs each, 3 at 1M'})`);
  L.push('');
  L.push('Generated by `npm run bench:dump` (bench/dump.js); rerun to refresh.');
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push(`- cores: ${m0.cores}; CPU: ${m0.cpu}`);
  L.push(`- kernel: ${m0.kernel}; node ${m0.node}; ${m0.conntrack}`);
  L.push(`- load average (1/5/15 min) at start: ${m0.load}; at end: ${m1.load}`);
  L.push(`- namespace table: nf_conntrack_buckets ${buckets} (not writable from a namespace); the initial namespace's nf_conntrack_max is raised for the run (a namespace's cannot exceed it since Linux 6.x) and restored afterwards`);
  L.push('- a shared VM, and other work (builds, jest) ran on the same 2 cores at times: timings are noisy, hence the min-max');
  if (retries.length) L.push(`- runs retried after a failure (dist/ or the addon being rebuilt meanwhile): ${retries.length}: ${retries.join('; ')}`);
  L.push('');
  L.push('## Method');
  L.push('');
  L.push('One namespace (same setup as test/helpers/netns.ts) grown by bench/fill.js: IPCTNL_MSG_CT_NEW requests, 128 per datagram, TCP ESTABLISHED / UDP alternately, timeout 3600, distinct 10.x.y.z sources. At the first size every variant runs once untimed (later sizes: the two line-count dumps walk the grown table first), then the repetitions interleave (alternating order). Each run is its own process under `/usr/bin/time -f %M` (peak RSS); wall time is measured by the parent around the whole process (node start-up included for the node runs: see the `node -e 0` row). "in-process dump s" is timed inside the child from opening the socket to NLMSG_DONE, so API vs floor compares the dump alone. The two "dump ' + WARM_DUMPS + ' of a process" rows run the same children dumping ' + WARM_DUMPS + ' times on one socket and time the last dump alone: V8 has compiled and warmed up the code by then, as in a service that dumps repeatedly (their wall time covers all the dumps).');
  L.push('');
  L.push('- kernel floor (node): NetlinkSocket.open() + the dump request, then the native `receiveBatch()` in a busy loop into the WASM arena, counting bytes, no decoding; the end is found from the last 20 bytes of each batch\'s last datagram (NLMSG_DONE). Each call receives as many datagrams as Conntrack\'s socket per wake-up (DUMP_MAX_PER_WAKE, 16), into the same part of the arena.');
  L.push(`- kernel floor (C): bench/anchors/drain.c, raw recv() into a 1 MiB buffer, walks the nlmsghdr chain only.${drainError ? ` NOT RUN: ${drainError}` : ''}`);
  L.push('- libnetfilter_conntrack (C): bench/anchors/nfct_dump.c, nfct_open + nfct_query(NFCT_Q_DUMP) with a callback that counts (4 MiB receive buffer); "in-process" from nfct_open to the end of the dump.');
  L.push('- vishvananda/netlink (Go): bench/anchors/go/main.go, netlink.ConntrackTableList(ConntrackTable, FAMILY_ALL), built offline in GOPATH mode from Debian\'s golang-github-vishvananda-netlink-dev; it buffers the whole dump and then parses every flow into a struct.');
  L.push(`- pyroute2 (Python): bench/anchors/pyroute2_dump.py, NFCTSocket().dump() iterated and counted, Debian python3-pyroute2, /usr/bin/python3; one run per size (no warm-up), up to ${pyroute2Max.toLocaleString('en')} entries.`);
  if (versions) L.push(`- versions: libnetfilter_conntrack ${versions.libnetfilter_conntrack}; ${versions.go}; vishvananda/netlink (Debian) ${versions.vishvananda_netlink}; pyroute2 (Debian) ${versions.pyroute2}`);
  for (const e of anchorErrors || []) L.push(`- NOT RUN: ${e}`);
  L.push('');
  L.push('Fill rate (bench/fill.js): ' + fills.map((f) => `${f.from}->${f.to}: ${fmtRate(f.to - f.from, f.seconds)} (${fmtS(f.seconds)} s)`).join('; '));
  L.push('');
  L.push('## Targets');
  L.push('');
  L.push(...verdicts(results, quick));
  L.push('');
  L.push('Orientation figures measured earlier on this machine kind (1M entries), NOT measured by this run: kernel floor ~2.2 s, `conntrack -L > /dev/null` ~6.7 s, libnetfilter_conntrack count-only ~3.4 s.');
  L.push('');
  L.push('## Results');
  for (const r of results) L.push(table(r));
  L.push('## Reproduce');
  L.push('');
  L.push('As root, with iproute2, nftables, conntrack, procps, time (/usr/bin/time) and gcc installed, after `npm run build`:');
  L.push('');
  L.push('```');
  L.push('npm run bench:dump            # 10k, 100k, 1M (several minutes)');
  L.push('node bench/dump.js --quick    # 10k and 100k');
  L.push('node bench/fill.js 1000000    # fill rate alone');
  L.push('```');
  L.push('');
  return L.join('\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  try { require('./fill.js').cleanupAll(); } catch {}
  process.exit(1);
});
