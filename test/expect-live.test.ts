// Expectations against the real kernel, in a private network namespace: the
// kernel's FTP helper (assigned by an nft `ct helper` rule to TCP port 21)
// makes real ones when a server on port 21 answers PASV with "227 ...".
// Listings, -G expect and -D expect are compared with conntrack on the same
// table; every API operation is checked by reading the table back with
// conntrack -L expect.
import { Netns, tool } from './helpers/netns';
import { ctrack } from './helpers/cli';
import { parseArgs } from '../src/cli/args';
import { Output, runLive } from '../src/cli/run';
import { expectSameDump } from './helpers/compare';
import { Conntrack } from '../src/conntrack';
import type { Expectation, Flow } from '../src/types';

let ns: Netns;

/** A control connection to 127.0.0.1:21 whose server answers PASV with data port `port`: the helper expects 127.0.0.1 -> 127.0.0.1:port. */
function pasv(port: number): void {
  ns.exec(tool('python3'), ['-c', `
import socket
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', 21)); srv.listen(1)
c = socket.create_connection(('127.0.0.1', 21)); a, _ = srv.accept()
a.sendall(b'220 ready\\r\\n'); c.recv(100)
c.sendall(b'PASV\\r\\n'); a.recv(100)
a.sendall(b'227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255}).\\r\\n'); c.recv(100)
`]);
}

beforeAll(() => {
  ns = Netns.create();
  ns.exec(tool('nft'), ['add', 'ct', 'helper', 'inet', 't', 'ftp-std', '{ type "ftp" protocol tcp; }']);
  ns.exec(tool('nft'), ['add', 'rule', 'inet', 't', 'c', 'tcp', 'dport', '21', 'ct', 'helper', 'set', 'ftp-std']);
  pasv(51001);
  pasv(51002);
});

afterAll(() => {
  ns?.destroy();
});

/** conntrack inside the namespace: stdout, stderr and status. */
const theirs = (...args: string[]): { stdout: string; stderr: string; code: number } => ns.conntrackRun(...args);

const expected = (port: number) => ({ l3proto: 2, src: '127.0.0.1', dst: '127.0.0.1', protoNum: 6, srcPort: 0, dstPort: port });
const lines = (t: string) => t.split('\n').filter(Boolean);

test('the FTP helper made two expectations', () => {
  const out = lines(theirs('-L', 'expect').stdout);
  expect(out).toHaveLength(2);
  for (const port of [51001, 51002]) expect(out.join('\n')).toMatch(new RegExp(`proto=6 src=127\\.0\\.0\\.1 dst=127\\.0\\.0\\.1 sport=0 dport=${port} .* dport=21 class=0 helper=ftp`));
});

describe.each([[[]], [['-o', 'xml']], [['-o', 'extended']], [['-o', 'id']], [['-f', 'ipv4']], [['-f', 'ipv6']]])('ctrack -L expect %j equals conntrack -L expect', (extra) => {
  test('stdout, summary and exit code', async () => {
    const ours = await ctrack('-L', 'expect', ...extra, '--netns', ns.name);
    const ref = theirs('-L', 'expect', ...extra);
    expectSameDump(ours.stdout, ref.stdout);
    expect(ours.stderr.trim()).toBe(ref.stderr);
    expect(ours.code).toBe(ref.code);
  });
});

test('ctrack -G expect prints what conntrack -G expect prints; a missing one fails the same way', async () => {
  const tuple = ['-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '0', '--dport', '51001'];
  // conntrack insists on the reply ports here, and ignores them
  const reply = ['--reply-port-src', '1', '--reply-port-dst', '1'];
  const ours = await ctrack('-G', 'expect', ...tuple, '--netns', ns.name);
  const ref = theirs('-G', 'expect', ...tuple, ...reply);
  expect(lines(ref.stdout)).toHaveLength(1);
  expectSameDump(ours.stdout, ref.stdout);
  expect([ours.stderr.trim(), ours.code]).toEqual([ref.stderr, ref.code]);
  const missing = ['-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '0', '--dport', '51999'];
  const ours2 = await ctrack('-G', 'expect', ...missing, '--netns', ns.name);
  const ref2 = theirs('-G', 'expect', ...missing, ...reply);
  expect([ours2.stdout, ours2.stderr.trim(), ours2.code]).toEqual([ref2.stdout, ref2.stderr, ref2.code]);
  expect(ours2.code).toBe(1);
  // the tuple flags are required (exit 2)
  expect((await ctrack('-G', 'expect', '-p', 'tcp', '--netns', ns.name)).code).toBe(2);
});

test('API: list, getExpect, deleteExpect, createExpect and flushExpect, each read back with conntrack -L expect', async () => {
  const ct = await Conntrack.open({ netns: ns.name });
  try {
    const listed = (await ct.list({ table: 'expect' })) as Expectation[];
    expect(listed).toHaveLength(2);
    const e = await ct.getExpect(expected(51001));
    expect(e).toMatchObject({ kind: 'expect', helperName: 'ftp', tuple: { dstPort: 51001 }, mask: { dstPort: 65535 }, master: { dstPort: 21 } });
    expect(e.timeout).toBeGreaterThan(250);
    expect(listed.map((x) => x.tuple?.dstPort).sort()).toEqual([51001, 51002]);
    await expect(ct.getExpect(expected(51999))).rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND' });

    await ct.deleteExpect(expected(51001));
    expect(lines(theirs('-L', 'expect').stdout).map((l) => /dport=(\d+) mask/.exec(l)?.[1])).toEqual(['51002']);
    await expect(ct.deleteExpect(expected(51001))).rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND' });

    // a new expectation of the master whose expectation was just deleted (the FTP helper allows one per master)
    const master = (await ct.list() as Flow[]).find((f) => f.orig?.dstPort === 21 && f.orig.srcPort === e.master?.srcPort);
    expect(master?.helperName).toBe('ftp');
    await ct.createExpect({
      master: { l3proto: 2, src: '127.0.0.1', dst: '127.0.0.1', protoNum: 6, srcPort: master?.orig?.srcPort, dstPort: 21 },
      tuple: expected(51077),
      mask: { l3proto: 2, src: '255.255.255.255', dst: '255.255.255.255', protoNum: 6, srcPort: 0, dstPort: 0xffff },
      timeout: 120,
    });
    const after = lines(theirs('-L', 'expect').stdout);
    expect(after).toHaveLength(2);
    // the timeout is the helper's policy (300 s for ftp): the kernel replaces
    // CTA_EXPECT_TIMEOUT with it when the master has a helper (nf_ct_expect_insert)
    expect(after.find((l) => l.includes('dport=51077'))).toMatch(
      new RegExp(`^2\\d\\d proto=6 src=127\\.0\\.0\\.1 dst=127\\.0\\.0\\.1 sport=0 dport=51077 mask-src=255\\.255\\.255\\.255 mask-dst=255\\.255\\.255\\.255 sport=0 dport=65535 master-src=127\\.0\\.0\\.1 master-dst=127\\.0\\.0\\.1 sport=${master?.orig?.srcPort} dport=21 class=0 helper=ftp$`),
    );
    await expect(ct.createExpect({ master: { l3proto: 2, src: '127.0.0.1', dst: '127.0.0.1', protoNum: 6, srcPort: 1, dstPort: 21 }, tuple: expected(51078), mask: expected(0xffff), timeout: 120 }))
      .rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND' }); // no such master

    await ct.flushExpect();
    expect(lines(theirs('-L', 'expect').stdout)).toEqual([]);
  } finally {
    ct.close();
  }
});

test('ctrack -I expect creates the expectation its flags describe (read back with conntrack -L expect)', async () => {
  theirs('-F', 'expect');
  pasv(51005); // a master with the ftp helper ...
  const line = lines(theirs('-L', 'expect').stdout)[0];
  const masterPort = /sport=(\d+) dport=21 /.exec(line)?.[1] as string;
  theirs('-F', 'expect'); // ... and room for one expectation of it
  const r = await ctrack('-I', 'expect', '-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', masterPort, '--dport', '21',
    '--tuple-src', '127.0.0.1', '--tuple-dst', '127.0.0.1', '--tuple-port-dst', '51888',
    '--mask-src', '255.255.255.255', '--mask-dst', '255.255.255.255', '--mask-port-dst', '65535', '-t', '100', '--netns', ns.name);
  expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']); // conntrack -I expect prints nothing either
  expect(lines(theirs('-L', 'expect').stdout)).toEqual([
    expect.stringMatching(new RegExp(`^\\d+ proto=6 src=127\\.0\\.0\\.1 dst=127\\.0\\.0\\.1 sport=0 dport=51888 mask-src=255\\.255\\.255\\.255 mask-dst=255\\.255\\.255\\.255 sport=0 dport=65535 master-src=127\\.0\\.0\\.1 master-dst=127\\.0\\.0\\.1 sport=${masterPort} dport=21 class=0 helper=ftp$`)),
  ]);
  // a master that does not exist: conntrack's own wording for it, exit 1
  const noMaster = ['-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '1', '--dport', '21',
    '--tuple-src', '127.0.0.1', '--tuple-dst', '127.0.0.1', '--mask-src', '255.255.255.255', '--mask-dst', '255.255.255.255', '-t', '100'];
  const missing = await ctrack('-I', 'expect', ...noMaster, '--netns', ns.name);
  const ref = theirs('-I', 'expect', ...noMaster, '--tuple-port-src', '0', '--tuple-port-dst', '0', '--mask-port-src', '0', '--mask-port-dst', '0');
  expect([missing.code, missing.stderr.trim()]).toEqual([ref.code, ref.stderr]);
  expect(ref.stderr).toBe('conntrack v1.4.7 (conntrack-tools): Operation failed: master conntrack not found');
  // what it needs, as conntrack asks for it (exit 2); the expectation flags go with -I expect only
  for (const [args, msg] of [
    [['-I', 'expect', '-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '1', '--dport', '21', '-t', '9'], /--tuple-src/],
    [['-I', 'expect', '-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '1', '--dport', '21', '--tuple-src', '127.0.0.1', '--tuple-dst', '127.0.0.1', '-t', '9'], /--mask-src/],
    [['-I', 'expect', '-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--tuple-src', '127.0.0.1', '--tuple-dst', '::1', '--mask-src', '255.255.255.255', '--mask-dst', '255.255.255.255', '-t', '9'], /IPv4 or all IPv6/],
    [['-L', '--tuple-src', '127.0.0.1'], /only go with -I expect/],
    [['-L', '--mask-src', '255.0.0.0'], /--mask-src needs -s/],
    [['-L', '-s', '10.0.0.0', '--mask-src', 'ffff::'], /not of the family/],
    [['-L', '-s', '10.0.0.0/8', '--mask-src', '255.0.0.0'], /prefix length already/],
    [['-L', 'expect', '-s', '10.0.0.0', '--mask-src', '255.0.0.0'], /--mask-src/],
  ] as [string[], RegExp][]) {
    const bad = await ctrack(...args, '--netns', ns.name);
    expect({ args, code: bad.code }).toEqual({ args, code: 2 });
    expect(bad.stderr).toMatch(msg);
  }
});

test('ctrack -D expect deletes by the expected tuple and reports it as conntrack -D expect does', async () => {
  theirs('-F', 'expect');
  pasv(51003);
  pasv(51004);
  const tuple = (port: number) => ['-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '0', '--dport', String(port)];
  const reply = ['--reply-port-src', '1', '--reply-port-dst', '1'];
  const ours = await ctrack('-D', 'expect', ...tuple(51003), '--netns', ns.name);
  const ref = theirs('-D', 'expect', ...tuple(51004), ...reply);
  // conntrack's quirk: "0 expectations have been shown." and exit 1 after deleting one
  expect([ours.stdout, ours.stderr.trim(), ours.code]).toEqual([ref.stdout, ref.stderr, ref.code]);
  expect(ref.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 0 expectations have been shown.');
  expect(lines(theirs('-L', 'expect').stdout)).toEqual([]); // both gone
  const again = await ctrack('-D', 'expect', ...tuple(51003), '--netns', ns.name);
  const refAgain = theirs('-D', 'expect', ...tuple(51003), ...reply);
  expect([again.stderr.trim(), again.code]).toEqual([refAgain.stderr, refAgain.code]);
  expect(again.stderr).toMatch(/Operation failed: No such file or directory/);
});

test('ctrack -E expect prints the same expectation events as conntrack -E expect', async () => {
  theirs('-F', 'expect');
  let stop = (): void => undefined;
  let out = '';
  let err = '';
  const ours = runLive(parseArgs(['-E', 'expect', '--netns', ns.name]), { out: new Output((s) => (out += s)), err: (l) => (err += l + '\n') },
    { onStop(s) { stop = s; return () => undefined; } });
  const ref = ns.conntrackListen('-E', 'expect');
  await new Promise((r) => setTimeout(r, 800)); // both listening
  pasv(51010); // [NEW]
  theirs('-D', 'expect', '-p', 'tcp', '-s', '127.0.0.1', '-d', '127.0.0.1', '--sport', '0', '--dport', '51010', '--reply-port-src', '1', '--reply-port-dst', '1'); // [DESTROY]
  await new Promise((r) => setTimeout(r, 800));
  stop();
  await ref.stop();
  expect(await ours).toBe(0);
  const norm = (t: string) => lines(t).map((l) => l.replace(/^(\s*\[\w+\] )\d+ /, '$1T '));
  // the FTP helper's expectation comes and goes twice here (NEW, DESTROY, NEW,
  // DESTROY in both tools: the helper replaces it), then the delete
  const got = norm(out);
  expect(got[0]).toMatch(/^\s*\[NEW\] T proto=6 src=127\.0\.0\.1 dst=127\.0\.0\.1 sport=0 dport=51010 /);
  expect(got.at(-1)).toMatch(/^ *\[DESTROY\] T proto=6 .* dport=51010 /);
  expect(got).toEqual(norm(ref.out()));
  expect(err.trim()).toBe(`conntrack v1.4.7 (conntrack-tools): ${got.length} expectation events have been shown.`);
});
