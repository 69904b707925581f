// The one definition of the WASM memory map and of the decoded-record layout.
//
// This file is read by two compilers: asc compiles it into the decoder, and
// scripts/gen-layout.js copies it verbatim to src/generated/layout.ts for the
// TypeScript side. It must therefore stay a list of `export const NAME = <integer
// expression>;` lines (no types, no functions), valid in both languages.
// Nobody else writes an offset: the decoder and the reader use these names.

// ---------------------------------------------------------------------------
// Memory map. The memory is imported, fixed size (initial = maximum), so the
// JS ArrayBuffer never detaches. Regions start at 1 MiB; the decoder checks at
// init that its static data ends below REGION_BASE.
export const MEMORY_PAGES = 256; // 16 MiB
export const REGION_BASE = 1048576;

// Control block: inputs (set by TS before decode) and outputs/counters.
export const CTRL = REGION_BASE;
export const CTRL_SIZE = 256;
export const CTRL_NDGRAMS = 0; // u32 in: datagrams in the current batch
export const CTRL_EXPECT_SEQ = 4; // u32 in: only with CTRL_CHECK_SEQ
export const CTRL_EXPECT_PID = 8; // u32 in: only with CTRL_CHECK_PID
export const CTRL_CHECKS = 12; // u32 in: CHECK_* bits
export const CTRL_CTX_0103 = 16; // u32 in: CTX_0103_* how to read nlmsg_type 0x0103
export const CTRL_CUR_DGRAM = 20; // u32 state: datagram the decoder is in
export const CTRL_CUR_OFF = 24; // u32 state: next message offset inside it
export const CTRL_SPOOFED = 28; // u32 out: datagrams dropped, sender not the kernel
export const CTRL_STALE = 32; // u32 out: messages dropped, seq/port id mismatch
export const CTRL_BAD = 36; // u32 out: messages that failed to decode
export const CTRL_TRUNC = 40; // u32 out: datagrams flagged MSG_TRUNC by the receiver
export const CTRL_VIOLATIONS = 44; // u32 out (checked build): reads outside the message
export const CTRL_FIRST_VIOLATION = 48; // u32 out (checked build): address of the first one

export const CHECK_SEQ = 1;
export const CHECK_PID = 2;
export const CTX_0103_GUESS = 0; // tell IPCTNL_MSG_CT_GET_CTRZERO and EXP stats apart by shape
export const CTX_0103_FLOW = 1; // the request was IPCTNL_MSG_CT_GET_CTRZERO
export const CTX_0103_EXP_STATS = 2; // the request was IPCTNL_MSG_EXP_GET_STATS_CPU

// Datagram descriptors: one per datagram of the batch, filled by the host
// (or the replay source) together with the bytes in the arena.
export const DESC = CTRL + CTRL_SIZE;
export const DESC_SIZE = 16;
export const DESC_MAX = 1024;
export const DESC_OFF = 0; // u32: offset of the datagram inside the arena
export const DESC_LEN = 4; // u32: bytes received
export const DESC_SRC_PID = 8; // u32: sockaddr_nl.nl_pid of the sender (0 = kernel)
export const DESC_FLAGS = 12; // u32: DGRAM_* bits

export const DGRAM_TRUNC = 1; // MSG_TRUNC: the datagram was larger than the buffer

// Receive arena: datagrams back to back (each at a 4-byte aligned offset).
export const ARENA = DESC + DESC_SIZE * DESC_MAX;
export const ARENA_SIZE = 4194304; // 4 MiB

// Decoded records, filled by decode() from slot 0 on each call.
export const RECORDS = ARENA + ARENA_SIZE;
export const REC_MAX = 256;

// Scratch area for request encoding and filter programs (later issues).
// REC_SIZE is defined below; the region after the records is sized generously.
export const SCRATCH_SIZE = 1048576;

// ---------------------------------------------------------------------------
// Record kinds (REC_KIND).
export const KIND_NONE = 0;
export const KIND_FLOW = 1; // IPCTNL_MSG_CT_NEW / _DELETE / _GET... : a conntrack entry
export const KIND_EXPECT = 2; // IPCTNL_MSG_EXP_NEW / _DELETE / _GET: an expectation
export const KIND_STATS_CPU = 3; // IPCTNL_MSG_CT_GET_STATS_CPU reply
export const KIND_STATS_GLOBAL = 4; // IPCTNL_MSG_CT_GET_STATS reply
export const KIND_STATS_EXP = 5; // IPCTNL_MSG_EXP_GET_STATS_CPU reply
export const KIND_DONE = 6; // NLMSG_DONE
export const KIND_ERROR = 7; // NLMSG_ERROR (errno 0 = ACK)
export const KIND_OVERRUN = 8; // NLMSG_OVERRUN
export const KIND_UNKNOWN = 9; // well-formed netlink message of a type we do not decode
export const KIND_BAD = 10; // malformed: see REC_ERR_*

// Event kinds (REC_EVENT), from type + flags like libnetfilter_conntrack.
export const EVENT_NONE = 0;
export const EVENT_NEW = 1; // *_NEW with NLM_F_CREATE|NLM_F_EXCL
export const EVENT_UPDATE = 2; // *_NEW without them
export const EVENT_DESTROY = 3; // *_DELETE

// Decode status codes (REC_ERR_CODE of a KIND_BAD record).
export const DERR_OK = 0;
export const DERR_NLMSG_TRUNCATED = 1; // fewer bytes than a nlmsghdr left in the datagram
export const DERR_NLMSG_LEN = 2; // nlmsg_len < 16 or beyond the datagram
export const DERR_NFGENMSG = 3; // no room for nfgenmsg
export const DERR_ATTR_TRUNCATED = 4; // fewer bytes than a nlattr header left
export const DERR_ATTR_LEN = 5; // nla_len < 4 or beyond its container
export const DERR_ATTR_PAYLOAD = 6; // payload size wrong for the attribute's type
export const DERR_ERRMSG = 7; // NLMSG_ERROR too short
export const DERR_DGRAM_TRUNC = 8; // datagram cut by the receiver (MSG_TRUNC)

// ---------------------------------------------------------------------------
// Tuple layout (CTA_TUPLE_*), used for orig/reply/master and expectation tuples.
export const TUP_PRESENT = 0; // u16: TP_* bits
export const TUP_PROTO = 2; // u8: CTA_PROTO_NUM
export const TUP_L3 = 3; // u8: 2 (AF_INET) or 10 (AF_INET6), from which CTA_IP_* came
export const TUP_SRC = 4; // 16 bytes: CTA_IP_V4_SRC (first 4) / CTA_IP_V6_SRC, network order
export const TUP_DST = 20; // 16 bytes: CTA_IP_V4_DST / CTA_IP_V6_DST
export const TUP_SPORT = 36; // u16 host order: CTA_PROTO_SRC_PORT (GRE: source key)
export const TUP_DPORT = 38; // u16: CTA_PROTO_DST_PORT (GRE: destination key)
export const TUP_ICMP_ID = 40; // u16: CTA_PROTO_ICMP_ID / CTA_PROTO_ICMPV6_ID
export const TUP_ICMP_TYPE = 42; // u8: CTA_PROTO_ICMP_TYPE / CTA_PROTO_ICMPV6_TYPE
export const TUP_ICMP_CODE = 43; // u8: CTA_PROTO_ICMP_CODE / CTA_PROTO_ICMPV6_CODE
export const TUP_ZONE = 44; // u16: CTA_TUPLE_ZONE
export const TUP_SIZE = 48;

export const TP_SRC = 1; // CTA_IP_V4_SRC or CTA_IP_V6_SRC
export const TP_DST = 2;
export const TP_PROTO = 4; // CTA_PROTO_NUM
export const TP_SPORT = 8;
export const TP_DPORT = 16;
export const TP_ICMP_ID = 32; // CTA_PROTO_ICMP_ID
export const TP_ICMP_TYPE = 64;
export const TP_ICMP_CODE = 128;
export const TP_ICMPV6_ID = 256; // CTA_PROTO_ICMPV6_ID
export const TP_ICMPV6_TYPE = 512;
export const TP_ICMPV6_CODE = 1024;
export const TP_ZONE = 2048; // CTA_TUPLE_ZONE
export const TP_IP = 4096; // CTA_TUPLE_IP was present
export const TP_PROTO_NEST = 8192; // CTA_TUPLE_PROTO was present

// NAT range layout (CTA_NAT_SRC / CTA_NAT_DST).
export const NAT_MINIP = 0; // 16 bytes: CTA_NAT_V4_MINIP / CTA_NAT_V6_MINIP
export const NAT_MAXIP = 16; // 16 bytes
export const NAT_PORT_MIN = 32; // u16: CTA_PROTONAT_PORT_MIN
export const NAT_PORT_MAX = 34; // u16: CTA_PROTONAT_PORT_MAX
export const NAT_PRESENT = 36; // u16: NP_* bits
export const NAT_SIZE = 40;

export const NP_V4_MINIP = 1;
export const NP_V4_MAXIP = 2;
export const NP_V6_MINIP = 4;
export const NP_V6_MAXIP = 8;
export const NP_PORT_MIN = 16;
export const NP_PORT_MAX = 32;

// ---------------------------------------------------------------------------
// Record layout. One fixed-size record per netlink message. Fields are valid
// only when their presence bit is set; nothing else is cleared between uses.
export const REC_KIND = 0; // u8: KIND_*
export const REC_EVENT = 1; // u8: EVENT_*
export const REC_FAMILY = 2; // u8: nfgenmsg.nfgen_family
export const REC_VERSION = 3; // u8: nfgenmsg.version
export const REC_NLTYPE = 4; // u16: nlmsg_type
export const REC_NLFLAGS = 6; // u16: nlmsg_flags
export const REC_SEQ = 8; // u32: nlmsg_seq
export const REC_PID = 12; // u32: nlmsg_pid
export const REC_RES_ID = 16; // u16: nfgenmsg.res_id (host order; the CPU for per-CPU stats)
export const REC_DGRAM = 18; // u16: index of the datagram in the batch
export const REC_MSG_OFF = 20; // u32: absolute address of the message in memory
export const REC_MSG_LEN = 24; // u32: nlmsg_len
export const REC_ERR_CODE = 28; // u16: DERR_* (KIND_BAD)
export const REC_ERR_ATTR = 30; // u16: attribute type at the fault (0 = framing)
export const REC_ERR_OFFSET = 32; // u32: offset of the fault from the message start
export const REC_ATTRS = 36; // u32: bit n set = top-level attribute n was present (CTA_*, CTA_EXPECT_*, CTA_STATS_*)
export const REC_SUB = 40; // u32: SUB_* bits (nested fields of flows)
export const REC_SUB2 = 44; // u32: SUB2_* bits (NAT ranges, expectation NAT)

// Flow scalars (CTA_*), host order.
export const REC_STATUS = 48; // u32: CTA_STATUS
export const REC_TIMEOUT = 52; // u32: CTA_TIMEOUT
export const REC_MARK = 56; // u32: CTA_MARK
export const REC_USE = 60; // u32: CTA_USE
export const REC_ID = 64; // u32: CTA_ID
export const REC_SECMARK = 68; // u32: CTA_SECMARK
export const REC_MARK_MASK = 72; // u32: CTA_MARK_MASK
export const REC_STATUS_MASK = 76; // u32: CTA_STATUS_MASK
export const REC_ZONE = 80; // u16: CTA_ZONE
// CTA_PROTOINFO_TCP
export const REC_TCP_STATE = 82; // u8
export const REC_TCP_WSCALE_ORIG = 83; // u8
export const REC_TCP_WSCALE_REPL = 84; // u8
export const REC_TCP_FLAGS_ORIG = 85; // u8 flags, then u8 mask at +1
export const REC_TCP_FLAGS_REPL = 87; // u8 flags, then u8 mask at +1
// CTA_PROTOINFO_DCCP / CTA_PROTOINFO_SCTP
export const REC_DCCP_STATE = 89; // u8
export const REC_DCCP_ROLE = 90; // u8
export const REC_SCTP_STATE = 91; // u8
export const REC_SCTP_VTAG_ORIG = 92; // u32
export const REC_SCTP_VTAG_REPL = 96; // u32
export const REC_DCCP_HANDSHAKE_SEQ = 104; // u64
// CTA_COUNTERS_ORIG / _REPLY (u64; the 32-bit forms are widened)
export const REC_ORIG_PACKETS = 112;
export const REC_ORIG_BYTES = 120;
export const REC_REPL_PACKETS = 128;
export const REC_REPL_BYTES = 136;
// CTA_TIMESTAMP (ns) and CTA_TIMESTAMP_EVENT (ns)
export const REC_TS_START = 144; // u64
export const REC_TS_STOP = 152; // u64
export const REC_TS_EVENT = 160; // u64
// CTA_SEQ_ADJ_ORIG / _REPLY (u32 each: correction_pos, offset_before, offset_after)
export const REC_SEQADJ_ORIG = 168; // 12 bytes
export const REC_SEQADJ_REPL = 180; // 12 bytes
// CTA_SYNPROXY (u32 each: isn, its, tsoff)
export const REC_SYNPROXY = 192; // 12 bytes
// Variable-length payloads: absolute address + length, pointing into the message.
export const REC_HELP_NAME_PTR = 204; // CTA_HELP_NAME (string, without its NUL)
export const REC_HELP_NAME_LEN = 208; // u16
export const REC_HELP_INFO_LEN = 210; // u16: CTA_HELP_INFO
export const REC_HELP_INFO_PTR = 212;
export const REC_SECCTX_PTR = 216; // CTA_SECCTX_NAME
export const REC_SECCTX_LEN = 220; // u16
export const REC_LABELS_LEN = 222; // u16: CTA_LABELS
export const REC_LABELS_PTR = 224;
export const REC_LABELS_MASK_PTR = 228; // CTA_LABELS_MASK
export const REC_LABELS_MASK_LEN = 232; // u16
// Tuples
export const REC_TUPLE_ORIG = 236; // CTA_TUPLE_ORIG          | CTA_EXPECT_MASTER
export const REC_TUPLE_REPLY = 284; // CTA_TUPLE_REPLY        | CTA_EXPECT_TUPLE
export const REC_TUPLE_MASTER = 332; // CTA_TUPLE_MASTER      | CTA_EXPECT_MASK
export const REC_TUPLE_4 = 380; //                            | CTA_EXPECT_NAT / CTA_EXPECT_NAT_TUPLE
// NAT ranges
export const REC_NAT_SRC = 428; // CTA_NAT_SRC
export const REC_NAT_DST = 468; // CTA_NAT_DST
// Expectation scalars (CTA_EXPECT_*), host order.
export const REC_EXP_TIMEOUT = 508; // u32: CTA_EXPECT_TIMEOUT
export const REC_EXP_ID = 512; // u32: CTA_EXPECT_ID
export const REC_EXP_FLAGS = 516; // u32: CTA_EXPECT_FLAGS
export const REC_EXP_CLASS = 520; // u32: CTA_EXPECT_CLASS
export const REC_EXP_NAT_DIR = 524; // u32: CTA_EXPECT_NAT_DIR
export const REC_EXP_ZONE = 528; // u16: CTA_EXPECT_ZONE
export const REC_EXP_HELP_NAME_LEN = 530; // u16
export const REC_EXP_HELP_NAME_PTR = 532; // CTA_EXPECT_HELP_NAME
export const REC_EXP_FN_PTR = 536; // CTA_EXPECT_FN
export const REC_EXP_FN_LEN = 540; // u16
// Statistics: value of attribute n at REC_STATS + 4*n (u32), presence in REC_ATTRS.
// Per-CPU conntrack stats (CTA_STATS_*), global (CTA_STATS_GLOBAL_*), expectation (CTA_STATS_EXP_*).
export const REC_STATS = 544; // 16 x u32
// NLMSG_ERROR
export const REC_ERRNO = 608; // i32: error (negative errno, 0 = ACK)
export const REC_ERR_REQ_TYPE = 612; // u16: nlmsg_type of the request it answers
export const REC_ERR_REQ_FLAGS = 614; // u16
export const REC_ERR_REQ_SEQ = 616; // u32
export const REC_ERR_REQ_PID = 620; // u32
export const REC_EXTACK_MSG_PTR = 624; // NLMSGERR_ATTR_MSG (string, without its NUL)
export const REC_EXTACK_MSG_LEN = 628; // u16
export const REC_EXTACK_PRESENT = 630; // u16: bit 0 msg, bit 1 offset, bit 2 policy/miss info
export const REC_EXTACK_OFFS = 632; // u32: NLMSGERR_ATTR_OFFS
export const REC_SIZE = 640;

export const SCRATCH = RECORDS + REC_SIZE * REC_MAX;

// REC_SUB bits (nested fields of a flow).
export const SUB_TCP_STATE = 1;
export const SUB_TCP_WSCALE_ORIG = 2;
export const SUB_TCP_WSCALE_REPL = 4;
export const SUB_TCP_FLAGS_ORIG = 8;
export const SUB_TCP_FLAGS_REPL = 16;
export const SUB_DCCP_STATE = 32;
export const SUB_DCCP_ROLE = 64;
export const SUB_DCCP_HANDSHAKE_SEQ = 128;
export const SUB_SCTP_STATE = 256;
export const SUB_SCTP_VTAG_ORIG = 512;
export const SUB_SCTP_VTAG_REPL = 1024;
export const SUB_ORIG_PACKETS = 2048;
export const SUB_ORIG_BYTES = 4096;
export const SUB_REPL_PACKETS = 8192;
export const SUB_REPL_BYTES = 16384;
export const SUB_TS_START = 32768;
export const SUB_TS_STOP = 65536;
export const SUB_HELP_NAME = 131072;
export const SUB_HELP_INFO = 262144;
export const SUB_SECCTX_NAME = 524288;
export const SUB_SEQADJ_ORIG_CORRECTION_POS = 1048576;
export const SUB_SEQADJ_ORIG_OFFSET_BEFORE = 2097152;
export const SUB_SEQADJ_ORIG_OFFSET_AFTER = 4194304;
export const SUB_SEQADJ_REPL_CORRECTION_POS = 8388608;
export const SUB_SEQADJ_REPL_OFFSET_BEFORE = 16777216;
export const SUB_SEQADJ_REPL_OFFSET_AFTER = 33554432;
export const SUB_SYNPROXY_ISN = 67108864;
export const SUB_SYNPROXY_ITS = 134217728;
export const SUB_SYNPROXY_TSOFF = 268435456;
export const SUB_ORIG_COUNTERS32 = 536870912; // counters came as CTA_COUNTERS32_*
export const SUB_REPL_COUNTERS32 = 1073741824;

// REC_SUB2 bits.
export const SUB2_EXP_NAT_DIR = 1; // CTA_EXPECT_NAT_DIR
export const SUB2_EXP_NAT_TUPLE = 2; // CTA_EXPECT_NAT_TUPLE
export const SUB2_EXP_HELP_NAME = 4;
export const SUB2_EXP_FN = 8;

// ---------------------------------------------------------------------------
// Request encoder (assembly/encode.ts), inside the scratch area. TS writes the
// request into ENC_REQ (REC_* layout, same presence bits the decoder sets),
// with strings and blobs in ENC_STR; encodeRequest() writes the netlink
// message to ENC_OUT. ENC_END must stay <= SCRATCH + SCRATCH_SIZE.
export const ENC_REQ = SCRATCH; // one record: the request to encode
export const ENC_STR = ENC_REQ + REC_SIZE; // strings/blobs the request record points to
export const ENC_STR_SIZE = 8192;
export const ENC_OUT = ENC_STR + ENC_STR_SIZE; // the encoded message
export const ENC_OUT_SIZE = 65536;
export const ENC_END = ENC_OUT + ENC_OUT_SIZE;

// Encoder status (encodeStatus() after encodeRequest() returned 0).
export const ENC_OK = 0;
export const ENC_ERR_SPACE = 1; // the message would not fit in ENC_OUT_SIZE bytes
export const ENC_ERR_ATTR_LEN = 2; // an attribute or nest longer than nla_len can hold (65535)
export const ENC_ERR_L3 = 3; // tuple addresses present but TUP_L3 is neither AF_INET nor AF_INET6
export const ENC_ERR_PTR = 4; // a string/blob pointer + length outside memory

// ---------------------------------------------------------------------------
// Filter program (assembly/filter.ts), in the scratch area after the encoder.
// FILTER: u32 count, u32 reserved, then `count` conditions of FCOND_SIZE
// bytes each. count 0 = no filter. See assembly/filter.ts for the semantics.
export const CTRL_FILTERED = 52; // u32 out: flow messages dropped by the filter program
export const CTRL_FILTER_ERR = 56; // u32 out: FERR_* of the last filterCheck() / failed filterPass()
export const FILTER = ENC_END;
export const FILTER_SIZE = 16384; // FILTER + FILTER_SIZE <= SCRATCH + SCRATCH_SIZE
export const FILTER_COUNT = 0; // u32: number of conditions
export const FILTER_JIT = 4; // u32: 1 = setFilter installed a compiled function for this program (src/filter-jit.ts); 0 when written by hand
export const FILTER_HDR = 8; // conditions start here
export const FCOND_SIZE = 48;
export const FILTER_MAX_CONDS = 341; // (FILTER_SIZE - FILTER_HDR) / FCOND_SIZE
export const FCOND_OP = 0; // u8: FOP_*
export const FCOND_NEG = 1; // u8: 1 = negate the result
export const FCOND_SLOT = 2; // u8: tuple: 0 orig, 1 reply, 2 master
export const FCOND_PLEN = 3; // u8: address prefix length, or PLEN_MASK
export const FCOND_A = 4; // u32: first operand
export const FCOND_B = 8; // u32: second operand
export const FCOND_ADDR = 16; // 16 bytes: address (network order; IPv4 in the first 4)
export const FCOND_MASK = 32; // 16 bytes: netmask when FCOND_PLEN is PLEN_MASK (network order)
export const PLEN_MASK = 255; // FCOND_PLEN: the address is compared under the netmask at FCOND_MASK (any mask, e.g. 255.0.255.0)

export const FOP_FALSE = 1; // never matches
export const FOP_FAMILY = 2; // orig tuple l3proto == a (2 or 10)
export const FOP_PROTO = 3; // orig CTA_PROTO_NUM == a
export const FOP_SRC = 4; // slot's source address in a (family) net ADDR/PLEN
export const FOP_DST = 5; // slot's destination address in the net
export const FOP_REPLY_ANY = 6; // reply source or reply destination in the net
export const FOP_SPORT = 7; // slot's CTA_PROTO_SRC_PORT == a
export const FOP_DPORT = 8; // slot's CTA_PROTO_DST_PORT == a
export const FOP_MARK = 9; // (CTA_MARK & b) == a
export const FOP_ZONE = 10; // CTA_ZONE == a
export const FOP_TUPLE_ZONE = 11; // slot's CTA_TUPLE_ZONE == a
export const FOP_STATUS = 12; // (CTA_STATUS & b) == a
export const FOP_TCP_STATE = 13; // CTA_PROTOINFO_TCP_STATE == a
export const FOP_SCTP_STATE = 14; // CTA_PROTOINFO_SCTP_STATE == a
export const FOP_DCCP_STATE = 15; // CTA_PROTOINFO_DCCP_STATE == a
export const FOP_ICMP_TYPE = 16; // orig ICMP/ICMPv6 type == a
export const FOP_ICMP_CODE = 17; // orig ICMP/ICMPv6 code == a
export const FOP_ICMP_ID = 18; // orig ICMP/ICMPv6 id == a
export const FOP_TIMEOUT = 19; // a <= CTA_TIMEOUT <= b
export const FOP_LABEL = 20; // CTA_LABELS bit a set
export const FOP_NAT = 21; // a: 1 src-nat, 2 dst-nat, 3 any-nat (conntrack-tools definition)
export const FOP_MAX = 21;

export const FERR_OK = 0;
export const FERR_COUNT = 1; // count > FILTER_MAX_CONDS
export const FERR_OP = 2; // unknown op
export const FERR_SLOT = 3; // slot > 2
export const FERR_FAMILY = 4; // address op with a family other than 2 / 10
export const FERR_PLEN = 5; // prefix longer than the family's address
export const FERR_ARG = 6; // other operand out of range (NAT kind, timeout min > max, negate not 0/1)

// ---------------------------------------------------------------------------
// Shape templates (assembly/shape.ts), in the scratch area after the filter
// program. A template is learned from a flow message the generic walk
// decoded; later messages whose nlmsghdr and attribute headers are the same
// bytes are decoded by comparing those bytes and copying the values.
export const CTRL_SHAPE_HITS = 60; // u32 out: messages decoded by a shape template
export const CTRL_SHAPE_LEARNED = 64; // u32 out: templates learned
export const CTRL_SHAPE_REFUSED = 68; // u32 out: learning attempts that found no template
export const SHAPE = FILTER + FILTER_SIZE;
export const SHAPE_HDR = 64;
export const SHAPE_COUNT = 0; // u32: templates in use (slots 0..count-1)
export const SHAPE_JIT_HITS = 4; // u32: hits after which src/decoder.ts compiles a template (shapeInit: 8192)
export const SHAPE_CREDIT = 8; // u32: learning budget, +1 per message the templates missed
export const SHAPE_OFF = 12; // u32: 1 = templates neither used nor learned (tests, benchmarks)
export const SHAPE_BSWAP32 = 16; // 16 bytes: i8x16.swizzle indices reversing a be32 in lanes 0..3 (assembly/shape-emit.ts)
export const SHAPE_BSWAP64 = 32; // 16 bytes: the same for a be64 in lanes 0..7
export const SHAPE_EARLY = 48; // u32: learning attempts left at the early price (shape.ts EARLY_ATTEMPTS)
export const SHAPE_MAX = 16; // templates
export const SHAPE_MSG_MAX = 1024; // longest message a template is learned from
export const SHAPE_OPS_MAX = 160; // copy operations per template
export const SHAPE_T_SIZE = 4096; // bytes per template
// Template (SHAPE + SHAPE_HDR + slot * SHAPE_T_SIZE + ...)
export const ST_KEY = 0; // u64: nlmsg_len | nlmsg_type << 32 | nlmsg_flags << 48
export const ST_NCHUNKS = 8; // u32: 16-byte chunks compared (the last one ends at nlmsg_len)
export const ST_NCONST = 12; // u32: record chunks with constant bytes
export const ST_KIND_END = 16; // 8 x u8: ops of kind k are ST_OPS[ST_KIND_END[k-1]..ST_KIND_END[k]]
export const ST_JIT = 24; // u32: 1 = compiled into slot i of the shape table (assembly/shape-emit.ts, src/decoder.ts), 2 = compiling failed
export const ST_HITS = 28; // u32: messages decoded by this template (all halved whenever one is evicted)
export const ST_MISSES = 32; // u32: messages with the key but another shape (assembly/shape.ts missed())
export const ST_CHUNKS = 48; // ST_NCHUNKS x (16 bytes expected, 16 bytes mask)
export const ST_CONST = 2096; // ST_NCONST x (16 bytes mask, 16 bytes value)
export const ST_CONST_AT = 3376; // ST_NCONST x u16: record offset of each constant chunk
export const ST_OPS = 3456; // u32 each: source offset in the message | record offset << 16
export const SHAPE_SCR_MSG = SHAPE + SHAPE_HDR + SHAPE_MAX * SHAPE_T_SIZE; // learning: a copy of the message
export const SHAPE_SCR_REC = SHAPE_SCR_MSG + SHAPE_MSG_MAX; // learning: 6 records
export const SHAPE_SCR_FREE = SHAPE_SCR_REC + 6 * REC_SIZE; // learning: one byte per message byte
export const SHAPE_SCR_MAP = SHAPE_SCR_FREE + SHAPE_MSG_MAX; // learning: 4 bytes per record byte
export const SHAPE_SCR_T = SHAPE_SCR_MAP + 4 * REC_SIZE; // learning: the template being built
export const SHAPE_JIT_OUT = SHAPE_SCR_T + SHAPE_T_SIZE; // shapeEmit(): the module bytes of one compiled template (assembly/shape-emit.ts)
export const SHAPE_JIT_OUT_SIZE = 16384;
export const SHAPE_END = SHAPE_JIT_OUT + SHAPE_JIT_OUT_SIZE; // <= DIR_CFG
// ---------------------------------------------------------------------------
// Text output region (assembly/textfmt.ts): textFlowLine() appends conntrack's
// text line of a flow record at TEXT_OUT + pos; TS writes the bytes out.
// At the top of memory, clear of the regions above and of later additions.
export const TEXT_OUT_SIZE = 2097152; // 2 MiB
export const TEXT_OUT = MEMORY_PAGES * 65536 - TEXT_OUT_SIZE;
export const TF_LAYER3 = 1; // -o extended: "ipv4     2 " first
export const TF_ID = 2; // -o id: "id=N" when CTA_ID was sent
export const TF_FALLBACK = -1; // textFlowLine(): format this record with the JS formatter
export const TF_NO_ROOM = -2; // textFlowLine(): flush TEXT_OUT, call again with pos 0
// Flow direction (assembly/direction.ts, used by the flow logger): a config
// region written by TS and a side table with one entry per record slot, which
// decode() fills for every KIND_FLOW record while DIR_ENABLED is set. Both sit
// at the very end of the scratch area, away from the regions that grow upward.
export const DIR_CFG_SIZE = 128;
export const DIR_ENT_SIZE = 40;
export const DIR_CFG = SCRATCH + SCRATCH_SIZE - DIR_CFG_SIZE - DIR_ENT_SIZE * REC_MAX;
export const DIR_TABLE = DIR_CFG + DIR_CFG_SIZE; // REC_MAX entries of DIR_ENT_SIZE bytes
// Config (DIR_CFG + ...)
export const DIR_ENABLED = 0; // u32: 1 = decode() fills DIR_TABLE for each flow record
export const DIR_HAS = 4; // u32: DIRH_* bits, which of the fields below are set
export const DIR_MARK_LO = 8; // u32: data-plane mark range, inclusive (with DIRH_MARK_RANGE)
export const DIR_MARK_HI = 12; // u32
export const DIR_N_IN = 16; // u8: marks in DIR_IN_MARKS (<= DIR_MAX_MARKS)
export const DIR_N_OUT = 17; // u8: marks in DIR_OUT_MARKS
export const DIR_V4_PLEN = 18; // u8: prefix length of DIR_V4_NET
export const DIR_V6_PLEN = 19; // u8: prefix length of DIR_V6_NET
export const DIR_IN_MARKS = 20; // DIR_MAX_MARKS x u32: CTA_MARK values meaning ingress
export const DIR_OUT_MARKS = 36; // DIR_MAX_MARKS x u32: CTA_MARK values meaning egress
export const DIR_V4_IP = 52; // 4 bytes, network order: the interface's IPv4 address
export const DIR_V4_NET = 56; // 4 bytes: its network
export const DIR_V6_IP = 60; // 16 bytes: the interface's IPv6 address
export const DIR_V6_NET = 76; // 16 bytes: its IPv6 network
export const DIR_MAX_MARKS = 4;
export const DIRH_V4_IP = 1;
export const DIRH_V4_NET = 2;
export const DIRH_V6_IP = 4;
export const DIRH_V6_NET = 8;
export const DIRH_MARK_RANGE = 16;
// Side table entry (DIR_TABLE + slot * DIR_ENT_SIZE + ...)
export const DIRE_FLAGS = 0; // u8: DIRF_* bits
export const DIRE_DIRECTION = 1; // u8: FLOW_DIR_*
export const DIRE_RX_PACKETS = 8; // u64: counters mapped by direction
export const DIRE_TX_PACKETS = 16; // u64
export const DIRE_RX_BYTES = 24; // u64
export const DIRE_TX_BYTES = 32; // u64
export const DIRF_FLOW = 1; // the slot holds a flow record the entry describes
export const DIRF_RELEVANT = 2; // data-plane mark, or an orig address inside an interface network
// Directions (netbird's numbering)
export const FLOW_DIR_UNKNOWN = 0;
export const FLOW_DIR_INGRESS = 1;
export const FLOW_DIR_EGRESS = 2;
