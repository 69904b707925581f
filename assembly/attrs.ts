// Kernel numbers for ctnetlink, named exactly as in the Linux uapi headers
// (linux/netfilter/nfnetlink_conntrack.h, nfnetlink.h, netlink.h,
// nf_conntrack_common.h, nf_conntrack_tcp.h). The enums were extracted from the
// installed header; members newer than it (CTA_TIMESTAMP_EVENT, Linux 6.x)
// are added by hand below and marked.
//
// Like layout.ts, this file is plain `export const NAME = <integer>;` lines so
// that scripts/gen-layout.js can copy it to the TypeScript side unchanged.

// enum cntl_msg_types
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
export const IPCTNL_MSG_CT_GET_CTRZERO = 3;
export const IPCTNL_MSG_CT_GET_STATS_CPU = 4;
export const IPCTNL_MSG_CT_GET_STATS = 5;
export const IPCTNL_MSG_CT_GET_DYING = 6;
export const IPCTNL_MSG_CT_GET_UNCONFIRMED = 7;
export const IPCTNL_MSG_MAX = 8;

// enum ctnl_exp_msg_types
export const IPCTNL_MSG_EXP_NEW = 0;
export const IPCTNL_MSG_EXP_GET = 1;
export const IPCTNL_MSG_EXP_DELETE = 2;
export const IPCTNL_MSG_EXP_GET_STATS_CPU = 3;
export const IPCTNL_MSG_EXP_MAX = 4;

// enum ctattr_type
export const CTA_UNSPEC = 0;
export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_STATUS = 3;
export const CTA_PROTOINFO = 4;
export const CTA_HELP = 5;
export const CTA_NAT_SRC = 6;
export const CTA_TIMEOUT = 7;
export const CTA_MARK = 8;
export const CTA_COUNTERS_ORIG = 9;
export const CTA_COUNTERS_REPLY = 10;
export const CTA_USE = 11;
export const CTA_ID = 12;
export const CTA_NAT_DST = 13;
export const CTA_TUPLE_MASTER = 14;
export const CTA_SEQ_ADJ_ORIG = 15;
export const CTA_NAT_SEQ_ADJ_ORIG = 15;
export const CTA_SEQ_ADJ_REPLY = 16;
export const CTA_NAT_SEQ_ADJ_REPLY = 16;
export const CTA_SECMARK = 17;
export const CTA_ZONE = 18;
export const CTA_SECCTX = 19;
export const CTA_TIMESTAMP = 20;
export const CTA_MARK_MASK = 21;
export const CTA_LABELS = 22;
export const CTA_LABELS_MASK = 23;
export const CTA_SYNPROXY = 24;
export const CTA_FILTER = 25;
export const CTA_STATUS_MASK = 26;
export const CTA_TIMESTAMP_EVENT = 27; // Linux 6.x, not in older headers

// enum ctattr_tuple
export const CTA_TUPLE_UNSPEC = 0;
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_TUPLE_ZONE = 3;

// enum ctattr_ip
export const CTA_IP_UNSPEC = 0;
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;

// enum ctattr_l4proto
export const CTA_PROTO_UNSPEC = 0;
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_PROTO_ICMP_ID = 4;
export const CTA_PROTO_ICMP_TYPE = 5;
export const CTA_PROTO_ICMP_CODE = 6;
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;

// enum ctattr_protoinfo
export const CTA_PROTOINFO_UNSPEC = 0;
export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_DCCP = 2;
export const CTA_PROTOINFO_SCTP = 3;

// enum ctattr_protoinfo_tcp
export const CTA_PROTOINFO_TCP_UNSPEC = 0;
export const CTA_PROTOINFO_TCP_STATE = 1;
export const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL = 2;
export const CTA_PROTOINFO_TCP_WSCALE_REPLY = 3;
export const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
export const CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;

// enum ctattr_protoinfo_dccp
export const CTA_PROTOINFO_DCCP_UNSPEC = 0;
export const CTA_PROTOINFO_DCCP_STATE = 1;
export const CTA_PROTOINFO_DCCP_ROLE = 2;
export const CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ = 3;
export const CTA_PROTOINFO_DCCP_PAD = 4;

// enum ctattr_protoinfo_sctp
export const CTA_PROTOINFO_SCTP_UNSPEC = 0;
export const CTA_PROTOINFO_SCTP_STATE = 1;
export const CTA_PROTOINFO_SCTP_VTAG_ORIGINAL = 2;
export const CTA_PROTOINFO_SCTP_VTAG_REPLY = 3;

// enum ctattr_counters
export const CTA_COUNTERS_UNSPEC = 0;
export const CTA_COUNTERS_PACKETS = 1;
export const CTA_COUNTERS_BYTES = 2;
export const CTA_COUNTERS32_PACKETS = 3;
export const CTA_COUNTERS32_BYTES = 4;
export const CTA_COUNTERS_PAD = 5;

// enum ctattr_tstamp
export const CTA_TIMESTAMP_UNSPEC = 0;
export const CTA_TIMESTAMP_START = 1;
export const CTA_TIMESTAMP_STOP = 2;
export const CTA_TIMESTAMP_PAD = 3;

// enum ctattr_nat
export const CTA_NAT_UNSPEC = 0;
export const CTA_NAT_V4_MINIP = 1;
export const CTA_NAT_V4_MAXIP = 2;
export const CTA_NAT_PROTO = 3;
export const CTA_NAT_V6_MINIP = 4;
export const CTA_NAT_V6_MAXIP = 5;

// enum ctattr_protonat
export const CTA_PROTONAT_UNSPEC = 0;
export const CTA_PROTONAT_PORT_MIN = 1;
export const CTA_PROTONAT_PORT_MAX = 2;

// enum ctattr_seqadj
export const CTA_SEQADJ_UNSPEC = 0;
export const CTA_SEQADJ_CORRECTION_POS = 1;
export const CTA_SEQADJ_OFFSET_BEFORE = 2;
export const CTA_SEQADJ_OFFSET_AFTER = 3;

// enum ctattr_natseq
export const CTA_NAT_SEQ_UNSPEC = 0;
export const CTA_NAT_SEQ_CORRECTION_POS = 1;
export const CTA_NAT_SEQ_OFFSET_BEFORE = 2;
export const CTA_NAT_SEQ_OFFSET_AFTER = 3;

// enum ctattr_synproxy
export const CTA_SYNPROXY_UNSPEC = 0;
export const CTA_SYNPROXY_ISN = 1;
export const CTA_SYNPROXY_ITS = 2;
export const CTA_SYNPROXY_TSOFF = 3;

// enum ctattr_expect
export const CTA_EXPECT_UNSPEC = 0;
export const CTA_EXPECT_MASTER = 1;
export const CTA_EXPECT_TUPLE = 2;
export const CTA_EXPECT_MASK = 3;
export const CTA_EXPECT_TIMEOUT = 4;
export const CTA_EXPECT_ID = 5;
export const CTA_EXPECT_HELP_NAME = 6;
export const CTA_EXPECT_ZONE = 7;
export const CTA_EXPECT_FLAGS = 8;
export const CTA_EXPECT_CLASS = 9;
export const CTA_EXPECT_NAT = 10;
export const CTA_EXPECT_FN = 11;

// enum ctattr_expect_nat
export const CTA_EXPECT_NAT_UNSPEC = 0;
export const CTA_EXPECT_NAT_DIR = 1;
export const CTA_EXPECT_NAT_TUPLE = 2;

// enum ctattr_help
export const CTA_HELP_UNSPEC = 0;
export const CTA_HELP_NAME = 1;
export const CTA_HELP_INFO = 2;

// enum ctattr_secctx
export const CTA_SECCTX_UNSPEC = 0;
export const CTA_SECCTX_NAME = 1;

// enum ctattr_stats_cpu
export const CTA_STATS_UNSPEC = 0;
export const CTA_STATS_SEARCHED = 1;
export const CTA_STATS_FOUND = 2;
export const CTA_STATS_NEW = 3;
export const CTA_STATS_INVALID = 4;
export const CTA_STATS_IGNORE = 5;
export const CTA_STATS_DELETE = 6;
export const CTA_STATS_DELETE_LIST = 7;
export const CTA_STATS_INSERT = 8;
export const CTA_STATS_INSERT_FAILED = 9;
export const CTA_STATS_DROP = 10;
export const CTA_STATS_EARLY_DROP = 11;
export const CTA_STATS_ERROR = 12;
export const CTA_STATS_SEARCH_RESTART = 13;
export const CTA_STATS_CLASH_RESOLVE = 14;
export const CTA_STATS_CHAIN_TOOLONG = 15;

// enum ctattr_stats_global
export const CTA_STATS_GLOBAL_UNSPEC = 0;
export const CTA_STATS_GLOBAL_ENTRIES = 1;
export const CTA_STATS_GLOBAL_MAX_ENTRIES = 2;

// enum ctattr_expect_stats
export const CTA_STATS_EXP_UNSPEC = 0;
export const CTA_STATS_EXP_NEW = 1;
export const CTA_STATS_EXP_CREATE = 2;
export const CTA_STATS_EXP_DELETE = 3;

// enum ctattr_filter
export const CTA_FILTER_UNSPEC = 0;
export const CTA_FILTER_ORIG_FLAGS = 1;
export const CTA_FILTER_REPLY_FLAGS = 2;

// Highest attribute number of each statistics enum.
export const CTA_STATS_MAX = 15;
export const CTA_STATS_GLOBAL_MAX = 2;
export const CTA_STATS_EXP_MAX = 3;

// linux/netfilter/nfnetlink.h
export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNL_SUBSYS_CTNETLINK_EXP = 2;
export const NFNL_SUBSYS_CTNETLINK_TIMEOUT = 8;
export const NFNL_SUBSYS_CTHELPER = 9;
export const NFNETLINK_V0 = 0;

// enum nfnetlink_groups
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;
export const NFNLGRP_CONNTRACK_EXP_NEW = 4;
export const NFNLGRP_CONNTRACK_EXP_UPDATE = 5;
export const NFNLGRP_CONNTRACK_EXP_DESTROY = 6;

// linux/netlink.h: control messages and flags
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const NLMSG_MIN_TYPE = 16;
export const NLM_F_REQUEST = 1;
export const NLM_F_MULTI = 2;
export const NLM_F_ACK = 4;
export const NLM_F_ECHO = 8;
export const NLM_F_DUMP_INTR = 16;
export const NLM_F_DUMP_FILTERED = 32;
export const NLM_F_ROOT = 256;
export const NLM_F_MATCH = 512;
export const NLM_F_DUMP = 768;
export const NLM_F_REPLACE = 256;
export const NLM_F_EXCL = 512;
export const NLM_F_CREATE = 1024;
export const NLM_F_CAPPED = 256; // on NLMSG_ERROR: only the request header was copied
export const NLM_F_ACK_TLVS = 512; // on NLMSG_ERROR: extended ACK attributes follow

// enum nlmsgerr_attrs
export const NLMSGERR_ATTR_UNUSED = 0;
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

// linux/netfilter/nf_conntrack_common.h: enum ip_conntrack_status (bit numbers)
export const IPS_EXPECTED_BIT = 0;
export const IPS_SEEN_REPLY_BIT = 1;
export const IPS_ASSURED_BIT = 2;
export const IPS_CONFIRMED_BIT = 3;
export const IPS_SRC_NAT_BIT = 4;
export const IPS_DST_NAT_BIT = 5;
export const IPS_SEQ_ADJUST_BIT = 6;
export const IPS_SRC_NAT_DONE_BIT = 7;
export const IPS_DST_NAT_DONE_BIT = 8;
export const IPS_DYING_BIT = 9;
export const IPS_FIXED_TIMEOUT_BIT = 10;
export const IPS_TEMPLATE_BIT = 11;
export const IPS_UNTRACKED_BIT = 12;
export const IPS_HELPER_BIT = 13;
export const IPS_OFFLOAD_BIT = 14;
export const IPS_HW_OFFLOAD_BIT = 15;

// linux/netfilter/nf_conntrack_tcp.h: enum tcp_conntrack
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_SYN_SENT2 = 9;

// nf_conntrack_common.h: expectation flags
export const NF_CT_EXPECT_PERMANENT = 1;
export const NF_CT_EXPECT_INACTIVE = 2;
export const NF_CT_EXPECT_USERSPACE = 4;

// CTA_FILTER_*_FLAGS bits (host order u32)
export const CTA_FILTER_FLAG_CTA_IP_SRC = 1;
export const CTA_FILTER_FLAG_CTA_IP_DST = 2;
export const CTA_FILTER_FLAG_CTA_TUPLE_ZONE = 4;
export const CTA_FILTER_FLAG_CTA_PROTO_NUM = 8;
export const CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT = 16;
export const CTA_FILTER_FLAG_CTA_PROTO_DST_PORT = 32;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE = 64;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE = 128;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID = 256;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE = 512;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE = 1024;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID = 2048;

// address families
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
