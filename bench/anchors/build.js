'use strict';
// Installs the Debian packages the anchors need (apt-get, only when missing)
// and builds the anchor harnesses into bench/data/anchors/ (git-ignored).
// Nothing is fetched from anywhere but Debian's archive. An anchor that cannot
// be built is reported with the reason; the suite prints it instead of a row.
//
//   node bench/anchors/build.js        build (or reuse) all, print the status

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const HERE = __dirname;
const OUT = path.join(HERE, '..', 'data', 'anchors');
// Debian's interpreter (python3-pyroute2 installs for it), not whatever python3 is first on PATH
const PYTHON = '/usr/bin/python3';

// package -> a file that proves it is installed
const PACKAGES = {
  gcc: '/usr/bin/gcc',
  'libnetfilter-conntrack-dev': '/usr/include/libnetfilter_conntrack/libnetfilter_conntrack.h',
  'libnfnetlink-dev': '/usr/include/libnfnetlink/libnfnetlink.h',
  'libmnl-dev': '/usr/include/libmnl/libmnl.h',
  'golang-go': '/usr/bin/go',
  'golang-github-vishvananda-netlink-dev': '/usr/share/gocode/src/github.com/vishvananda/netlink/conntrack_linux.go',
  'python3-pyroute2': null, // checked by importing it
  conntrack: '/usr/sbin/conntrack',
  time: '/usr/bin/time',
};

function run(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${file}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

const havePyroute2 = () => spawnSync(PYTHON, ['-c', 'import pyroute2'], { stdio: 'ignore' }).status === 0;

/** apt-get install -y whatever is missing; returns the install error text, or null. */
function installPackages(log = console.log) {
  const missing = Object.entries(PACKAGES)
    .filter(([name, file]) => (file ? !fs.existsSync(file) : name === 'python3-pyroute2' && !havePyroute2()))
    .map(([name]) => name);
  if (missing.length === 0) return null;
  log(`installing Debian packages: ${missing.join(' ')}`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', ...missing], { env });
    return null;
  } catch (e) {
    return `apt-get install ${missing.join(' ')} failed: ${e.message}`;
  }
}

const newer = (out, srcs) => fs.existsSync(out) && srcs.every((s) => fs.statSync(s).mtimeMs <= fs.statSync(out).mtimeMs);

function buildC(name, libs) {
  const src = path.join(HERE, `${name}.c`);
  const out = path.join(OUT, name);
  if (!newer(out, [src])) run('gcc', ['-O2', '-Wall', '-o', out, src, ...libs]);
  return out;
}

// Go in GOPATH mode, offline: a build-time copy of Debian's package source
// (plus the one-line exported shim) shadows /usr/share/gocode's for this build.
function buildGo() {
  const out = path.join(OUT, 'ctgo');
  const main = path.join(HERE, 'go', 'main.go');
  const shim = path.join(HERE, 'go', 'export_bench.go.txt');
  if (newer(out, [main, shim])) return out;
  const sys = '/usr/share/gocode/src/github.com/vishvananda/netlink';
  const gopath = path.join(OUT, 'gopath');
  const pkg = path.join(gopath, 'src', 'github.com', 'vishvananda', 'netlink');
  fs.rmSync(gopath, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(pkg), { recursive: true });
  fs.cpSync(sys, pkg, { recursive: true, dereference: true });
  fs.copyFileSync(shim, path.join(pkg, 'export_bench.go'));
  const env = {
    ...process.env, GO111MODULE: 'off', GOFLAGS: '', GOPROXY: 'off',
    GOPATH: `${gopath}:/usr/share/gocode`, GOCACHE: path.join(OUT, 'gocache'),
  };
  run('go', ['build', '-o', out, main], { env, cwd: path.join(HERE, 'go') });
  return out;
}

/** Build everything; returns { name: { path } | { error } } plus the go/pyroute2 versions. */
function buildAnchors(log = console.log) {
  fs.mkdirSync(OUT, { recursive: true });
  const aptError = installPackages(log);
  const res = { aptError };
  const attempt = (name, fn) => {
    try {
      res[name] = { path: fn() };
    } catch (e) {
      res[name] = { error: `${name} could not be built: ${e.message.split('\n')[0].slice(0, 300)}` };
      log(`ANCHOR NOT BUILT: ${res[name].error}`);
    }
  };
  attempt('drain', () => buildC('drain', []));
  attempt('nfct_decode', () => buildC('nfct_decode', ['-lnetfilter_conntrack', '-lmnl']));
  attempt('nfct_dump', () => buildC('nfct_dump', ['-lnetfilter_conntrack', '-lnfnetlink', '-lmnl']));
  attempt('ctgo', buildGo);
  res.pyroute2 = havePyroute2()
    ? { path: path.join(HERE, 'pyroute2_dump.py') }
    : { error: 'pyroute2 not importable (Debian python3-pyroute2)' };
  const ver = (cmd, args) => { try { return run(cmd, args).trim().split('\n')[0]; } catch { return 'unknown'; } };
  res.versions = {
    gcc: ver('gcc', ['-dumpfullversion']),
    go: ver('go', ['version']),
    libnetfilter_conntrack: ver('dpkg-query', ['-W', '-f', '${Version}', 'libnetfilter-conntrack3']),
    vishvananda_netlink: ver('dpkg-query', ['-W', '-f', '${Version}', 'golang-github-vishvananda-netlink-dev']),
    pyroute2: ver('dpkg-query', ['-W', '-f', '${Version}', 'python3-pyroute2']),
    conntrack: ver('conntrack', ['--version']),
  };
  return res;
}

module.exports = { buildAnchors, OUT, PYTHON };

if (require.main === module) {
  const r = buildAnchors();
  console.log(JSON.stringify(r, null, 2));
  void os;
}
