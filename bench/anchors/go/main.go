// Go anchor: vishvananda/netlink (Debian golang-github-vishvananda-netlink-dev),
// built offline in GOPATH mode by bench/anchors/build.js.
//
//	ctgo decode FILE WARMUP PASSES
//	    the package's conntrack parser (parseRawData, what ConntrackTableList
//	    runs per message; reached through a one-line exported shim) over the
//	    datagrams of FILE ([u32 LE length][datagram]...), messages split with
//	    syscall.ParseNetlinkMessage as the package's Execute() does. One line per
//	    timed pass: "<messages> <seconds> <mallocs> <bytesAllocated> <srcsum> <cpuSeconds>"
//	    (CPU time of the process, all threads: getrusage)
//	ctgo dump
//	    netlink.ConntrackTableList(ConntrackTable, FAMILY_ALL) in the current
//	    namespace (run under ip netns exec). Prints "<entries> <seconds>".
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

func readDatagrams(file string) [][]byte {
	raw, err := os.ReadFile(file)
	if err != nil {
		panic(err)
	}
	var out [][]byte
	for p := 0; p+4 <= len(raw); {
		n := int(binary.LittleEndian.Uint32(raw[p:]))
		p += 4
		out = append(out, raw[p:p+n])
		p += n
	}
	return out
}

var keep *netlink.ConntrackFlow

func pass(dgrams [][]byte) (n int, srcsum uint32) {
	for _, d := range dgrams {
		msgs, err := syscall.ParseNetlinkMessage(d)
		if err != nil {
			panic(err)
		}
		for _, m := range msgs {
			if m.Header.Type == syscall.NLMSG_DONE || m.Header.Type == syscall.NLMSG_ERROR {
				continue
			}
			f := netlink.BenchParseRawData(m.Data)
			n++
			if ip4 := f.Forward.SrcIP.To4(); ip4 != nil {
				srcsum += binary.BigEndian.Uint32(ip4)
			}
			keep = f
		}
	}
	return
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "dump" {
		t0 := time.Now()
		flows, err := netlink.ConntrackTableList(netlink.ConntrackTable, netlink.FAMILY_ALL)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%d %.6f\n", len(flows), time.Since(t0).Seconds())
		return
	}
	if len(os.Args) != 5 || os.Args[1] != "decode" {
		fmt.Fprintln(os.Stderr, "usage: ctgo decode FILE WARMUP PASSES | ctgo dump")
		os.Exit(2)
	}
	dgrams := readDatagrams(os.Args[2])
	warm, _ := strconv.Atoi(os.Args[3])
	passes, _ := strconv.Atoi(os.Args[4])
	for i := 0; i < warm; i++ {
		pass(dgrams)
	}
	cpu := func() float64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	var a, b runtime.MemStats
	for i := 0; i < passes; i++ {
		runtime.GC()
		runtime.ReadMemStats(&a)
		c0, t0 := cpu(), time.Now()
		n, src := pass(dgrams)
		s, c := time.Since(t0).Seconds(), cpu()-c0
		runtime.ReadMemStats(&b)
		fmt.Printf("%d %.9f %d %d %d %.9f\n", n, s, b.Mallocs-a.Mallocs, b.TotalAlloc-a.TotalAlloc, src, c)
	}
}
