// `ctrack <command> --help`: what one command does, the flags it takes and
// examples. `ctrack --help` alone prints the whole reference (args.ts).

const FILTERS = `Filter flags (all must match; evaluated in WASM, pushed to the kernel where it can):
  -s, --src <ip[/len]>        original source      -d, --dst <ip[/len]>      original destination
  -r, --reply-src <ip>        reply source         -q, --reply-dst <ip>      reply destination
  --mask-src, --mask-dst <m>  netmask of -s / -d, any (255.0.255.0 too), as in conntrack
  -p, --proto <proto>         tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre or a number
  --sport, --dport <port>     original ports       --reply-port-src, --reply-port-dst <port>
  --icmp-type/-code/-id, --icmpv6-type/-code/-id <n>
  --state <state>             TCP/SCTP/DCCP state  -m, --mark <mark[/mask]>  -u, --status <flags>
  -w, --zone, --orig-zone, --reply-zone <zone>
  -n, --src-nat / -g, --dst-nat / -j, --any-nat [ip[:port]]   NATed entries
  -l, --label <label[,...]>   entries with these labels (connlabel.conf names or bits)
  -f, --family <ipv4|ipv6>    one address family`;

const COMMON = `Common options:
  --netns <name>              the table of a network namespace (name or /proc/PID/ns/net)
  --replay <file>             read a capture (pcap of ctnetlink traffic) instead of the kernel
  -h, --help                  this help`;

/** Help by command flag (short and long spellings). */
const HELP: [string[], string][] = [
  [['-L', '--dump'], `Usage: ctrack -L [table] [filter flags] [-o formats] [options]

List a table: conntrack (default), expect, dying or unconfirmed, in the text
conntrack-tools prints (or -o xml / json). The summary line goes to stderr.
When only stderr is a terminal, progress is shown there while the dump runs.

${FILTERS}

Output: -o extended,id,ktimestamp,labels,xml,json    --explain: print the filter plan and exit
  -z, --zero                  zero the counters of the listed entries (the listing shows them before);
                              not with filter flags, as in conntrack (-f is fine)
  -c, --secmark <secmark>     accepted and ignored, as conntrack 1.4.7 does: the kernel
                              reports no secmark, so every entry is listed

${COMMON}

Examples:
  ctrack -L                                   this host's table (root)
  ctrack -L -p tcp --dport 443 -s 10.0.0.0/8  with filters
  ctrack -L -o extended,id > table.txt        to a file (progress on the terminal)
  ctrack -L expect                            the expectation table
  ctrack -L -p udp --explain                  what the kernel filters, what runs in WASM
  ctrack -L --replay fixtures/demo.pcap -o json   a capture as JSON lines
`],
  [['-D', '--delete'], `Usage: ctrack -D [filter flags] [options]
       ctrack -D expect -p <proto> -s <ip> -d <ip> [--sport --dport | --icmp-*] [options]

Delete every entry the filter flags select (all entries without any), printing
each deleted entry like conntrack -D. Exit 1 when nothing was deleted.
-D expect deletes the expectation whose expected tuple is given; like
conntrack it then says "0 expectations have been shown." and exits 1.

${FILTERS}

Options:
  --netns <name>              the table of a network namespace
  --explain                   print the filter plan and exit (deletes nothing)
  -h, --help                  this help

Examples:
  ctrack -D -p udp -d 192.0.2.53              the UDP flows to one resolver
  ctrack -D -p tcp -s 10.1.0.0/16 --state TIME_WAIT   closed TCP flows of a subnet
  ctrack -D --netns blue -f ipv6              the IPv6 entries of namespace blue
`],
  [['-E', '--event'], `Usage: ctrack -E [conntrack|expect] [-o timestamp,id,xml,json] [options]

Print events (NEW, UPDATE, DESTROY) as they happen, until Ctrl-C, like
conntrack -E. Lost events (kernel buffer overruns) are reported at the end.
The filter flags of -L apply too (in a kernel BPF filter where they can).

  -e, --event-mask <events>   only these: NEW, UPDATES, DESTROY, ALL (comma separated)
  -b, --buffer-size <bytes>   the socket receive buffer (default 128 MiB)
  -c, --secmark <secmark>     accepted and ignored, as conntrack 1.4.7 does
  --write <file>              also record the received datagrams into a pcap capture

${COMMON}

Examples:
  ctrack -E -o timestamp                      with time stamps
  ctrack -E -e NEW,DESTROY -p tcp             TCP flows starting and ending
  ctrack -E expect                            expectation events
  ctrack -E --replay events.pcap -o timestamp   replay captured events
`],
  [['-G', '--get'], `Usage: ctrack -G [expect] -p <proto> -s <ip> -d <ip> [--sport --dport | --icmp-*] [-w zone] [options]

Get one entry by its original tuple. Exit 1 when there is none.
-G expect gets an expectation by its expected tuple (-s -d -p and the ports).

${COMMON}

Examples:
  ctrack -G -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80
  ctrack -G -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 7
  ctrack -G expect -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 0 --dport 51211
`],
  [['-I', '--create'], `Usage: ctrack -I [expect] -p <proto> -s <ip> -d <ip> -t <timeout> [ports] [--state <state>] [-m mark] [-u flags] [options]

Create an entry (the reply tuple is the inverted original unless -r/-q are given).

  --orig-vtag, --reply-vtag <tag>         with -p sctp: the verification tags of each direction

-I expect creates an expectation of an existing connection that has a helper
(the master: -s -d -p --sport --dport, its original tuple):
  --tuple-src, --tuple-dst <ip>           the expected connection's addresses
  --tuple-port-src, --tuple-port-dst <n>  and ports (default 0)
  --mask-src, --mask-dst <ip>             which address bits must match
  --mask-port-src, --mask-port-dst <n>    which port bits must match (default 0: any)
  -t <seconds>                            timeout (a helper's own policy may replace it)

Options:
  --netns <name>              the table of a network namespace
  -h, --help                  this help

Examples:
  ctrack -I -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80 -t 120 --state ESTABLISHED
  ctrack -I -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 53 --dport 53 -t 30 -m 7
  ctrack -I expect -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 21 --tuple-src 10.0.0.2 --tuple-dst 10.0.0.1 --tuple-port-dst 50000 --mask-src 255.255.255.255 --mask-dst 255.255.255.255 --mask-port-dst 65535 -t 60
  ctrack -I -p sctp -s 10.0.0.1 -d 10.0.0.2 --sport 3868 --dport 3868 -t 300 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2
`],
  [['-U', '--update'], `Usage: ctrack -U [filter flags] (-t <timeout> | -m <mark[/mask]> | -u <flags> | --label-add/--label-del <labels>) [options]

Set a new timeout, mark, status or labels on the entries the other filter flags
select, printing each entry as it is afterwards. Exit 1 when none was updated.

  --label-add <label[,...]>   set these labels (connlabel.conf names, or bits 0..127)
  --label-del <label[,...]>   clear these; the other labels of an entry stay as they are
  --labels-file <path>        connlabel.conf (default /etc/xtables/connlabel.conf)

Examples:
  ctrack -U -p tcp --dport 22 -m 1            mark the SSH flows
  ctrack -U -s 10.0.0.1 -t 10                 let one host's flows expire soon
  ctrack -U -s 10.0.0.1 --label-add 3         set label bit 3 on one host's flows
`],
  [['-F', '--flush'], `Usage: ctrack -F [conntrack|expect] [-f ipv4|ipv6] [options]

Delete every entry of the table (with -f: of one family only).

Examples:
  ctrack -F                                   everything (root)
  ctrack -F -f ipv6 --netns blue              the IPv6 entries of namespace blue
  ctrack -F expect                            the expectation table
`],
  [['-S', '--stats'], `Usage: ctrack -S [conntrack|expect] [options]

Per-CPU statistics, like conntrack -S.

${COMMON}

Examples:
  ctrack -S
  ctrack -S expect --replay exp-stats-cpu.pcap
`],
  [['-C', '--count'], `Usage: ctrack -C [conntrack|expect] [options]

The number of entries in the table, like conntrack -C.

${COMMON}

Examples:
  ctrack -C
  ctrack -C --netns blue
`],
];

/**
 * The help of the command `argv` names when it asks for help (`-L --help`),
 * else undefined (then the full reference, or no help at all, applies).
 */
export function commandHelp(argv: readonly string[]): string | undefined {
  if (!argv.includes('-h') && !argv.includes('--help')) return undefined;
  for (const [flags, text] of HELP) if (argv.some((a) => flags.includes(a))) return text;
  return undefined;
}
