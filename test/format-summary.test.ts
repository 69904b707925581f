// stderr lines of conntrack 1.4.7 (exit_msg[], err2str()).
import { DEFAULT_PROGRAM, errorText, formatOperationFailed, formatSummary, strerror, type SummaryCommand } from '../src/format';

test('default program prefix', () => {
  expect(DEFAULT_PROGRAM).toBe('conntrack v1.4.7 (conntrack-tools)');
});

test.each<[SummaryCommand, number, string | undefined]>([
  ['list', 6, 'conntrack v1.4.7 (conntrack-tools): 6 flow entries have been shown.'],
  ['get', 1, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.'],
  ['event', 2100, 'conntrack v1.4.7 (conntrack-tools): 2100 flow events have been shown.'],
  ['create', 1, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been created.'],
  ['add', 1, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been added.'],
  ['update', 0, 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been updated.'],
  ['delete', 3, 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.'],
  ['expect-list', 2, 'conntrack v1.4.7 (conntrack-tools): 2 expectations have been shown.'],
  ['expect-delete', 1, 'conntrack v1.4.7 (conntrack-tools): 1 expectations have been shown.'],
  ['expect-event', 3, 'conntrack v1.4.7 (conntrack-tools): 3 expectation events have been shown.'],
  ['flush', 0, 'conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.'],
  ['expect-flush', 0, 'conntrack v1.4.7 (conntrack-tools): expectation table has been emptied.'],
  ['stats', 2, undefined],
  ['count', 1, undefined],
  ['expect-get', 1, undefined],
])('%s %d', (cmd, n, expected) => {
  expect(formatSummary(cmd, n)).toBe(expected);
});

test('program prefix is a parameter', () => {
  expect(formatSummary('list', 0, 'ctrack v0.1.0')).toBe('ctrack v0.1.0: 0 flow entries have been shown.');
  expect(formatOperationFailed(2, 'get', 'ctrack v0.1.0')).toBe("ctrack v0.1.0: Operation failed: such conntrack doesn't exist");
});

test.each<[number, SummaryCommand, string]>([
  [2, 'get', "such conntrack doesn't exist"],
  [2, 'delete', "such conntrack doesn't exist"],
  [2, 'expect-create', 'master conntrack not found'],
  [2, 'expect-get', 'No such file or directory'],
  [17, 'create', 'Such conntrack exists, try -U to update'],
  [17, 'add', 'File exists'],
  [22, 'list', 'invalid parameters'],
  [22, 'stats', 'Invalid argument'],
  [1, 'stats', 'sorry, you must be root or get CAP_NET_ADMIN capability to do this'],
  [524, 'list', 'function not implemented'],
  [524, 'get', 'Unknown error 524'],
  [97, 'get', 'protocol not supported'],
  [62, 'add', 'conntrack has expired'],
  [12, 'get', 'not enough memory'],
  [16, 'delete', 'Device or resource busy'],
])('err2str(%d, %s)', (errno, cmd, text) => {
  expect(errorText(errno, cmd)).toBe(text);
});

test('strerror fallback', () => {
  expect(strerror(9999)).toBe('Unknown error 9999');
});
