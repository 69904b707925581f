/* Full-dump anchor: libnetfilter_conntrack's nfct_query(NFCT_Q_DUMP) with a
 * callback that only counts, as conntrack -L does minus the printing.
 * Run it inside the namespace: ip netns exec NS bench/anchors/nfct_dump
 * Prints "<entries> <seconds>" (seconds from nfct_open to the end of the dump). */
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

static int count_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data) {
  (void)type; (void)ct;
  (*(unsigned long *)data)++;
  return NFCT_CB_CONTINUE;
}

int main(void) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct nfct_handle *h = nfct_open(CONNTRACK, 0);
  if (!h) { perror("nfct_open"); return 1; }
  /* as conntrack-tools does for big tables: a large receive buffer */
  nfnl_rcvbufsiz(nfct_nfnlh(h), 4 << 20);
  unsigned long n = 0;
  nfct_callback_register(h, NFCT_T_ALL, count_cb, &n);
  unsigned int family = AF_UNSPEC;
  if (nfct_query(h, NFCT_Q_DUMP, &family) < 0) { perror("nfct_query"); return 1; }
  nfct_close(h);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%lu %.6f\n", n, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
