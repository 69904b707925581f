// Progress of long CLI work (-L dumping, -D deleting, -F, reading a capture)
// on stderr: one line redrawn in place at most 10 times a second, erased at
// the end. Only when stderr is a terminal: piped or redirected output never
// gets progress text, so scripts and the conntrack-tools oracle comparisons
// see exactly the same bytes as before. Nor when stdout is the same terminal:
// the entries scrolling by are the progress, and a status line would be cut
// into them.

export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

/** Minimum time between two redraws (10 Hz). */
export const PROGRESS_INTERVAL_MS = 100;

export class Progress {
  private count = 0;
  private last = 0;
  private shown = false;
  private readonly started = Date.now();

  /**
   * @param label what is being done ("-L: dumping")
   * @param unit what is counted ("entries")
   * @param stream stderr (or a stand-in for tests)
   */
  readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly unit: string,
    private readonly stream: ProgressStream | undefined = process.stderr,
    stdoutIsTTY: boolean = process.stdout.isTTY === true,
  ) {
    this.enabled = stream?.isTTY === true && !stdoutIsTTY;
    // first draw right away: slow kernels make the wait before the first entry the longest
    if (this.enabled) this.draw();
  }

  /** Count `n` more units; redraws when 100 ms have passed. Cheap enough per entry. */
  add(n = 1): void {
    this.count += n;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last >= PROGRESS_INTERVAL_MS) this.draw(now);
  }

  private draw(now = Date.now()): void {
    this.last = now;
    const secs = ((now - this.started) / 1000).toFixed(1);
    const counted = this.unit === '' ? '' : `: ${this.count} ${this.unit}`;
    (this.stream as ProgressStream).write(`\r\x1b[K${this.label}${counted} (${secs} s)`);
    this.shown = true;
  }

  /** Erase the line (call before printing the summary); idempotent. */
  done(): void {
    if (this.shown) (this.stream as ProgressStream).write('\r\x1b[K');
    this.shown = false;
  }
}

/** A Progress on stderr for `label` (unit '' for no count); draws nothing unless only stderr is a terminal. */
export function progress(label: string, unit: string): Progress {
  return new Progress(label, unit);
}
