#!/usr/bin/env python3
"""Full-dump anchor: pyroute2 (Debian python3-pyroute2) listing the conntrack
table, counting entries. Run inside the namespace: ip netns exec NS python3 pyroute2_dump.py
Prints "<entries> <seconds>"."""
import time

from pyroute2 import NFCTSocket

t0 = time.monotonic()
s = NFCTSocket()
n = 0
for _msg in s.dump():
    n += 1
s.close()
print(n, "%.6f" % (time.monotonic() - t0))
