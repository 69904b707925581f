// The " progname=X" part of conntrack -E's " [USERSPACE] portid=N" tag.
//
// conntrack 1.4.7 treats the event's nlmsg_pid (the netlink port id of the
// socket whose request caused the event) as a process id and prints the
// process's name as /proc/<pid>/comm has it (15 characters at most), or no
// progname when there is no such process (it exited, or the port id was
// not the process's first socket: those are not pids). It reads /proc for
// every event; this reads it once per new port id, and keeps a bounded
// cache (a busy tool that makes many short-lived processes must not grow it
// without end).
import { readFileSync } from 'fs';

/** Resolver from port id to program name, reading /proc once per port id. */
export function prognameCache(max = 4096, read: (pid: number) => string | undefined = readComm): (portid: number) => string | undefined {
  const cache = new Map<number, string | undefined>();
  return (portid: number): string | undefined => {
    if (cache.has(portid)) return cache.get(portid);
    const name = read(portid);
    if (cache.size >= max) cache.delete(cache.keys().next().value as number); // oldest first
    cache.set(portid, name);
    return name;
  };
}

function readComm(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) return undefined; // port ids above that are not pids
  try {
    const s = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
    return s === '' ? undefined : s;
  } catch {
    return undefined;
  }
}
