// Privileges. nfnetlink refuses every ctnetlink message from a sender without
// CAP_NET_ADMIN in the socket's network namespace (nfnetlink_rcv_msg), and
// joining its multicast groups needs it too (no NL_CFG_F_NONROOT_RECV): so an
// unprivileged process gets nothing, not even a dump, and every operation must
// fail fast with ERR_CT_PERMISSION and a hint. A user namespace changes that:
// an unprivileged user who creates a user + network namespace (unshare -Urn)
// holds CAP_NET_ADMIN over that namespace, and everything works there.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Netns, tool } from './helpers/netns';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const CLI = path.join(ROOT, 'dist', 'cli', 'ctrack.js');

let ns: Netns;
let other: Netns;

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error('dist/ is missing: run npm run build');
  ns = Netns.create();
  other = Netns.create();
  ns.exec(tool('conntrack'), ['-I', '-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '1000', '--dport', '80', '-t', '100', '--state', 'ESTABLISHED']);
});

afterAll(() => {
  ns?.destroy();
  other?.destroy();
});

const NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

/** Run a node script as nobody inside `ns` (ip netns exec ... setpriv ...), optionally in a fresh user+net namespace. */
function asNobody(script: string, opts: { userns?: boolean } = {}): Record<string, string> {
  const argv = [tool('ip'), 'netns', 'exec', ns.name, tool('setpriv'), ...NOBODY];
  if (opts.userns) argv.push(tool('unshare'), '-Urn');
  const r = spawnSync(argv[0], [...argv.slice(1), process.execPath, '-e', script], { encoding: 'utf8', cwd: '/', timeout: 120_000 });
  if (r.error) throw r.error;
  try {
    return JSON.parse(r.stdout) as Record<string, string>;
  } catch {
    throw new Error(`child failed (status ${r.status}): ${r.stderr}`);
  }
}

// Each operation with its own bound: an operation that hangs reports 'HANG'.
const HARNESS = `
  const lib = require(${JSON.stringify(DIST)});
  const out = {};
  const bound = (p) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej({ code: 'HANG' }), 20000))]);
  const op = async (name, f) => {
    try { await bound(Promise.resolve().then(f)); out[name] = 'ok'; }
    catch (e) { out[name] = (e && e.code) + ' | ' + (e && e.message); }
  };
  process.on('warning', () => {});
`;

const TUPLE = `{ src: '10.0.0.1', dst: '10.0.0.2', protoNum: 6, srcPort: 1000, dstPort: 80 }`;
const OPS: Array<[string, string]> = [
  ['list', 'ct.list()'],
  ['dump', '(async () => { for await (const f of ct.dump()) void f; })()'],
  ['count', 'ct.count()'],
  ['stats', 'ct.stats()'],
  ['expectStats', 'ct.expectStats()'],
  ['get', `ct.get(${TUPLE})`],
  ['create', `ct.create({ orig: { src: '10.9.0.1', dst: '10.9.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 30 })`],
  ['update', `ct.update({ orig: ${TUPLE}, mark: 1 })`],
  ['delete', `ct.delete(${TUPLE})`],
  ['deleteMatching', `ct.deleteMatching(new lib.FilterBuilder().proto('tcp'))`],
  ['flush', 'ct.flush()'],
  ['getExpect', `ct.getExpect(${TUPLE})`],
  ['flushExpect', 'ct.flushExpect()'],
  ['events', `new Promise((resolve, reject) => { const s = ct.events(); s.on('error', reject); setTimeout(() => { s.close?.(); resolve(); }, 500); })`],
  ['listInOtherNamespace', `lib.Conntrack.open({ netns: ${'OTHER'} }).then((c) => c.list())`],
];

function opsScript(): string {
  return `${HARNESS}
  (async () => {
    const ct = await lib.Conntrack.open();
    ${OPS.map(([name, expr]) => `await op(${JSON.stringify(name)}, () => ${expr.replace('OTHER', JSON.stringify(other.name))});`).join('\n    ')}
    ct.close();
    process.stdout.write(JSON.stringify(out));
  })().catch((e) => process.stdout.write(JSON.stringify({ crash: String(e && e.stack) })));`;
}

describe('unprivileged (nobody) in a namespace it does not own', () => {
  let out: Record<string, string>;
  beforeAll(() => {
    out = asNobody(opsScript());
  }, 150_000);

  test('the child ran every operation', () => {
    expect(out.crash).toBeUndefined();
    expect(Object.keys(out).sort()).toEqual(OPS.map(([n]) => n).sort());
  });

  test.each(OPS.map(([n]) => [n]))('%s fails fast with ERR_CT_PERMISSION and a hint naming CAP_NET_ADMIN', (name) => {
    expect(out[name]).toMatch(/^ERR_CT_PERMISSION \| .*CAP_NET_ADMIN/);
  });
});

test('unprivileged in its own user + network namespace (unshare -Urn): the kernel allows everything there', () => {
  const out = asNobody(`${HARNESS}
  (async () => {
    const ct = await lib.Conntrack.open();
    const seen = [];
    const s = ct.events();
    s.on('event', (e) => seen.push(e.event));
    s.on('error', (e) => { out.eventsError = e.code; });
    await new Promise((r) => setTimeout(r, 200));
    await op('create', () => ct.create({ orig: { src: '10.9.0.1', dst: '10.9.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }, timeout: 30 }));
    await op('list', async () => { const l = await ct.list(); if (l.length !== 1) throw new Error('list: ' + l.length); });
    await op('get', () => ct.get({ src: '10.9.0.1', dst: '10.9.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }));
    await op('count', () => ct.count());
    await op('delete', () => ct.delete({ src: '10.9.0.1', dst: '10.9.0.2', protoNum: 17, srcPort: 1, dstPort: 2 }));
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    out.events = seen.join(',');
    s.close?.();
    ct.close();
    process.stdout.write(JSON.stringify(out));
  })().catch((e) => process.stdout.write(JSON.stringify({ crash: String(e && e.stack) })));`, { userns: true });
  expect(out).toEqual({ create: 'ok', list: 'ok', get: 'ok', count: 'ok', delete: 'ok', events: 'new,destroy' });
}, 150_000);

// conntrack -L as nobody prints one line and exits 1; so does ctrack.
const CLI_CASES: string[][] = [
  ['-L'], ['-L', 'expect'], ['-E'], ['-C'], ['-S'], ['-F'], ['-D', '-p', 'tcp'],
  ['-G', '-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '1000', '--dport', '80'],
  ['-I', '-p', 'tcp', '-s', '10.9.0.1', '-d', '10.9.0.2', '--sport', '1', '--dport', '2', '-t', '10', '--state', 'ESTABLISHED'],
  ['-U', '-p', 'tcp', '-m', '1'],
];

test.each(CLI_CASES.map((a) => [a.join(' '), a]))('ctrack %s without privileges: exit 1, one line on stderr naming CAP_NET_ADMIN', (_name, args) => {
  const r = spawnSync(tool('ip'), ['netns', 'exec', ns.name, tool('setpriv'), ...NOBODY, process.execPath, CLI, ...(args as string[])],
    { encoding: 'utf8', cwd: '/', timeout: 60_000 });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ctrack: .*CAP_NET_ADMIN.*\[ERR_CT_PERMISSION\]$/);
}, 90_000);
