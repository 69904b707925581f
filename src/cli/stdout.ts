// Writes the WASM text region (src/format/fast.ts) to stdout without copying
// it. A fresh Buffer per 2 MiB chunk costs ~10 ms here (page faults of the
// new allocation), more than formatting the chunk, so the bytes go to fd 1
// with fs.writeSync while nothing is queued on process.stdout: stdout to a
// file or /dev/null is synchronous in Node anyway, and pipes/TTYs are
// blocking on Linux. Only when a write would block (a non-blocking pipe,
// EAGAIN) does the rest go through process.stdout.write as a copy, and
// everything after it too, so the order is kept.
import { writeSync } from 'fs';

/** Writes `b` (reused by the caller after return) to stdout, in order with process.stdout writes. */
export function writeStdoutBytes(b: Uint8Array): void {
  if (process.stdout.writableLength === 0) {
    let off = 0;
    try {
      while (off < b.length) off += writeSync(1, b, off, b.length - off);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a closed pipe (ctrack -L | head) ends quietly, like the stream handler in ctrack.ts
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') throw e;
    }
    b = b.subarray(off);
  }
  process.stdout.write(Buffer.from(b));
}
