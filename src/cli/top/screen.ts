// A tiny full-screen renderer over ANSI escape codes: alternate screen,
// hidden cursor, and per-line diffing so a refresh rewrites only the lines
// that changed (a 1 s refresh of a quiet table writes almost nothing).
// ink was considered: ink 4+ is ESM-only (this package is CommonJS on
// Node 20, where require() of ESM is not available) and pulls in React,
// a lot for one screen of text.

/** How a line is drawn. */
export type LineStyle = 'plain' | 'title' | 'columns' | 'selected' | 'message' | 'prompt';

const STYLE: Record<LineStyle, string> = {
  plain: '',
  title: '\x1b[7m', // reverse
  columns: '\x1b[1;4m', // bold, underlined
  selected: '\x1b[7m',
  message: '\x1b[33m', // yellow
  prompt: '\x1b[1m',
};

export interface Terminal {
  readonly rows: number;
  readonly columns: number;
  write(s: string): void;
}

export class Screen {
  private prev: string[] = [];
  private started = false;

  constructor(private readonly term: Terminal) {}

  start(): void {
    this.started = true;
    this.term.write('\x1b[?1049h\x1b[?25l\x1b[2J');
  }

  /** Restores the normal screen and cursor; idempotent. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.term.write('\x1b[0m\x1b[?25h\x1b[?1049l');
  }

  /** Forget what is on screen (after a resize): the next draw writes every line. */
  invalidate(): void {
    this.prev = [];
    this.term.write('\x1b[2J');
  }

  /** Draw `lines` (already cut to the width) with their styles; blank the rest. */
  draw(lines: [string, LineStyle][]): void {
    const rows = this.term.rows;
    const cols = this.term.columns;
    let out = '';
    for (let r = 0; r < rows; r++) {
      const [text, style] = lines[r] ?? ['', 'plain'];
      const padded = style === 'title' || style === 'selected' ? text.padEnd(cols) : text;
      const key = style + '\0' + padded;
      if (this.prev[r] === key) continue;
      this.prev[r] = key;
      out += `\x1b[${r + 1};1H` + STYLE[style] + padded.slice(0, cols) + '\x1b[0m\x1b[K';
    }
    this.prev.length = rows;
    if (out !== '') this.term.write(out);
  }
}
