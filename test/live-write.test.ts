// Conntrack write operations against the real kernel, in a private network
// namespace; every effect is read back with the real conntrack tool.
import { Netns } from './helpers/netns';
import { Conntrack } from '../src/conntrack';
import { ConntrackError } from '../src/errors';
import type { Flow } from '../src/types';
import { ctrack } from './helpers/cli';
import { expectSameDump } from './helpers/compare';

let ns: Netns;
let ct: Conntrack;

beforeAll(async () => {
  ns = Netns.create();
  ct = await Conntrack.open({ netns: ns.name });
});

afterAll(() => {
  ct?.close();
  ns?.destroy();
});

/** conntrack -L lines inside the namespace. */
function table(...args: string[]): string[] {
  return ns.conntrack('-L', ...args).trim().split('\n').filter(Boolean);
}

function only(lines: string[], needle: string): string {
  const hits = lines.filter((l) => l.includes(needle));
  expect(hits).toHaveLength(1);
  return hits[0];
}

const TCP = { src: '10.20.0.1', dst: '10.20.0.2', protoNum: 6, srcPort: 1234, dstPort: 80 };

test('create: the entry appears in conntrack -L with what was asked', async () => {
  await ct.create({
    orig: TCP,
    reply: { src: '10.20.0.2', dst: '10.20.0.1', protoNum: 6, srcPort: 80, dstPort: 1234 },
    timeout: 300, mark: 42, status: 0x0e /* SEEN_REPLY|ASSURED|CONFIRMED */, tcp: { state: 3 /* ESTABLISHED */ },
  });
  const line = only(table(), 'sport=1234');
  expect(line).toMatch(/^tcp +6 \d+ ESTABLISHED src=10\.20\.0\.1 dst=10\.20\.0\.2 sport=1234 dport=80 packets=0 bytes=0 src=10\.20\.0\.2 dst=10\.20\.0\.1 sport=80 dport=1234 /);
  expect(line).toContain('[ASSURED] mark=42');
});

test('create again: ERR_CT_EXISTS', async () => {
  await expect(ct.create({ orig: TCP, timeout: 300, tcp: { state: 3 } })).rejects.toMatchObject({ code: 'ERR_CT_EXISTS' });
});

test('get: returns the entry; a missing tuple is ERR_CT_NOT_FOUND', async () => {
  const f = await ct.get(TCP);
  expect(f.orig).toMatchObject(TCP);
  expect(f.mark).toBe(42);
  const id = only(table('-o', 'id'), 'sport=1234').match(/ id=(\d+)$/)![1];
  expect(f.id).toBe(Number(id));
  await expect(ct.get({ ...TCP, srcPort: 9 })).rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND' });
});

test('update sends only what is set: the mark changes, the state and status stay', async () => {
  await ct.update({ orig: TCP, mark: 7 });
  const line = only(table(), 'sport=1234');
  expect(line).toContain('mark=7');
  expect(line).toContain('ESTABLISHED');
  expect(line).toContain('[ASSURED]');
  // the timeout was not sent either, so it keeps counting down from 300
  expect(Number(line.split(/ +/)[2])).toBeGreaterThan(290);
  await expect(ct.update({ orig: { ...TCP, srcPort: 9 }, mark: 1 })).rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND' });
});

test('create without a reply tuple inverts the original, like conntrack -I (ICMP echo -> echo reply)', async () => {
  await ct.create({ orig: { src: '10.40.0.1', dst: '10.40.0.2', protoNum: 1, icmpType: 8, icmpCode: 0, icmpId: 99 }, timeout: 60 });
  expect(only(table(), 'id=99')).toMatch(/src=10\.40\.0\.1 dst=10\.40\.0\.2 type=8 code=0 id=99 .*src=10\.40\.0\.2 dst=10\.40\.0\.1 type=0 code=0 id=99/);
});

test('delete by tuple, and by flow (with its id)', async () => {
  await ct.create({ orig: { src: 'fd20::1', dst: 'fd20::2', protoNum: 17, srcPort: 53, dstPort: 5353 }, timeout: 100 });
  expect(table('-f', 'ipv6').some((l) => l.includes('sport=53 '))).toBe(true);
  await ct.delete({ src: 'fd20::1', dst: 'fd20::2', protoNum: 17, srcPort: 53, dstPort: 5353 });
  expect(table('-f', 'ipv6').some((l) => l.includes('sport=53 '))).toBe(false);

  const f = await ct.get(TCP);
  await ct.delete({ orig: f.orig, id: (f.id as number) + 1 }).then(
    () => { throw new Error('a wrong id must not delete'); },
    (e) => expect((e as ConntrackError).code).toBe('ERR_CT_NOT_FOUND'),
  );
  await ct.delete(f);
  expect(table().some((l) => l.includes('sport=1234'))).toBe(false);
  await expect(ct.delete(f)).rejects.toMatchObject({ code: 'ERR_CT_NOT_FOUND' });
});

test('flush by mark removes exactly the marked entries; flush of a family, then of everything', async () => {
  for (let i = 1; i <= 6; i++) {
    await ct.create({ orig: { src: `10.30.0.${i}`, dst: '10.30.1.1', protoNum: 17, srcPort: 1000 + i, dstPort: 53 }, timeout: 200, mark: i % 2 ? 0x11 : 0x20 });
  }
  await ct.create({ orig: { src: 'fd30::1', dst: 'fd30::2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 200 });
  await ct.flush({ mark: 0x10, markMask: 0xf0 });
  const left = table();
  expect(left.filter((l) => l.includes('dst=10.30.1.1') && l.includes('mark=17'))).toHaveLength(0);
  expect(left.filter((l) => l.includes('dst=10.30.1.1') && l.includes('mark=32'))).toHaveLength(3);
  // the kernel ignores the family of a flush (conntrack -F -f ipv6 empties
  // everything); ours deletes exactly that family
  expect(await ct.flush({ family: 'ipv6' })).toBe(1);
  expect(table('-f', 'ipv6')).toHaveLength(0);
  expect(table('-f', 'ipv4').length).toBeGreaterThanOrEqual(3);
  await ct.flush();
  expect(table()).toHaveLength(0);
  expect((await ct.count()).entries).toBe(0);
});

test('bad arguments fail before anything is sent', async () => {
  await expect(ct.create({ orig: { src: '10.0.0.1', dst: 'fd00::1' }, timeout: 1 })).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
  await expect(ct.create({ orig: { src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1 }, timeout: 1 })).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
  await expect(ct.get({ src: 'not-an-address' })).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
  await expect(ct.create({ orig: TCP, zone: 70000 })).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
});

describe('ctrack -I / -G / -F against conntrack', () => {
  const ENTRY = ['-p', 'tcp', '-s', '10.50.0.1', '-d', '10.50.0.2', '--sport', '4000', '--dport', '443'];

  test('-I creates what conntrack -I would (same -L line), and a duplicate fails like conntrack', async () => {
    const ours = await ctrack('-I', ...ENTRY, '-t', '200', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY', '-m', '9', '--netns', ns.name);
    expect(ours.code).toBe(0);
    expect(ours.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 1 flow entries have been created.\n');
    const mine = only(table(), 'sport=4000').replace(/ \d+ ESTABLISHED/, ' T ESTABLISHED').replace(/delta-time=\d+ /, '');
    ns.conntrack('-D', ...ENTRY);
    ns.conntrack('-I', ...ENTRY, '-t', '200', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY');
    ns.conntrack('-U', ...ENTRY, '-m', '9'); // conntrack 1.4.7 -I overwrites -m with the -u bits; set the mark apart
    const theirs = only(table(), 'sport=4000').replace(/ \d+ ESTABLISHED/, ' T ESTABLISHED').replace(/delta-time=\d+ /, '');
    expect(mine).toBe(theirs);
    const dup = await ctrack('-I', ...ENTRY, '-t', '200', '--state', 'ESTABLISHED', '--netns', ns.name);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe('conntrack v1.4.7 (conntrack-tools): Operation failed: Such conntrack exists, try -U to update\n');
  });

  test('-I -p sctp --orig-vtag --reply-vtag: the kernel stores the tags given (conntrack 1.4.7 does not)', async () => {
    const sctp = (port: string, ...vtags: string[]) => ['-p', 'sctp', '-s', '10.51.0.1', '-d', '10.51.0.2', '--sport', port, '--dport', '3868', '-t', '300', '--state', 'ESTABLISHED', ...vtags];
    const tags = ['--orig-vtag', '0x11223344', '--reply-vtag', '7'];
    const ours = await ctrack('-I', ...sctp('5000', ...tags), '--netns', ns.name);
    expect([ours.code, ours.stderr]).toEqual([0, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been created.\n']);
    // the text has no vtags: the same line as conntrack's entry
    ns.conntrack('-I', ...sctp('5001', ...tags));
    const norm = (l: string) => l.replace(/ \d+ ESTABLISHED/, ' T ESTABLISHED').replace(/delta-time=\d+ /, '').replace(/port=500[01]/g, 'port=P');
    expect(norm(only(table(), 'sport=5000'))).toBe(norm(only(table(), 'sport=5001')));
    // CTA_PROTOINFO_SCTP_VTAG_* are big endian (the kernel keeps them as on
    // the wire); read back, they are what was given
    const get = (port: number) => ct.get({ src: '10.51.0.1', dst: '10.51.0.2', protoNum: 132, srcPort: port, dstPort: 3868 });
    expect((await get(5000)).sctp).toEqual({ state: 4, vtagOriginal: 0x11223344, vtagReply: 7 }) // SCTP_CONNTRACK_ESTABLISHED = 4;
    // conntrack 1.4.7 loses --orig-vtag and sends --reply-vtag byte-swapped (htonl twice)
    expect((await get(5001)).sctp).toEqual({ state: 4, vtagOriginal: 0, vtagReply: 0x07000000 });
    expect((await ctrack('-I', '-p', 'udp', '-s', '10.51.0.1', '-d', '10.51.0.2', '--sport', '1', '--dport', '2', '-t', '9', '--orig-vtag', '1', '--netns', ns.name)).code).toBe(2);
    expect((await ctrack('-L', '--orig-vtag', '1', '--netns', ns.name)).code).toBe(2);
  });

  test('-G prints what conntrack -G prints; a missing entry fails the same way', async () => {
    const ours = await ctrack('-G', ...ENTRY, '--netns', ns.name);
    const ref = ns.exec('/bin/sh', ['-c', `conntrack -G ${ENTRY.join(' ')} 2>&1 1>/dev/null; conntrack -G ${ENTRY.join(' ')} 2>/dev/null`]);
    const [refErr, ...refOut] = ref.split('\n');
    expectSameDump(ours.stdout, refOut.join('\n'));
    expect(ours.stderr.trim()).toBe(refErr);
    const missing = await ctrack('-G', '-p', 'tcp', '-s', '10.50.0.1', '-d', '10.50.0.2', '--sport', '1', '--dport', '2', '--netns', ns.name);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("conntrack v1.4.7 (conntrack-tools): Operation failed: such conntrack doesn't exist\n");
  });

  test('-I without --timeout is a usage error (exit 2); -F empties the table', async () => {
    const bad = await ctrack('-I', ...ENTRY, '--netns', ns.name);
    expect(bad.code).toBe(2);
    const f = await ctrack('-F', '--netns', ns.name);
    expect(f.code).toBe(0);
    expect(f.stderr).toBe('conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.\n');
    expect(table()).toHaveLength(0);
  });
});

test("the seed's Go API: conntrackTableList and conntrackTableFlush", async () => {
  const { conntrackTableList, conntrackTableFlush, ConntrackTable } = await import('../src/conntrack');
  await ct.create({ orig: { src: '10.80.0.1', dst: '10.80.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 100 });
  await ct.create({ orig: { src: 'fd80::1', dst: 'fd80::2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 100 });
  const all = (await conntrackTableList(ConntrackTable, 0, { netns: ns.name })) as Flow[];
  const v4 = (await conntrackTableList(ConntrackTable, 2, { netns: ns.name })) as Flow[];
  expect(all.length).toBe(table().length);
  expect(v4.map((f) => f.orig?.src)).toEqual(table('-f', 'ipv4').map((l) => /src=(\S+)/.exec(l)![1]));
  await expect(conntrackTableList(7, 0, { netns: ns.name })).rejects.toMatchObject({ code: 'ERR_CT_INVALID_ARGUMENT' });
  await conntrackTableFlush(ConntrackTable, { netns: ns.name });
  expect(table()).toHaveLength(0);
});

test('ctrack -D deletes exactly what conntrack -D deletes on an identical set of entries', async () => {
  await ct.flush();
  // the same entries twice, under 10.90.x (for ctrack) and 10.91.x (for conntrack)
  for (const net of ['10.90', '10.91']) {
    for (let i = 1; i <= 4; i++) {
      await ct.create({ orig: { src: `${net}.0.${i}`, dst: `${net}.1.1`, protoNum: i % 2 ? 17 : 6, srcPort: 100 + i, dstPort: 53 }, timeout: 200,
        mark: i, ...(i % 2 ? {} : { tcp: { state: 3 } }) });
    }
  }
  const sel = (net: string) => ['-p', 'udp', '-s', `${net}.0.0/24`, '--dport', '53'];
  const ours = await ctrack('-D', ...sel('10.90'), '--netns', ns.name);
  const theirs = ns.exec('/bin/sh', ['-c', `conntrack -D ${sel('10.91').join(' ')} 2>&1`]);
  const norm = (t: string) => t.split('\n').filter((l) => l.startsWith('udp') || l.startsWith('tcp'))
    .map((l) => l.replace(/10\.9[01]\./g, 'N.').replace(/ \d+ src=/, ' T src=').replace(/delta-time=\d+ /, '')).sort();
  expect(norm(ours.stdout)).toEqual(norm(theirs));
  expect(norm(ours.stdout)).toHaveLength(2);
  expect(ours.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n');
  const left = table();
  expect(left.filter((l) => l.includes('10.90.')).map((l) => l.replace(/10\.90\./g, 'N.').replace(/ \d+ /, ' T ').replace(/delta-time=\d+ /, '')).sort())
    .toEqual(left.filter((l) => l.includes('10.91.')).map((l) => l.replace(/10\.91\./g, 'N.').replace(/ \d+ /, ' T ').replace(/delta-time=\d+ /, '')).sort());
  const none = await ctrack('-D', '-p', 'udp', '-s', '10.99.0.1', '--netns', ns.name);
  expect(none.code).toBe(1);
  expect(none.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n');
});

test('ctrack -U sets the new timeout like conntrack -U (same line), and a mark, which conntrack 1.4.7 cannot here', async () => {
  await ct.flush();
  for (const net of ['10.92', '10.93']) {
    await ct.create({ orig: { src: `${net}.0.1`, dst: `${net}.1.1`, protoNum: 17, srcPort: 5, dstPort: 53 }, timeout: 200, mark: 3 });
  }
  const ours = await ctrack('-U', '-s', '10.92.0.1', '-t', '50', '--netns', ns.name);
  const theirs = ns.exec('/bin/sh', ['-c', 'conntrack -U -s 10.93.0.1 -t 50 2>&1']);
  const norm = (t: string) => t.split('\n').filter((l) => l.startsWith('udp')).map((l) => l.replace(/10\.9[23]\./g, 'N.').replace(/ (4\d|50) src=/, ' T src=').replace(/ delta-time=\d+ /, ' delta-time=D '));
  expect(norm(ours.stdout)).toEqual(norm(theirs));
  expect(ours.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 1 flow entries have been updated.\n');
  expect(only(table(), '10.92.0.1')).toMatch(/^udp +17 (4\d|50) /);
  // conntrack 1.4.7 answers "Operation not supported" to -U -m on this kernel; ours sets it
  const m = await ctrack('-U', '-s', '10.92.0.1', '-m', '9', '--netns', ns.name);
  expect(m.code).toBe(0);
  expect(only(table(), '10.92.0.1')).toContain('mark=9');
  expect(only(table(), '10.93.0.1')).toContain('mark=3');
  const none = await ctrack('-U', '-s', '10.99.0.1', '-m', '1', '--netns', ns.name);
  expect(none.code).toBe(1);
});
