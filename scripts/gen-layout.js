#!/usr/bin/env node
// Copies the constant files shared with the WASM decoder (assembly/layout.ts,
// assembly/attrs.ts) to src/generated/, so the TypeScript side reads the very
// same definitions the decoder was compiled from. Both files are restricted to
// `export const NAME = <integer expression>;` lines, valid in both languages;
// this script refuses anything else so the two sides cannot drift.
//
// The constant lines are copied unchanged. Their comments become TSDoc so the
// API reference (npm run docs, typedoc with validation.notDocumented) documents
// every exported constant: a trailing `// text` turns into `/** text */` above
// the constant, the comment block heading its group is added as context, and a
// constant without a trailing comment gets a generated sentence that names its
// origin (kernel header / enum for attrs.ts, layout group for layout.ts). The
// assembly/ sources keep plain `//` comments: asc reads them as they are.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'src', 'generated');

const CONST_RE = /^export const ([A-Z][A-Z0-9_]*) = ([A-Z0-9_ +*()-]+);(?: \/\/(.*))?$/;

// attrs.ts: uapi header of each enum the file names only as `// enum NAME`.
// Enums not listed here come from linux/netfilter/nfnetlink_conntrack.h.
const ENUM_HEADER = {
  nfnetlink_groups: 'linux/netfilter/nfnetlink.h',
  nlmsgerr_attrs: 'linux/netlink.h',
};
// attrs.ts groups whose heading does not name a header; NAME stands for the constant.
const GROUP_ORIGIN = {
  'Highest attribute number of each statistics enum.':
    'the highest attribute number of its statistics enum (`#define NAME (__NAME - 1)` in linux/netfilter/nfnetlink_conntrack.h)',
  'CTA_FILTER_*_FLAGS bits (host order u32)':
    'a bit of CTA_FILTER_ORIG_FLAGS / CTA_FILTER_REPLY_FLAGS (the kernel defines these bits as CTA_FILTER_F_* in ' +
    'net/netfilter/nf_conntrack_netlink.c; no uapi header has them)',
  'address families': 'an address family (AF_*, sys/socket.h)',
};
// attrs.ts constants filed under a heading that is not their own header.
const NAME_ORIGIN = {
  NETLINK_NETFILTER: 'the netlink protocol number of nfnetlink, from linux/netlink.h',
};

/** Where an attrs.ts constant comes from, from the heading of its group. */
function kernelOrigin(name, group) {
  if (NAME_ORIGIN[name]) return NAME_ORIGIN[name];
  if (GROUP_ORIGIN[group]) return GROUP_ORIGIN[group].split('NAME').join(name);
  const en = /^enum (\w+)$/.exec(group);
  if (en) return `member of \`enum ${en[1]}\` in ${ENUM_HEADER[en[1]] || 'linux/netfilter/nfnetlink_conntrack.h'}`;
  const hdr = /^((?:linux\/)?[\w/]+\.h)(?::\s*(.*))?$/.exec(group);
  if (hdr) {
    const file = hdr[1].includes('/') ? hdr[1] : `linux/netfilter/${hdr[1]}`;
    return hdr[2] ? `from ${file} (${hdr[2]})` : `from ${file}`;
  }
  throw new Error(`gen-layout: no origin known for kernel constant ${name}; add its group to GROUP_ORIGIN`);
}

/**
 * TSDoc text may not contain a comment terminator; wildcard names such as
 * KIND_* or CTA_FILTER_*_FLAGS become code spans so markdown does not read
 * their asterisks as emphasis.
 */
function clean(text) {
  return text.trim().replace(/\*\//g, '* /')
    .replace(/(?<![`\w*])((?:[A-Z][A-Z0-9_]*_)?\*(?:_[A-Z0-9_]+)?)(?![`\w*])/g, (m) => (m === '*' ? m : `\`${m}\``));
}

function docComment(paragraphs) {
  const lines = ['/**'];
  paragraphs.filter((p) => p).forEach((p, i) => {
    if (i > 0) lines.push(' *');
    lines.push(` * ${clean(p)}`);
  });
  lines.push(' */');
  return lines.join('\n');
}

/** The documentation of one constant of `file`. */
function constantDoc(file, name, expr, trailing, group) {
  if (file === 'attrs.ts') {
    return docComment([`Kernel constant \`${name}\` = ${expr}, ${kernelOrigin(name, group)}.`, trailing]);
  }
  // The Tuples group has two columns: the field in a flow | in an expectation.
  const cols = group === 'Tuples' && /^(.*?)\s*\|\s*(.*)$/.exec(trailing);
  if (cols) trailing = `${cols[1] || 'unused'} in a flow record, ${cols[2]} in an expectation record`;
  const summary = `Layout constant \`${name}\` = \`${expr}\`` + (trailing ? `: ${trailing}` : '.');
  return docComment([summary, group && `Group: ${group}`]);
}

/**
 * Rewrites one assembly/ source: checks every line, keeps the constants and
 * the `//` group headings as they are, and puts a TSDoc comment above each
 * constant. The first comment block becomes the module documentation.
 */
function generate(name, src) {
  const out = [];
  let block = []; // the `//` comment lines being read
  let group = ''; // the last complete comment block: heading of the constants below it
  let moduleDoc = null;
  src.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t.startsWith('//')) {
      block.push(t.replace(/^\/\/ ?/, ''));
      // The file's first comment block is the module documentation below.
      if (moduleDoc !== null) out.push(line);
      return;
    }
    if (block.length) {
      const text = block.filter((l) => !/^-+$/.test(l.trim())).join(' ').replace(/\s+/g, ' ').trim();
      if (moduleDoc === null) moduleDoc = text;
      else if (text) group = text;
      block = [];
    }
    if (t === '') {
      out.push(line);
      return;
    }
    const m = CONST_RE.exec(t);
    if (!m) throw new Error(`assembly/${name}:${i + 1}: not a plain integer constant: ${t}`);
    const [, cname, expr, trailing] = m;
    out.push(constantDoc(name, cname, expr.trim(), trailing ? trailing.trim().replace(/\s+/g, ' ') : '', group));
    out.push(`export const ${cname} = ${expr};`);
  });
  const header =
    `// GENERATED by scripts/gen-layout.js from assembly/${name}. Do not edit.\n` +
    docComment([moduleDoc || `Constants of assembly/${name}.`,
      `Generated from assembly/${name}, which the WASM decoder is compiled from; ` +
      'the values are the same, the comments are turned into TSDoc.', '@packageDocumentation']) +
    '\n';
  return header + out.join('\n');
}

fs.mkdirSync(outDir, { recursive: true });
for (const name of ['layout.ts', 'attrs.ts']) {
  const src = fs.readFileSync(path.join(root, 'assembly', name), 'utf8');
  fs.writeFileSync(path.join(outDir, name), generate(name, src));
}
