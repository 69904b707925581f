// Every error this library raises is a ConntrackError with a stable `code`.
// Codes never change meaning; messages may be improved.

/**
 * The stable `code` of a {@link ConntrackError}. Codes never change meaning;
 * messages may be improved. Branch on the code, never on the message.
 *
 * Besides errors, the library emits two process warnings (`process.emitWarning`,
 * type `ConntrackWarning`): `CT_RCVBUF_CAPPED` when the kernel granted a
 * smaller receive buffer than asked (no CAP_NET_ADMIN for SO_RCVBUFFORCE), and
 * `CT_BPF_REFUSED` when the kernel refused an event stream's BPF socket filter
 * (filtering then happens in user space only; the events delivered are the same).
 */
export type ConntrackErrorCode =
  /**
   * Bytes that are not valid ctnetlink (truncated, bad lengths, bad payload
   * sizes). Thrown by {@link decodeDatagram}, {@link Decoder} and
   * {@link replay} (unless `bad: 'skip'`), or a datagram larger than the
   * receive arena; emitted as 'error' by an {@link EventStream} for a malformed
   * event. `offset`, `attrType` and `status` say where and why.
   */
  | 'ERR_CT_DECODE'
  /**
   * A capture file that is not a LINKTYPE_NETLINK pcap, is cut short, or
   * cannot be read or written ({@link readPcapFile}, {@link readPcapBuffer},
   * {@link PcapWriter}, a flow listener replaying a missing capture). `offset`
   * is the file offset of the fault.
   */
  | 'ERR_CT_CAPTURE'
  /**
   * A caller passed a value the API or CLI cannot use: an unknown option, an
   * address that does not parse, a filter that cannot be compiled, a socket
   * used for two roles at once. Thrown synchronously before anything is sent to
   * the kernel. The CLI exits with status 2 on it.
   */
  | 'ERR_CT_INVALID_ARGUMENT'
  /**
   * The operation needs CAP_NET_ADMIN (root) in the socket's network namespace:
   * the kernel answered EPERM/EACCES, or opening the socket or entering the
   * namespace failed with it. The message carries a hint.
   */
  | 'ERR_CT_PERMISSION'
  /**
   * The kernel has no such entry (ENOENT): get, update or delete of a flow or
   * expectation that does not exist (any more).
   */
  | 'ERR_CT_NOT_FOUND'
  /** The entry already exists (EEXIST): create of a flow or expectation that is already in the table. */
  | 'ERR_CT_EXISTS'
  /**
   * Any other error the kernel answered a request with; `errno` is set and
   * `extAck` holds the kernel's extended-ACK text when it sent one. Also a
   * reply that lacks what the request must return.
   */
  | 'ERR_CT_KERNEL'
  /**
   * A dump raced with table changes (NLM_F_DUMP_INTR) and was not retried,
   * or was retried as many times as allowed and raced every time.
   */
  | 'ERR_CT_DUMP_INTERRUPTED'
  /**
   * The kernel did not complete a reply within the request timeout
   * (`errno` ETIMEDOUT, `syscall` recvmsg).
   */
  | 'ERR_CT_TIMEOUT'
  /**
   * The socket, capture writer, listener or exporter was closed before or
   * while the operation was pending; also the end of a replayed capture
   * reported as a listener failure (replayDialer with `endIsFailure`).
   */
  | 'ERR_CT_CLOSED'
  /**
   * The native host addon could not be loaded (missing, or built against
   * another layout: run `npm run build:addon`), a socket system call failed
   * (`errno`, `syscall`), replies were lost to a receive buffer overflow
   * (ENOBUFS), or a helper tool the flow logger needs is missing or failed.
   */
  | 'ERR_CT_SYSTEM'
  /**
   * The WASM decoder module could not be found or compiled, or does not match
   * this build of the library (stale dist/wasm: run `npm run build`).
   */
  | 'ERR_CT_WASM';

/** The optional fields of a {@link ConntrackError}, passed to its constructor. */
export interface ConntrackErrorDetails {
  /** Positive errno when the kernel or a system call reported one. */
  errno?: number;
  /** The failed system call, like Node core errors. */
  syscall?: string;
  /** Offset of the fault from the start of the netlink message (ERR_CT_DECODE). */
  offset?: number;
  /** Attribute type at the fault, 0 for framing faults (ERR_CT_DECODE). */
  attrType?: number;
  /** Decoder status code (DERR_* in assembly/layout.ts) (ERR_CT_DECODE). */
  status?: number;
  /** Kernel extended-ACK message (ERR_CT_KERNEL and friends). */
  extAck?: string;
  /** Underlying error. */
  cause?: unknown;
}

/**
 * The one error type of this library: every failure it raises or emits is a
 * ConntrackError with a stable {@link ConntrackErrorCode} in `code`. The
 * optional fields are set only when they apply.
 */
export class ConntrackError extends Error {
  /** What went wrong, stable across versions. */
  readonly code: ConntrackErrorCode;
  /** Positive errno when the kernel or a system call reported one. */
  readonly errno?: number;
  /** The failed system call (like Node core errors), when one failed. */
  readonly syscall?: string;
  /** ERR_CT_DECODE: offset of the fault from the start of the netlink message; ERR_CT_CAPTURE: file offset. */
  readonly offset?: number;
  /** ERR_CT_DECODE: attribute type at the fault, 0 for framing faults. */
  readonly attrType?: number;
  /** ERR_CT_DECODE: decoder status code (`layout.DERR_*`). */
  readonly status?: number;
  /** The kernel's extended-ACK message, when it sent one with the error. */
  readonly extAck?: string;

  /**
   * @param code - stable error code
   * @param message - human-readable description
   * @param details - errno, syscall, decode position, extended ACK, cause
   */
  constructor(code: ConntrackErrorCode, message: string, details: ConntrackErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ConntrackError';
    this.code = code;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.offset !== undefined) this.offset = details.offset;
    if (details.attrType !== undefined) this.attrType = details.attrType;
    if (details.status !== undefined) this.status = details.status;
    if (details.extAck !== undefined) this.extAck = details.extAck;
  }
}

/** Type guard: whether `e` is a {@link ConntrackError}. */
export function isConntrackError(e: unknown): e is ConntrackError {
  return e instanceof ConntrackError;
}
