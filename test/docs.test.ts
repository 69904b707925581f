// The API reference (npm run docs, typedoc with the project's typedoc.json)
// documents every public item: typedoc.json turns on
// validation.notDocumented and treatWarningsAsErrors, and this test runs it,
// so an undocumented export, property, event or error code fails the suite.
// A second run on a small probe file with the same options shows the check
// really fails on undocumented items (and only on those).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const TYPEDOC = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
// typedoc compiles the whole project: generous for a loaded machine
const RUN_TIMEOUT_MS = 170_000;

interface Run {
  status: number | null;
  output: string;
}

function typedoc(...args: string[]): Run {
  const r = spawnSync(process.execPath, [TYPEDOC, '--options', path.join(ROOT, 'typedoc.json'), '--emit', 'none', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  if (r.error) throw r.error;
  // eslint-disable-next-line no-control-regex
  return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '') };
}

beforeAll(() => {
  if (!fs.existsSync(TYPEDOC)) throw new Error('typedoc is missing: run npm install (it is a devDependency)');
  if (!fs.existsSync(path.join(ROOT, 'src', 'generated', 'attrs.ts'))) {
    throw new Error('src/generated/ is missing: run npm run build (scripts/gen-layout.js writes it)');
  }
});

test('typedoc.json makes an undocumented public item an error', () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(ROOT, 'typedoc.json'), 'utf8'));
  expect(cfg.entryPoints).toEqual(['src/index.ts']);
  expect(cfg.validation.notDocumented).toBe(true);
  expect(cfg.treatWarningsAsErrors).toBe(true);
});

test('every public item of src/index.ts is documented (typedoc: no warnings)', () => {
  const r = typedoc();
  expect(r.output).not.toMatch(/\[warning\]|\[error\]/);
  expect(r.status).toBe(0);
}, RUN_TIMEOUT_MS + 10_000);

describe('the check fails on undocumented items', () => {
  // [name typedoc reports, documented?, exported source]
  const ITEMS: [string, boolean, string][] = [
    ['documentedFn', true, '/** Documented. */\nexport function documentedFn(): void {}'],
    ['undocumentedFn', false, 'export function undocumentedFn(): void {}'],
    ['UNDOCUMENTED_CONST', false, 'export const UNDOCUMENTED_CONST = 1;'],
    ['Probe.method', false, '/** Documented. */\nexport class Probe {\n  method(): void {}\n}'],
    [
      'ProbeEvents.undocumentedEvent', false,
      '/** Event map. */\nexport interface ProbeEvents {\n  /** Documented event. */\n  ready: () => void;\n  undocumentedEvent: (err: unknown) => void;\n}',
    ],
    ['DocEvents.ready', true, '/** Event map. */\nexport interface DocEvents {\n  /** Documented event. */\n  ready: () => void;\n}'],
    ['ProbeCode', true, "/** Codes. */\nexport type ProbeCode = 'A' | 'B';"],
  ];
  let dir: string;
  let run: Run;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-docs-'));
    fs.writeFileSync(path.join(dir, 'probe.ts'), ITEMS.map(([, , src]) => src).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs', skipLibCheck: true, types: [] },
      files: ['probe.ts'],
    }));
    run = typedoc('--tsconfig', path.join(dir, 'tsconfig.json'), '--entryPoints', path.join(dir, 'probe.ts'));
  }, RUN_TIMEOUT_MS + 10_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('typedoc exits non-zero', () => {
    expect(run.status).not.toBe(0);
  });

  test.each(ITEMS)('%s (documented: %s) is reported exactly when undocumented', (name, documented) => {
    const reported = run.output.split('\n').some((l) => l.includes(` ${name} (`) && l.includes('does not have any documentation'));
    expect(reported).toBe(!documented);
  });
});
