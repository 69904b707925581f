// conntrack -S, -S expect and -C lines against test/fixtures/stats.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuStats, ExpectStats, GlobalStats } from '../src/types';
import { formatCountText, formatCpuStatsText, formatExpectStatsText } from '../src/format';

const STATS = join(__dirname, 'fixtures', 'stats');
const hdr = { nlType: 0x104, nlFlags: 2, seq: 1, pid: 533 };

/** Oracle stdout, split into lines; every line keeps its trailing blank. */
function lines(file: string): string[] {
  return readFileSync(join(STATS, file), 'utf8').split('\n').slice(0, -1);
}

test('conntrack -S', () => {
  const cpus: CpuStats[] = [
    { kind: 'stats-cpu', ...hdr, cpu: 0, found: 0, invalid: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0, clashResolve: 0, chainToolong: 0 },
    { kind: 'stats-cpu', ...hdr, cpu: 1, found: 0, invalid: 20, insert: 1, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0, clashResolve: 0, chainToolong: 0 },
  ];
  expect(cpus.map(formatCpuStatsText)).toEqual(lines('stats-cpu.conntrack-S.txt'));
});

test('conntrack -S prints every attribute that was sent, in CTA_STATS_* order', () => {
  const all: CpuStats = {
    kind: 'stats-cpu', ...hdr, cpu: 12345, searched: 1, found: 2, new: 3, invalid: 4, ignore: 5, delete: 6, deleteList: 7,
    insert: 8, insertFailed: 9, drop: 10, earlyDrop: 11, error: 12, searchRestart: 13, clashResolve: 14, chainToolong: 4294967295,
  };
  expect(formatCpuStatsText(all)).toBe(
    'cpu=12345\tsearched=1 found=2 new=3 invalid=4 ignore=5 delete=6 delete_list=7 insert=8 insert_failed=9 drop=10 ' +
      'early_drop=11 error=12 search_restart=13 clash_resolve=14 chaintoolong=4294967295 ',
  );
  expect(formatCpuStatsText({ kind: 'stats-cpu', ...hdr, cpu: 3 })).toBe('cpu=3   \t');
});

test('conntrack -S expect', () => {
  const cpus: ExpectStats[] = [
    { kind: 'stats-exp', ...hdr, cpu: 0, new: 0, create: 2, delete: 1 },
    { kind: 'stats-exp', ...hdr, cpu: 1, new: 0, create: 0, delete: 0 },
  ];
  expect(cpus.map(formatExpectStatsText)).toEqual(lines('exp-stats-cpu.conntrack-S-expect.txt'));
});

test('conntrack -C', () => {
  const g: GlobalStats = { kind: 'stats-global', ...hdr, entries: 22, maxEntries: 262144 };
  expect([formatCountText(g)]).toEqual(lines('stats-global.conntrack-C.txt'));
  expect(formatCountText({ ...g, entries: 4294967295 })).toBe('-1'); // printf("%d")
  expect(formatCountText({ ...g, entries: undefined })).toBeUndefined(); // nothing printed
});
