'use strict';
// IPFIX exporter throughput (npm run bench:ipfix): synthetic ended flows
// (both directions with packets: 2 IPFIX records each) exported over UDP to
// nfdump's nfcapd on 127.0.0.1, paced at increasing rates. For each rate:
// records nfcapd counted (its exit summary) vs records sent = loss, and the
// exporter's CPU time (process.cpuUsage, user+system) per 100k flows.
// The highest rate with zero loss is the result. Needs nfdump (Debian package
// nfdump) and a built dist/ (npm run build). Not part of npm test.
//
//   node bench/ipfix.js [--seconds 2] [--rates 10000,25000,50000,100000,200000]
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const dgram = require('dgram');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const seconds = Number(arg('seconds', '2'));
const rates = arg('rates', '10000,25000,50000,100000,200000').split(',').map(Number);
const { IpfixExporter } = require(path.join(__dirname, '..', 'dist', 'export', 'ipfix', 'exporter.js'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

async function nfcapd() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ipfix-'));
  const port = await freePort();
  const p = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600', '-B', String(8 << 20)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout.on('data', (d) => (log += d));
  p.stderr.on('data', (d) => (log += d));
  p.on('error', (e) => {
    console.error(`nfcapd: ${e.message} (install the Debian package nfdump)`);
    process.exit(1);
  });
  while (!/Startup nfcapd/.test(log)) await sleep(20);
  return {
    port,
    async stop() {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      const m = /Flows: (\d+)/.exec(log);
      return m ? Number(m[1]) : NaN;
    },
  };
}

function flow(i, now) {
  const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    event: 'end', reason: 'idle-timeout', id: i, family: 'ipv4', protocol: 17,
    orig: { src: a, dst: '192.0.2.1', srcPort: 1024 + (i % 60000), dstPort: 53 },
    reply: { src: '192.0.2.1', dst: a, srcPort: 53, dstPort: 1024 + (i % 60000) },
    nat: false,
    total: { orig: { packets: 1n, bytes: 80n }, reply: { packets: 1n, bytes: 200n } },
    delta: { orig: { packets: 1n, bytes: 80n }, reply: { packets: 1n, bytes: 200n } },
    startMs: now - 30, endMs: now,
  };
}

async function run(rate) {
  const c = await nfcapd();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${c.port}`, flushInterval: 5 });
  const total = Math.round(rate * seconds);
  const slice = Math.max(1, Math.round(rate / 200)); // every 5 ms
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let sent = 0;
  while (sent < total) {
    const now = Date.now();
    const n = Math.min(slice, total - sent);
    for (let k = 0; k < n; k++) ex.export(flow(sent + k, now));
    sent += n;
    const due = t0 + (sent / rate) * 1000;
    await sleep(Math.max(0, due - Date.now()));
  }
  await ex.close();
  const cpu = process.cpuUsage(cpu0);
  const wall = (Date.now() - t0) / 1000;
  await sleep(300);
  const got = await c.stop();
  const s = ex.stats();
  return { rate, flows: total, achieved: Math.round(total / wall), records: s.recordsSent, stored: got, lost: s.recordsSent - got, dropped: s.recordsDropped, cpuMsPer100k: ((cpu.user + cpu.system) / 1000) * (100000 / total), messages: s.messagesSent };
}

(async () => {
  console.log(`IPFIX exporter -> nfcapd (UDP, 127.0.0.1), ${seconds} s per rate; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${os.cpus().length} CPUs`);
  console.log('target flows/s | achieved | IPFIX records sent | stored by nfcapd | lost | CPU ms per 100k flows');
  let best = 0;
  for (const r of rates) {
    const x = await run(r);
    console.log(`${String(x.rate).padStart(14)} | ${String(x.achieved).padStart(8)} | ${String(x.records).padStart(18)} | ${String(x.stored).padStart(16)} | ${String(x.lost).padStart(4)} | ${x.cpuMsPer100k.toFixed(0)}`);
    if (x.lost === 0 && x.dropped === 0) best = Math.max(best, x.achieved);
  }
  console.log(`highest rate with zero loss: ${best} flows/s (${best * 2} IPFIX records/s)`);
})();
