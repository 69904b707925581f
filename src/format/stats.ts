// conntrack -S, -S expect and -C lines as conntrack-tools 1.4.7 prints them
// (src/conntrack.c: nfct_stats_cb, nfexp_stats_cb, nfct_global_stats_cb).

import type { CpuStats, ExpectStats, GlobalStats } from '../types';

/** "cpu=%-4u\t": the CPU number left-justified in 4 columns, then a tab. */
function cpuPrefix(cpu: number): string {
  const n = String(cpu);
  return 'cpu=' + (n.length >= 4 ? n : n + '    '.slice(n.length)) + '\t';
}

/** "name=%u " when the attribute was sent. */
function field(name: string, v: number | undefined): string {
  return v === undefined ? '' : name + '=' + (v >>> 0) + ' ';
}

/**
 * One `conntrack -S` line (without the newline): "cpu=N   \t" then
 * "name=value " for every CTA_STATS_* attribute the kernel sent, in attribute
 * number order (searched, found, new, invalid, ignore, delete, delete_list,
 * insert, insert_failed, drop, early_drop, error, search_restart,
 * clash_resolve, chaintoolong). The trailing blank is part of the line.
 */
export function formatCpuStatsText(s: CpuStats): string {
  return (
    cpuPrefix(s.cpu) +
    field('searched', s.searched) +
    field('found', s.found) +
    field('new', s.new) +
    field('invalid', s.invalid) +
    field('ignore', s.ignore) +
    field('delete', s.delete) +
    field('delete_list', s.deleteList) +
    field('insert', s.insert) +
    field('insert_failed', s.insertFailed) +
    field('drop', s.drop) +
    field('early_drop', s.earlyDrop) +
    field('error', s.error) +
    field('search_restart', s.searchRestart) +
    field('clash_resolve', s.clashResolve) +
    field('chaintoolong', s.chainToolong)
  );
}

/**
 * One `conntrack -S expect` line (without the newline):
 * "cpu=N   \texpect_new=A expect_create=B expect_delete=C ".
 */
export function formatExpectStatsText(s: ExpectStats): string {
  return (
    cpuPrefix(s.cpu) + field('expect_new', s.new) + field('expect_create', s.create) + field('expect_delete', s.delete)
  );
}

/**
 * The `conntrack -C` line (without the newline): CTA_STATS_GLOBAL_ENTRIES
 * printed with "%d" (a value above 2^31-1 shows negative, as in C).
 * Returns undefined when the attribute is absent: conntrack prints nothing.
 */
export function formatCountText(g: GlobalStats): string | undefined {
  return g.entries === undefined ? undefined : String(g.entries | 0);
}
