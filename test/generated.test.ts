// scripts/post-tsc.js rewrites dist/generated/{layout,attrs}.js as object
// literals (a faster load); they must hold exactly the constants of the
// TypeScript sources the rest of the package is compiled against.
import * as path from 'path';
import * as layout from '../src/generated/layout';
import * as attrs from '../src/generated/attrs';

const DIST = path.join(__dirname, '..', 'dist', 'generated');

test.each([
  ['layout', layout],
  ['attrs', attrs],
] as const)('dist/generated/%s.js holds the same constants as src/generated', (name, src) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const built = require(path.join(DIST, `${name}.js`)) as Record<string, unknown>;
  const want = Object.fromEntries(Object.entries(src).filter(([k]) => k !== '__esModule'));
  const got = Object.fromEntries(Object.entries(built).filter(([k]) => k !== '__esModule'));
  expect(Object.keys(want).length).toBeGreaterThan(100);
  expect(got).toEqual(want);
  expect(built.__esModule).toBe(true);
});
