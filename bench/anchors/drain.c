/* Kernel floor for a conntrack dump: send IPCTNL_MSG_CT_GET with NLM_F_DUMP
 * on a NETLINK_NETFILTER socket and recv() the datagrams until NLMSG_DONE,
 * walking only the nlmsghdr chain (no attribute parsing). Run it inside the
 * namespace: ip netns exec NS bench/anchors/drain
 * Prints "<messages> <bytes> <datagrams> <seconds>". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

int main(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) { perror("socket"); return 1; }
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  struct { struct nlmsghdr nh; struct nfgenmsg nf; } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.nf.nfgen_family = AF_UNSPEC;
  req.nf.version = NFNETLINK_V0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct sockaddr_nl k = { .nl_family = AF_NETLINK };
  if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&k, sizeof k) < 0) { perror("sendto"); return 1; }
  static char buf[1 << 20];
  unsigned long msgs = 0, bytes = 0, dgrams = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) { if (errno == EINTR) continue; perror("recv"); return 1; }
    dgrams++; bytes += (unsigned long)n;
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) goto done;
      if (h->nlmsg_type == NLMSG_ERROR) { fprintf(stderr, "NLMSG_ERROR\n"); return 1; }
      msgs++;
    }
  }
done:
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%lu %lu %lu %.6f\n", msgs, bytes, dgrams, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
