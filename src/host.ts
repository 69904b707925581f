// The native socket host (host/*.cc, built to build/Release/conntrack_host.node):
// its typed interface, loading, and the mapping of its errors to ConntrackError.
// The addon owns the NETLINK_NETFILTER socket and nothing else; it never
// parses bytes (see src/socket.ts for the wrapper that pairs it with a Decoder).
import { existsSync } from 'fs';
import * as path from 'path';
import { ConntrackError } from './errors';
import * as L from './generated/layout';

/** A failed system call as the addon reports it (shaped like Node core errors). */
export interface NativeSystemError extends Error {
  /** Negative errno, like libuv / Node core (e.g. -1 for EPERM). */
  errno: number;
  /** Errno name, e.g. 'EPERM'. */
  code: string;
  /** The failed call: 'socket', 'open', 'setns', 'bind', 'setsockopt', 'sendto', 'recvmsg', ... */
  syscall: string;
  /** The file the call was about (netns path for 'open' / 'setns'). */
  path?: string;
}

/** setRcvBuf() result. */
export interface RcvBufResult {
  /** SO_RCVBUF as getsockopt reports it (the kernel doubles the request). */
  size: number;
  /** SO_RCVBUFFORCE was used (it may exceed net.core.rmem_max). */
  forced: boolean;
  /** force was asked for but not permitted (no CAP_NET_ADMIN): SO_RCVBUF was used instead. */
  forceDenied: boolean;
}

/** receiveBatch() result. */
export interface BatchInfo {
  /** Datagrams received: descriptors 0..count-1 are filled. */
  count: number;
  /** Bytes received (sum of the descriptors' lengths). */
  bytes: number;
  /** BATCH_ENOBUFS | BATCH_TRUNC bits. */
  flags: number;
  /** recvmsg reported ENOBUFS: the kernel dropped messages (lost events). */
  enobufs: boolean;
  /** At least one datagram was cut (DGRAM_TRUNC in its descriptor). */
  truncated: boolean;
  /** The socket had nothing more to read. */
  eagain: boolean;
}

/**
 * Called once per received batch. `count` datagrams are in the arena (valid
 * even when `err` is set) until the callback returns. After an error other
 * than ENOBUFS the native side pauses polling.
 */
export type BatchCallback = (err: NativeSystemError | null, count: number, flags: number) => void;

/** One NETLINK_NETFILTER socket owned by the addon. */
export interface NativeSocket {
  /** Port id (sockaddr_nl.nl_pid) the kernel assigned; 0 before bind / after close. */
  readonly portId: number;
  /** The file descriptor, -1 once closed. */
  readonly fd: number;
  readonly closed: boolean;
  /** bind(2) with nl_pid 0 and a legacy group bitmask (0 for none). */
  bind(groups: number): void;
  /** SO_RCVBUF, or SO_RCVBUFFORCE with `force` (falls back when not permitted). */
  setRcvBuf(bytes: number, force?: boolean): RcvBufResult;
  /** SO_SNDBUF; returns the effective size. */
  setSndBuf(bytes: number): number;
  /** NETLINK_EXT_ACK */
  setExtAck(on: boolean): void;
  /** NETLINK_NO_ENOBUFS */
  setNoEnobufs(on: boolean): void;
  /** NETLINK_BROADCAST_ERROR */
  setBroadcastError(on: boolean): void;
  /** NETLINK_ADD_MEMBERSHIP (NFNLGRP_*) */
  addMembership(group: number): void;
  /** NETLINK_DROP_MEMBERSHIP */
  dropMembership(group: number): void;
  /** SO_ATTACH_FILTER: struct sock_filter[] as bytes (8 per instruction, host order). */
  attachFilter(program: Uint8Array): void;
  /** SO_DETACH_FILTER */
  detachFilter(): void;
  /** sendto(2) the kernel; returns bytes sent. */
  send(bytes: Uint8Array): number;
  /** Where datagrams are received (arena) and described (descriptor table), inside `memory`. */
  attachArena(memory: ArrayBuffer, arenaOffset: number, arenaSize: number, descOffset: number, descMax: number): void;
  /** Non-blocking receive of up to maxDatagrams into the arena, from its start. */
  receiveBatch(maxDatagrams: number): BatchInfo;
  /** Poll on the environment's loop; one callback per batch of up to maxPerWake datagrams. */
  start(callback: BatchCallback, maxPerWake: number): void;
  pause(): void;
  resume(): void;
  /** Whether active polling keeps the event loop alive (default: it does). */
  ref(): void;
  unref(): void;
  /** Idempotent; safe inside the batch callback. */
  close(): void;
}

/** The addon's exports. */
export interface HostBinding {
  readonly NetlinkSocket: new (options?: { netns?: string }) => NativeSocket;
  /**
   * A read-only descriptor of /proc/net/NAME as the network namespace `netns`
   * (a name under /var/run/netns or a path; ours when absent) shows it. Opened
   * on a short-lived thread inside the namespace; the file keeps showing that
   * namespace, and a read from offset 0 regenerates it. The caller closes it.
   */
  openProcNet(name: string, netns?: string): number;
  readonly DESC_SIZE: number;
  readonly DESC_OFF: number;
  readonly DESC_LEN: number;
  readonly DESC_SRC_PID: number;
  readonly DESC_FLAGS: number;
  readonly DGRAM_TRUNC: number;
  /** Largest datagram the host receives whole. */
  readonly MAX_DATAGRAM: number;
  /** Batch flag: ENOBUFS seen (events lost). */
  readonly BATCH_ENOBUFS: number;
  /** Batch flag: some datagram was truncated. */
  readonly BATCH_TRUNC: number;
}

const ADDON = 'conntrack_host.node';

let binding: HostBinding | undefined;

function addonCandidates(): string[] {
  // dist/host.js and src/host.ts (under ts-jest) are both one level below the package root.
  const root = path.join(__dirname, '..');
  return [path.join(root, 'build', 'Release', ADDON), path.join(root, 'build', 'Debug', ADDON)];
}

// The descriptor table is written by C++ and read by WASM: both must agree
// with assembly/layout.ts, or the decoder would misread every batch.
function checkLayout(b: HostBinding): void {
  const pairs: Array<[string, number, number]> = [
    ['DESC_SIZE', b.DESC_SIZE, L.DESC_SIZE],
    ['DESC_OFF', b.DESC_OFF, L.DESC_OFF],
    ['DESC_LEN', b.DESC_LEN, L.DESC_LEN],
    ['DESC_SRC_PID', b.DESC_SRC_PID, L.DESC_SRC_PID],
    ['DESC_FLAGS', b.DESC_FLAGS, L.DESC_FLAGS],
    ['DGRAM_TRUNC', b.DGRAM_TRUNC, L.DGRAM_TRUNC],
  ];
  const bad = pairs.filter(([, native, layout]) => native !== layout).map(([n]) => n);
  if (bad.length > 0) {
    throw new ConntrackError('ERR_CT_SYSTEM', `the native host addon disagrees with assembly/layout.ts on ${bad.join(', ')}; run "npm run build:addon"`);
  }
}

/** Load the addon once. Throws ConntrackError('ERR_CT_SYSTEM') when it is missing or stale. */
export function loadHost(): HostBinding {
  if (binding) return binding;
  const candidates = addonCandidates();
  const file = candidates.find((c) => existsSync(c));
  if (file === undefined) {
    throw new ConntrackError('ERR_CT_SYSTEM', `native host addon ${ADDON} not found (looked in ${candidates.join(', ')}); run "npm run build:addon"`);
  }
  let loaded: HostBinding;
  try {
    loaded = require(file) as HostBinding;
  } catch (e) {
    throw new ConntrackError('ERR_CT_SYSTEM', `cannot load the native host addon ${file}: ${(e as Error).message}; run "npm run build:addon"`, { cause: e });
  }
  checkLayout(loaded);
  binding = loaded;
  return loaded;
}

/**
 * Does this look like an error thrown or passed by the addon? Checked by
 * shape, not `instanceof Error`: the addon creates errors in Node's main
 * realm, which is not the realm of code running in a vm context (jest).
 */
export function isNativeSystemError(e: unknown): e is NativeSystemError {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Partial<NativeSystemError>;
  return typeof x.message === 'string' && typeof x.errno === 'number' && typeof x.code === 'string' && typeof x.syscall === 'string';
}

const PERMISSION_HINT = 'needs CAP_NET_ADMIN in the socket\'s network namespace (run as root)';

/**
 * Turn an addon error into a ConntrackError: EPERM / EACCES become
 * 'ERR_CT_PERMISSION' (with a hint), other system errors 'ERR_CT_SYSTEM' with
 * a positive errno and the syscall. Anything else (argument TypeErrors,
 * ConntrackErrors) is returned unchanged.
 */
export function toConntrackError(e: unknown, context?: string): unknown {
  if (!isNativeSystemError(e)) return e;
  const errno = Math.abs(e.errno);
  const what = context ? `${context}: ${e.message}` : e.message;
  if (e.code === 'EPERM' || e.code === 'EACCES') {
    const setns = e.syscall === 'setns' ? ' (entering a network namespace also needs CAP_SYS_ADMIN)' : '';
    return new ConntrackError('ERR_CT_PERMISSION', `${what}: ${PERMISSION_HINT}${setns}`, { errno, syscall: e.syscall, cause: e });
  }
  return new ConntrackError('ERR_CT_SYSTEM', what, { errno, syscall: e.syscall, cause: e });
}

/** Run a native call, rethrowing its errors as ConntrackError. */
export function native<T>(fn: () => T, context?: string): T {
  try {
    return fn();
  } catch (e) {
    throw toConntrackError(e, context);
  }
}
