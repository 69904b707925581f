// The fuzz harness of `npm run fuzz` (scripts/fuzz-core.js) in a smaller run:
// 100,000 mutated captured datagrams (fixed seed) through the checked and the
// release builds, every saved regression input replayed, and the harness's
// own detectors proven to fire.
import { execFile } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import * as index from '../src/index';
import { decodeError, toMessage } from '../src/materialize';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('../scripts/fuzz-core.js');

const ROOT = path.join(__dirname, '..');
const REGRESSIONS = path.join(__dirname, 'fixtures', 'fuzz-regressions');
const lib = { ...index, toMessage, decodeError };
const corpus = core.loadCorpus(lib, [path.join(ROOT, 'fixtures'), path.join(__dirname, 'fixtures')]);
const checker = core.createChecker(lib);
const SEED = 0x5eed;

test('the corpus holds every capture', () => {
  const names = new Set(corpus.map((s: { name: string }) => s.name.split('#')[0]));
  for (const p of core.findPcaps([path.join(ROOT, 'fixtures'), path.join(__dirname, 'fixtures')])) {
    expect(names).toContain(`${path.basename(path.dirname(p))}/${path.basename(p)}`);
  }
  expect(corpus.length).toBeGreaterThan(1000);
});

describe('the harness detects what it claims to', () => {
  const seedCase = core.rawCase(corpus.find((s: { name: string }) => s.name.startsWith('ipv4-basic/events')).data);
  // a release build whose records depend on the byte just past the datagram (an over-read)
  class LeakyDecoder extends index.Decoder {
    override decodeNext(): number {
      const n = super.decodeNext();
      if (n > 0 && this.core.variant === 'release') {
        const len = this.core.view.getUint32(index.layout.DESC + index.layout.DESC_LEN, true);
        this.core.bytes[index.layout.RECORDS + index.layout.REC_SIZE - 1] = this.core.bytes[index.layout.ARENA + len];
      }
      return n;
    }
  }
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a trap or foreign exception', { toMessage: () => { throw new TypeError('boom'); } }, /not a ConntrackError: TypeError/],
    ['an error with another code', { decodeError: () => new index.ConntrackError('ERR_CT_KERNEL', 'x') }, /became ERR_CT_KERNEL/],
    ['a read outside the message', {
      toMessage: (r: never) => { det.decoders.checked.event.core.exports.selfTestViolation(); return toMessage(r); },
    }, /outside the message/],
    ['a release-build read past the datagram (guard region)', { Decoder: LeakyDecoder }, /depends on the bytes after the datagram/],
  ];
  // decodeError is only reached by a malformed message: flip the first nla_len of the seed to 1
  const broken = { ...seedCase, bytes: Uint8Array.from(seedCase.bytes, (b: number, i: number) => (i === 20 ? 1 : i === 21 ? 0 : b)) };
  let det: ReturnType<typeof core.createChecker>;
  test.each(cases)('%s', (_what, override, msg) => {
    det = core.createChecker({ ...lib, ...override });
    const outcomes = [det.check(seedCase), det.check(broken)];
    expect(outcomes.filter((o) => o !== null).join('\n')).toMatch(msg);
  });
  test('and passes the unmodified library on both', () => {
    expect(checker.check(seedCase)).toBeNull();
    expect(checker.check(broken)).toBeNull();
  });
});

test('every saved regression input (crafted bombs and fuzz finds) decodes without a failure', () => {
  const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin')).sort();
  expect(files.length).toBeGreaterThanOrEqual(10);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(path.join(REGRESSIONS, f)));
    for (let filter = 0; filter < 8; filter++) {
      expect([f, checker.check(core.rawCase(bytes, filter))]).toEqual([f, null]);
    }
  }
});

test('100,000 mutated captured datagrams: no trap, no foreign error, no read outside the message, builds agree', () => {
  const before = { ...checker.stats };
  const failures: string[] = [];
  const ops = new Set<string>();
  // Most cases end in a ConntrackError; under jest every stack trace goes
  // through source maps, which would dominate the run. Stacks are not checked.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (let i = 0; i < Number(process.env.CT_FUZZ_CASES ?? 100_000); i++) {
      const c = core.makeCase(corpus, SEED, i);
      c.ops.forEach((o: string) => ops.add(o));
      const f = checker.check(c);
      if (f !== null && failures.length < 20) failures.push(`case ${i} (${c.seedName}, ${c.ops.join('+')}): ${f}`);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  expect(failures).toEqual([]);
  // the mutations reach both the error paths and the full decode of valid messages
  expect(checker.stats.bad - before.bad).toBeGreaterThan(100_000);
  expect(checker.stats.messages - before.messages).toBeGreaterThan(20_000);
  expect([...ops].sort()).toEqual(core.MUTATORS.map((m: [string]) => m[0]).sort());
}, 180_000);

test('npm run fuzz: a case that hangs is killed by the watchdog, saved, and the run goes on', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'ct-fuzz-'));
  try {
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [path.join(ROOT, 'scripts', 'fuzz.js'), '--cases', '300', '--chunk', '100', '--jobs', '1',
        '--inject-hang', '150', '--timeout-ms', '1000', '--out', out], { timeout: 120_000 }, (err, stdout) => {
        resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stdout });
      });
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL case 150 .*hang/);
    expect(r.stdout).toMatch(/300 cases in/);
    expect(readdirSync(out).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 150_000);
