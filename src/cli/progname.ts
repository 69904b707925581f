// The " progname=X" part of conntrack -E's " [USERSPACE] portid=N" tag.
//
// An event caused by a request carries the requesting socket's netlink port
// id (nlmsg_pid). conntrack 1.4.7 (get_progname) turns it into a program name
// in three steps, and this does the same:
//  1. find the port id among the NETLINK_NETFILTER sockets of
//     /proc/net/netlink (of the namespace the events come from) to learn the
//     socket's inode; not there (the socket is closed) means no progname;
//  2. the process whose /proc/PID/fd holds "socket:[INODE]": first PID =
//     port id (a process's first netlink socket gets its pid as port id),
//     then every other process above 1;
//  3. its name as /proc/PID/stat has it (up to the first ')').
// Like conntrack it remembers the answer for the last (port id, inode) pair,
// a miss included, so a flush by one program searches /proc once.
//
// conntrack rereads /proc/net/netlink for every event; this rereads it at most
// once per millisecond for the same port id (a burst of events from one
// request does not cost a /proc read each). A program that closes its socket
// within that millisecond may keep its name for a few more events, where
// conntrack, racing the same exit, may or may not have found it.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'fs';
import { loadHost } from '../host';

/** NETLINK_NETFILTER, the protocol column of /proc/net/netlink. */
const NETLINK_NETFILTER = 12;

/** What the lookup reads from /proc (replaced by a fake in the unit tests). */
export interface ProcSource {
  /** /proc/net/netlink of the events' namespace; undefined when it cannot be read. */
  netlinkTable(): string | undefined;
  /** The process ids listed in /proc. */
  pids(): number[];
  /** The link targets of /proc/PID/fd/* ("socket:[123]", "/dev/null", ...); [] when unreadable. */
  fdLinks(pid: number): string[];
  /** /proc/PID/stat, or undefined when there is no such process. */
  stat(pid: number): string | undefined;
}

/**
 * The inode of the NETLINK_NETFILTER socket with this port id in a
 * /proc/net/netlink text (columns: sk Eth Pid Groups Rmem Wmem Dump Locks
 * Drops Inode), or undefined.
 */
export function netlinkInode(table: string, portid: number): number | undefined {
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || Number(f[1]) !== NETLINK_NETFILTER || Number(f[2]) !== portid) continue;
    const inode = Number(f[9]);
    if (Number.isSafeInteger(inode)) return inode;
  }
  return undefined;
}

/** The name in /proc/PID/stat ("1234 (name) S ..."), cut at the first ')' as conntrack's "%*u (%m[^)]" does. */
export function statName(stat: string): string | undefined {
  const m = /^\s*\d+\s*\(([^)]+)/.exec(stat);
  return m ? m[1] : undefined;
}

function holdsSocket(src: ProcSource, pid: number, inode: number): boolean {
  const want = `socket:[${inode}]`;
  return src.fdLinks(pid).includes(want);
}

function nameOf(src: ProcSource, pid: number): string | undefined {
  const s = src.stat(pid);
  return s === undefined ? undefined : statName(s);
}

/** Step 2 and 3: the port id as a pid first, then every process above 1. */
function nameByInode(src: ProcSource, portid: number, inode: number): string | undefined {
  if (portid <= 0x7fffffff && holdsSocket(src, portid, inode)) return nameOf(src, portid);
  for (const pid of src.pids()) {
    if (pid <= 1 || pid === portid) continue;
    if (holdsSocket(src, pid, inode)) return nameOf(src, pid);
  }
  return undefined;
}

/** How long one read of /proc/net/netlink answers for the same port id. */
const TABLE_TTL_MS = 1;

/** A port id to program name resolver; close() releases what it holds open. */
export interface Progname {
  (portid: number): string | undefined;
  close(): void;
}

/** conntrack's port id to program name lookup over `src`. */
export function prognameResolver(src: ProcSource, now: () => number = () => performance.now(), onClose: () => void = () => undefined): Progname {
  let last: { portid: number; inode: number; name: string | undefined } | undefined;
  let recent: { portid: number; at: number; name: string | undefined } | undefined;
  const resolve = (portid: number): string | undefined => {
    const t = now();
    if (recent && recent.portid === portid && t - recent.at < TABLE_TTL_MS) return recent.name;
    const table = src.netlinkTable();
    const inode = table === undefined ? undefined : netlinkInode(table, portid);
    let name: string | undefined;
    if (inode !== undefined) {
      if (!last || last.portid !== portid || last.inode !== inode) last = { portid, inode, name: nameByInode(src, portid, inode) };
      name = last.name;
    }
    recent = { portid, at: t, name };
    return name;
  };
  return Object.assign(resolve, { close: onClose });
}

/**
 * Reads a /proc file through a descriptor from offset 0 (each read regenerates
 * it) into `buf`, reused across reads; returns the text and the buffer, which
 * is replaced by a larger one when the file did not fit.
 */
function readWhole(fd: number, buf: Buffer): { text: string; buf: Buffer } {
  for (;;) {
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, n)) > 0; ) n += r;
    if (n < buf.length) return { text: buf.toString('latin1', 0, n), buf };
    buf = Buffer.allocUnsafe(buf.length * 2); // did not fit: read it again, whole
  }
}

function numericEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
}

/**
 * The real /proc. /proc/net/netlink is that of `netns` (the namespace our
 * event socket lives in; the process's own when absent), opened once through
 * the native host: a process outside the namespace has no other view of it.
 */
export function procSource(netns?: string): ProcSource & { close(): void } {
  let fd: number | undefined;
  let failed = false;
  let buf: Buffer = Buffer.allocUnsafe(16 * 1024); // a namespace's table is a few lines; the host's may be larger
  const open = (): number | undefined => {
    if (fd === undefined && !failed) {
      try {
        fd = netns === undefined ? openSync('/proc/thread-self/net/netlink', 'r') : loadHost().openProcNet('netlink', netns);
      } catch {
        failed = true; // no /proc: no prognames, as conntrack without /proc/net/netlink
      }
    }
    return fd;
  };
  return {
    netlinkTable() {
      const f = open();
      if (f === undefined) return undefined;
      try {
        const r = readWhole(f, buf);
        buf = r.buf;
        return r.text;
      } catch {
        return undefined;
      }
    },
    pids: () => numericEntries('/proc').map(Number),
    fdLinks(pid) {
      const dir = `/proc/${pid}/fd`;
      const out: string[] = [];
      for (const e of numericEntries(dir)) {
        try {
          out.push(readlinkSync(`${dir}/${e}`));
        } catch {
          // closed meanwhile
        }
      }
      return out;
    },
    stat(pid) {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        return undefined;
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      failed = true;
    },
  };
}

/** The resolver conntrack -E uses, for events from the namespace `netns` (ours when absent). */
export function prognameFor(netns?: string): Progname {
  const src = procSource(netns);
  return prognameResolver(src, undefined, () => src.close());
}
