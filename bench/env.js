'use strict';
// Where the benchmark runs: dist/ present and fresh, which build is measured,
// machine notes and how busy the machine was.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.join(__dirname, '..');

// --- dist/ must exist (compile it only if it is missing) -------------------------
function ensureDist() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'decoder.js'))) {
    console.log('dist/ missing: running npx tsc -p tsconfig.json');
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('tsc failed');
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'wasm', 'conntrack.wasm'))) {
    throw new Error('dist/wasm/conntrack.wasm missing: run "npm run build:wasm"');
  }
  // Warn (only) when sources are newer than what we are about to measure.
  const newest = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))
    .reduce((m, f) => Math.max(m, fs.statSync(path.join(dir, f)).mtimeMs), 0);
  const warnings = [];
  if (newest(path.join(ROOT, 'src')) > fs.statSync(path.join(ROOT, 'dist', 'decoder.js')).mtimeMs) {
    warnings.push('src/*.ts is newer than dist/decoder.js: run "npm run build:ts" for current numbers');
  }
  if (newest(path.join(ROOT, 'assembly')) > fs.statSync(path.join(ROOT, 'dist', 'wasm', 'conntrack.wasm')).mtimeMs) {
    warnings.push('assembly/*.ts is newer than dist/wasm/conntrack.wasm: run "npm run build:wasm" for current numbers');
  }
  for (const w of warnings) console.log(`WARNING: ${w}`);
  return warnings;
}

/** What exactly is being measured: git commit, local changes, the .wasm file. */
function buildIdentity() {
  const git = (...args) => {
    const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  const wasmFile = path.join(ROOT, 'dist', 'wasm', 'conntrack.wasm');
  const hash = require('crypto').createHash('sha256').update(fs.readFileSync(wasmFile)).digest('hex');
  const dirty = git('status', '--porcelain', '--', 'assembly', 'src', 'asconfig.json');
  return {
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: dirty ? dirty.split('\n').length : 0,
    wasmSha: hash.slice(0, 16),
    wasmTime: fs.statSync(wasmFile).mtime.toISOString(),
  };
}

function machineNotes() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    model: cpus.length ? cpus[0].model.trim() : 'unknown',
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** Aggregate CPU jiffies from /proc/stat (Linux), or null. */
function procStat() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return null;
  }
}

/** Share of all CPUs that was busy, and stolen by the hypervisor, between two procStat() samples. */
function machineBusy(a, b) {
  if (!a || !b) return null;
  const busy = b.busy - a.busy, idle = b.idle - a.idle, steal = b.steal - a.steal;
  const total = busy + idle + steal;
  return total > 0 ? { busy: busy / total, steal: steal / total } : null;
}

module.exports = { ensureDist, buildIdentity, machineNotes, loadavg, procStat, machineBusy };
