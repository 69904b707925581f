/* Decode-only anchor: libnetfilter_conntrack's parser over a captured dump.
 *
 *   nfct_decode FILE MODE WARMUP PASSES
 *     FILE   datagrams as written by bench/capture.js: repeated
 *            [u32 little-endian length][datagram bytes], no padding
 *     MODE   parse: nfct_new() + nfct_nlmsg_parse() + nfct_destroy() per message
 *                   (what nfct_query(NFCT_Q_DUMP)'s callback path does per flow)
 *            read:  the same plus reading tuple (l3/l4 proto, addresses, ports),
 *                   counters (both directions), mark, status and id through
 *                   nfct_get_attr*()
 *
 * The file is read into memory first; a pass walks every datagram with
 * mnl_nlmsg_ok()/mnl_nlmsg_next(). Prints one line per timed pass:
 *   "<messages> <seconds> <mallocs> <idsum> <srcsum> <cpu-seconds>"
 * mallocs counts malloc/calloc/realloc calls during the pass (the harness
 * interposes them and forwards to glibc's __libc_* entry points), idsum is the
 * sum of CTA_ID (ATTR_ID) and srcsum of the original IPv4 source addresses
 * (host order), both mod 2^32, for the suite to check against its own decoders. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

/* --- allocation counting (interposition of the process-wide malloc) ------ */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long mallocs;
void *malloc(size_t n) { mallocs++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { mallocs++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { mallocs++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

struct dgram { const unsigned char *p; uint32_t len; };

static volatile uint64_t sink; /* keeps the "read" values alive */

static double clk(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static double now(void) { return clk(CLOCK_MONOTONIC); }
/* CPU time of the process: what the pass cost when other jobs share the CPUs */
static double cpu(void) { return clk(CLOCK_PROCESS_CPUTIME_ID); }

/* One pass over every datagram; returns the number of flow messages. */
static unsigned long pass(const struct dgram *d, size_t nd, int read, uint32_t *idsum, uint32_t *srcsum) {
  unsigned long n = 0;
  uint32_t ids = 0, srcs = 0;
  uint64_t acc = 0;
  for (size_t i = 0; i < nd; i++) {
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)d[i].p;
    int len = (int)d[i].len;
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) continue;
      struct nf_conntrack *ct = nfct_new();
      if (!ct || nfct_nlmsg_parse(nlh, ct) < 0) { fprintf(stderr, "nfct_nlmsg_parse failed\n"); exit(1); }
      n++;
      ids += nfct_get_attr_u32(ct, ATTR_ID);
      if (read) {
        acc += nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) + nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
        if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) == AF_INET) {
          srcs += ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC));
          acc += nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST) + nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC) +
                 nfct_get_attr_u32(ct, ATTR_REPL_IPV4_DST);
        } else {
          const uint32_t *a = nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC);
          if (a) acc += a[3];
        }
        acc += nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC) + nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST) +
               nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC) + nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST);
        acc += nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS) + nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES) +
               nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS) + nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
        acc += nfct_get_attr_u32(ct, ATTR_MARK) + nfct_get_attr_u32(ct, ATTR_STATUS);
      }
      nfct_destroy(ct);
    }
  }
  sink += acc;
  *idsum = ids;
  *srcsum = srcs;
  return n;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: nfct_decode FILE parse|read WARMUP PASSES\n"); return 2; }
  int read = strcmp(argv[2], "read") == 0;
  if (!read && strcmp(argv[2], "parse") != 0) { fprintf(stderr, "mode must be parse or read\n"); return 2; }
  int warm = atoi(argv[3]), passes = atoi(argv[4]);
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* 4-byte aligned copies of every datagram (netlink messages need it) */
  unsigned char *raw = __libc_malloc(size);
  if (fread(raw, 1, size, f) != (size_t)size) { fprintf(stderr, "short read\n"); return 1; }
  fclose(f);
  size_t cap = 1024, nd = 0;
  struct dgram *d = __libc_malloc(cap * sizeof *d);
  unsigned char *buf = __libc_malloc(size + 4 * (size / 16 + 1));
  size_t at = 0;
  for (long p = 0; p + 4 <= size;) {
    uint32_t len;
    memcpy(&len, raw + p, 4);
    p += 4;
    if (p + len > (unsigned long)size) { fprintf(stderr, "truncated file\n"); return 1; }
    if (nd == cap) { cap *= 2; d = __libc_realloc(d, cap * sizeof *d); }
    memcpy(buf + at, raw + p, len);
    d[nd].p = buf + at;
    d[nd].len = len;
    nd++;
    at += (len + 3) & ~3u;
    p += len;
  }
  uint32_t ids, srcs;
  for (int i = 0; i < warm; i++) pass(d, nd, read, &ids, &srcs);
  for (int i = 0; i < passes; i++) {
    unsigned long m0 = mallocs;
    double c0 = cpu(), t0 = now();
    unsigned long n = pass(d, nd, read, &ids, &srcs);
    double t1 = now(), c1 = cpu();
    printf("%lu %.9f %lu %u %u %.9f\n", n, t1 - t0, mallocs - m0, ids, srcs, c1 - c0);
  }
  return 0;
}
