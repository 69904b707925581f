// Every error this library raises is a ConntrackError with a stable `code`.
// Codes never change meaning; messages may be improved.

export type ConntrackErrorCode =
  /** Bytes that are not valid ctnetlink (truncated, bad lengths, bad payload sizes). */
  | 'ERR_CT_DECODE'
  /** A capture file that is not a LINKTYPE_NETLINK pcap, or is cut short. */
  | 'ERR_CT_CAPTURE'
  /** A caller passed a value the API or CLI cannot use. */
  | 'ERR_CT_INVALID_ARGUMENT'
  /** The operation needs CAP_NET_ADMIN (root). */
  | 'ERR_CT_PERMISSION'
  /** The kernel has no such entry (ENOENT). */
  | 'ERR_CT_NOT_FOUND'
  /** The entry already exists (EEXIST). */
  | 'ERR_CT_EXISTS'
  /** Any other kernel error; carries errno and the extended-ACK text. */
  | 'ERR_CT_KERNEL'
  /** A dump raced with table changes (NLM_F_DUMP_INTR) and was not retried. */
  | 'ERR_CT_DUMP_INTERRUPTED'
  /** The kernel did not complete a reply in time (errno ETIMEDOUT). */
  | 'ERR_CT_TIMEOUT'
  /** The socket or decoder was closed while the operation was pending. */
  | 'ERR_CT_CLOSED'
  /** The native host addon could not be loaded or a socket call failed. */
  | 'ERR_CT_SYSTEM'
  /** The WASM module could not be loaded or does not match this build. */
  | 'ERR_CT_WASM';

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

export class ConntrackError extends Error {
  readonly code: ConntrackErrorCode;
  readonly errno?: number;
  readonly syscall?: string;
  readonly offset?: number;
  readonly attrType?: number;
  readonly status?: number;
  readonly extAck?: string;

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

export function isConntrackError(e: unknown): e is ConntrackError {
  return e instanceof ConntrackError;
}
