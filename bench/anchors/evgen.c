/* Conntrack event generator for bench/events.js: creates and deletes UDP
 * entries with batched netlink requests, so the kernel emits one NEW and one
 * DESTROY event per entry as fast as it can (or paced in bursts).
 * Run it inside the namespace: ip netns exec NS bench/anchors/evgen ENTRIES BURST RATE
 *   ENTRIES  entries to create and delete (events = 2 x ENTRIES)
 *   BURST    events per burst (BURST/2 creates, then the BURST/2 deletes)
 *   RATE     average events per second (0: as fast as possible)
 * Each request datagram holds up to 64 messages; the kernel handles them
 * in order inside sendmsg(), so the sender runs at the kernel's pace.
 * Prints "<events> <seconds> <errors>". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#define PER_DGRAM 64

static char *put_attr(char *p, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)p;
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  memcpy(p + NLA_HDRLEN, data, len);
  return p + NLA_ALIGN(a->nla_len);
}

static char *begin_nest(char *p, uint16_t type) {
  struct nlattr *a = (struct nlattr *)p;
  a->nla_type = type | NLA_F_NESTED;
  return p + NLA_HDRLEN;
}

static void end_nest(char *start, char *p) {
  ((struct nlattr *)start)->nla_len = (uint16_t)(p - start);
}

/* One create (NEW) or delete (DELETE) of entry i at p; returns its length. */
static size_t message(char *p, uint32_t i, int create, uint32_t seq) {
  memset(p, 0, 256);
  struct nlmsghdr *h = (struct nlmsghdr *)p;
  h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | (create ? IPCTNL_MSG_CT_NEW : IPCTNL_MSG_CT_DELETE);
  h->nlmsg_flags = NLM_F_REQUEST | (create ? NLM_F_CREATE | NLM_F_EXCL : 0);
  h->nlmsg_seq = seq;
  struct nfgenmsg *nf = (struct nfgenmsg *)(p + NLMSG_HDRLEN);
  nf->nfgen_family = AF_INET;
  nf->version = NFNETLINK_V0;
  char *q = p + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *nf);
  uint32_t src = htonl(0x0a000000u | (i & 0xffffffu)), dst = htonl(0xc0a8c801u);
  uint8_t proto = IPPROTO_UDP;
  uint16_t sport = htons((uint16_t)(1024 + (i >> 24))), dport = htons(53);
  for (int dir = 0; dir < 2; dir++) {
    if (!create && dir == 1) break; /* a delete names the original tuple */
    char *t = q;
    q = begin_nest(q, dir == 0 ? CTA_TUPLE_ORIG : CTA_TUPLE_REPLY);
    char *ip = q;
    q = begin_nest(q, CTA_TUPLE_IP);
    q = put_attr(q, CTA_IP_V4_SRC, dir == 0 ? &src : &dst, 4);
    q = put_attr(q, CTA_IP_V4_DST, dir == 0 ? &dst : &src, 4);
    end_nest(ip, q);
    char *pr = q;
    q = begin_nest(q, CTA_TUPLE_PROTO);
    q = put_attr(q, CTA_PROTO_NUM, &proto, 1);
    q = put_attr(q, CTA_PROTO_SRC_PORT, dir == 0 ? &sport : &dport, 2);
    q = put_attr(q, CTA_PROTO_DST_PORT, dir == 0 ? &dport : &sport, 2);
    end_nest(pr, q);
    end_nest(t, q);
  }
  if (create) {
    uint32_t timeout = htonl(600);
    q = put_attr(q, CTA_TIMEOUT, &timeout, 4);
  }
  h->nlmsg_len = (uint32_t)(q - p);
  return NLMSG_ALIGN(h->nlmsg_len);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fd;
static unsigned long errors;
static struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

/* Error replies (EEXIST, ENOENT, ...) queue on our socket: count and drop them. */
static void drain_errors(void) {
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return;
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
      if (h->nlmsg_type == NLMSG_ERROR && ((struct nlmsgerr *)NLMSG_DATA(h))->error != 0) errors++;
  }
}

static void send_range(uint32_t from, uint32_t to, int create, uint32_t *seq) {
  static char buf[PER_DGRAM * 256];
  while (from < to) {
    size_t off = 0;
    for (int k = 0; k < PER_DGRAM && from < to; k++, from++) off += message(buf + off, from, create, ++*seq);
    if (sendto(fd, buf, off, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0 && errno != EINTR) {
      perror("sendto");
      exit(1);
    }
  }
  drain_errors();
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: evgen ENTRIES BURST RATE\n"); return 2; }
  uint32_t entries = (uint32_t)strtoul(argv[1], NULL, 10);
  uint32_t burst = (uint32_t)strtoul(argv[2], NULL, 10) / 2;
  double rate = strtod(argv[3], NULL);
  if (burst == 0) burst = 1;
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) { perror("socket"); return 1; }
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  uint32_t seq = 0;
  double t0 = now();
  for (uint32_t i = 0; i < entries; i += burst) {
    uint32_t end = i + burst < entries ? i + burst : entries;
    send_range(i, end, 1, &seq);
    send_range(i, end, 0, &seq);
    if (rate > 0) {
      double due = t0 + (double)(2.0 * end) / rate;
      double wait = due - now();
      if (wait > 0) {
        struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
        nanosleep(&ts, NULL);
      }
    }
  }
  double secs = now() - t0;
  printf("%lu %.6f %lu\n", 2ul * entries, secs, errors);
  return 0;
}
