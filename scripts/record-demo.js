#!/usr/bin/env node
// Records fixtures/top-demo.pcap, the capture `npm start` replays when it
// cannot read this host's table: real traffic in a private network namespace
// (a bulk TCP transfer, an interactive TCP session, short TCP requests,
// UDP queries, IPv4 and IPv6 over loopback) with accounting on, a dump of the
// table every second and the new/destroy events in between, each datagram
// written as the kernel sent it. Needs root, iproute2 and nftables; touches
// nothing outside the namespace it creates and deletes.
//
//   sudo node scripts/record-demo.js [seconds] [out.pcap]
'use strict';
const { execFileSync, spawn } = require('child_process');
const path = require('path');
const { Conntrack, PcapWriter } = require('../dist');

const seconds = Number(process.argv[2] ?? 20);
const out = process.argv[3] ?? path.join(__dirname, '..', 'fixtures', 'top-demo.pcap');
const ns = `ctrack-demo-${process.pid}`;

function sh(cmd, args) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

// The traffic, run inside the namespace by a child node.
const TRAFFIC = `
const net = require('net'), dgram = require('dgram');
const end = Date.now() + ${seconds * 1000};
const sink = (port, host) => net.createServer((s) => { s.on('data', (d) => { if (d[0] === 63) s.write(Buffer.alloc(d.length * 20, 1)); }); s.on('error', () => {}); }).listen(port, host);
sink(8080, '127.0.0.1'); sink(443, '127.0.0.1'); sink(22, '::1'); sink(5432, '::1');
const udp = dgram.createSocket('udp4'); udp.bind(53, '127.0.0.1'); udp.on('message', (m, r) => udp.send(Buffer.alloc(120), r.port, r.address));
setTimeout(() => {
  // bulk upload, about 300 KB/s, for the whole run
  const bulk = net.connect(443, '127.0.0.1'); bulk.on('error', () => {});
  setInterval(() => bulk.write(Buffer.alloc(30000)), 100);
  // interactive session over IPv6: small requests with larger answers
  const ssh = net.connect(22, '::1'); ssh.on('error', () => {}); ssh.on('data', () => {});
  setInterval(() => ssh.write(Buffer.from('?' + 'x'.repeat(Math.floor(Math.random() * 200)))), 250);
  // a database connection that ramps up half way
  const db = net.connect(5432, '::1'); db.on('error', () => {}); db.on('data', () => {});
  setInterval(() => db.write(Buffer.from(Date.now() > end - ${seconds * 500} ? '?'.repeat(2000) : 'ping')), 200);
  // short HTTP-like requests: new and destroyed flows
  setInterval(() => { const c = net.connect(8080, '127.0.0.1', () => { c.end('?GET / HTTP/1.1'); }); c.on('data', () => {}); c.on('error', () => {}); }, 300);
  // DNS-like UDP queries from fresh ports
  setInterval(() => { const q = dgram.createSocket('udp4'); q.send(Buffer.alloc(40), 53, '127.0.0.1', () => setTimeout(() => q.close(), 50)); }, 400);
}, 500);
setTimeout(() => process.exit(0), ${seconds * 1000} + 1000);
`;

async function main() {
  sh('ip', ['netns', 'add', ns]);
  let traffic;
  try {
    sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    sh('ip', ['netns', 'exec', ns, 'nft', 'add table inet t; add chain inet t c { type filter hook output priority 0; }; add rule inet t c ct state new counter']);
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1']);
    const w = await PcapWriter.open(out);
    const ct = await Conntrack.open({ netns: ns });
    const ev = ct.events({ groups: ['new', 'destroy'] });
    ev.on('batch', (b) => {
      for (let i = 0; i < b.size; i++) w.write(b.record(i).rawMessage());
    });
    traffic = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', TRAFFIC], { stdio: 'inherit' });
    let dumps = 0;
    const stop = Date.now() + seconds * 1000;
    while (Date.now() < stop) {
      await new Promise((r) => setTimeout(r, 1000));
      // one dump: its messages packed into datagrams with one time stamp
      const now = Date.now();
      const tsSec = Math.floor(now / 1000);
      const tsUsec = (now % 1000) * 1000;
      let parts = [];
      let len = 0;
      const flushParts = () => {
        if (parts.length > 0) w.write(Buffer.concat(parts), { tsSec, tsUsec });
        parts = [];
        len = 0;
      };
      await ct.dumpRecords({}, (rec) => {
        const m = rec.rawMessage();
        if (len + m.length > 16384) flushParts();
        parts.push(m);
        len += m.length;
      });
      flushParts();
      dumps++;
      await w.drain();
    }
    ev.close();
    ct.close();
    await w.close();
    process.stderr.write(`record-demo: ${dumps} dumps and the events between them written to ${out}\n`);
  } finally {
    traffic?.kill();
    sh('ip', ['netns', 'delete', ns]);
  }
}

main().catch((e) => {
  process.stderr.write(`record-demo: ${e.stack ?? e}\n`);
  process.exitCode = 1;
});
