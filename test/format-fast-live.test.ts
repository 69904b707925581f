// The real ctrack binary (dist/, stdout a pipe: the fd-1 byte writes of
// src/cli/stdout.ts) on a table large enough for the 2 MiB WASM text region
// to fill several times, compared with conntrack -L on the same table, in a
// private namespace. Only timeout, delta-time and use may drift between the
// two reads (the ranges of helpers/compare.ts); ours reads first.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Netns, tool } from './helpers/netns';

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'ctrack.js');
const ENTRIES = 30000; // ~6 MiB of text with -o extended,id: three region flushes at least

let ns: Netns;

jest.setTimeout(180000);

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error('dist/ is missing: run npm run build');
  ns = Netns.create();
  ns.exec(tool('python3'), ['-c', `
import socket
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(('::1', 5002))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.sendto(b'q', ('::1', 5002))
d, addr = u.recvfrom(10); u.sendto(b'r', addr); v.recvfrom(10)
`]);
  ns.conntrack('-I', '-p', 'icmp', '-s', '10.200.0.3', '-d', '10.200.0.4', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '2000', '-m', '9');
  ns.conntrack('-I', '-p', 'tcp', '-s', '10.200.1.1', '-d', '10.200.1.2', '--sport', '2000', '--dport', '22', '-t', '2000', '--state', 'ESTABLISHED', '-w', '5', '-u', 'ASSURED,SEEN_REPLY');
  // bench/fill.js: IPCTNL_MSG_CT_NEW in bulk (TCP ESTABLISHED / UDP, timeout 3600)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fill } = require('../bench/fill.js') as { fill: (ns: string, from: number, to: number) => Promise<{ errors: number }> };
  const r = await fill(ns.name, 0, ENTRIES);
  expect(r.errors).toBe(0);
});

afterAll(() => {
  ns?.destroy();
});

// Fields that may drift between two reads: where, and the allowed (ours - conntrack)
// range, for reads `secs` seconds apart (a 30,000-entry dump on a loaded 2-CPU
// machine takes seconds, so the fixed 2 s of helpers/compare.ts is too tight).
function drift(secs: number): { re: RegExp; min: number; max: number }[] {
  return [
    { re: /^((?:ipv[46]\s+\d+\s+)?\S+\s+\d+ )(\d+)( )/, min: 0, max: secs }, // timeout column
    { re: /( delta-time=)(\d+)( )/, min: -secs, max: 0 },
    { re: /( use=)(\d+)( |$)/, min: -1, max: 1 },
  ];
}

/**
 * Lines of both listings that differ beyond the drift fields (helpers/compare.ts
 * semantics, but one expect for 30,000 lines instead of ten per line).
 */
function dumpDifferences(ours: string, theirs: string, secs: number): string[] {
  const DRIFT = drift(secs);
  const a = ours.split('\n');
  const b = theirs.split('\n');
  if (a.length !== b.length) return [`${a.length} lines vs ${b.length}`];
  const bad: string[] = [];
  for (let i = 0; i < a.length && bad.length < 5; i++) {
    let x = a[i];
    let y = b[i];
    for (const d of DRIFT) {
      const mx = d.re.exec(x);
      const my = d.re.exec(y);
      if (!mx !== !my) break;
      if (!mx || !my) continue;
      const diff = Number(mx[2]) - Number(my[2]);
      if (diff < d.min || diff > d.max) break;
      x = x.replace(d.re, '$1#$3');
      y = y.replace(d.re, '$1#$3');
    }
    if (x !== y) bad.push(`line ${i}:\n  ours:   ${a[i]}\n  theirs: ${b[i]}`);
  }
  return bad;
}

function run(file: string, args: string[]): { stdout: string; stderr: string; code: number } {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { stdout: r.stdout, stderr: r.stderr.trim(), code: r.status ?? -1 };
}

describe.each([[[]], [['-o', 'extended']], [['-o', 'id']], [['-o', 'extended,id']]])('ctrack -L %j through a pipe', (extra) => {
  test('equals conntrack -L line by line, with the same summary', () => {
    const t0 = Date.now();
    const ours = run(process.execPath, [CLI, '-L', ...extra, '--netns', ns.name]);
    const ref = run(tool('ip'), ['netns', 'exec', ns.name, tool('conntrack'), '-L', ...extra]);
    const secs = Math.ceil((Date.now() - t0) / 1000) + 1;
    expect(ours.code).toBe(0);
    expect(ours.stdout.split('\n').length).toBeGreaterThan(ENTRIES);
    expect(dumpDifferences(ours.stdout, ref.stdout, secs)).toEqual([]);
    expect(ours.stderr).toBe(ref.stderr);
  });
});

test('ctrack -L | head -1: a closed pipe ends ctrack quietly with exit 0', () => {
  const r = spawnSync(tool('bash'), ['-c', `"${process.execPath}" "${CLI}" -L --netns ${ns.name} | head -1; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  const out = r.stdout.trim().split('\n');
  expect(out).toHaveLength(2);
  expect(out[0]).toMatch(/^(tcp|udp|icmp) /);
  expect(out[1]).toBe('status=0');
  expect(r.stderr).toBe('');
});
