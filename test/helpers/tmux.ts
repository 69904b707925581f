// A program on a detached tmux screen of fixed size: send keys, read the
// screen, wait for text to appear. Session names carry the pid so parallel
// runs never meet; kill() in afterAll/finally.
import { execFileSync } from 'child_process';
import { tool } from './netns';

let counter = 0;

// A tmux server of our own (-L socket, no config file): other tmux users on
// the machine and their options never meet our sessions.
const SERVER = ['-L', `ctt-top-${process.pid}`, '-f', '/dev/null'];

function tmux(args: string[], encoding?: 'utf8'): string {
  return execFileSync(tool('tmux'), [...SERVER, ...args], { encoding, stdio: ['ignore', 'pipe', 'pipe'] }) as unknown as string;
}

export class TmuxScreen {
  readonly name: string;
  private alive = true;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Start `argv` in a new session `cols` x `rows`. After the program ends the
   * pane shows "EXITED rc=<code>" and stays open for screen() to read.
   */
  static start(argv: string[], cols = 160, rows = 30): TmuxScreen {
    const s = new TmuxScreen(`ctt-top-${process.pid}-${++counter}`);
    const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') + '; echo "EXITED rc=$?"; sleep 600';
    tmux(['new-session', '-d', '-s', s.name, '-x', String(cols), '-y', String(rows), cmd]);
    return s;
  }

  /** The visible screen as text lines. */
  screen(): string {
    return tmux(['capture-pane', '-p', '-t', s(this)], 'utf8');
  }

  /** Keys in tmux send-keys syntax ('q', 'Enter', 'Escape', 'Up'); -l sends text literally. */
  keys(...keys: string[]): void {
    tmux(['send-keys', '-t', s(this), ...keys]);
  }

  text(literal: string): void {
    tmux(['send-keys', '-t', s(this), '-l', '--', literal]);
  }

  /** Poll the screen until `ok` holds (default 30 s: the machine may be loaded); fails with the last screen. */
  async waitFor(ok: (screen: string) => boolean, what: string, timeoutMs = 30000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = this.screen();
      if (ok(last)) return last;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen was:\n${last}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    try {
      tmux(['kill-session', '-t', this.name]);
    } catch {
      // already gone
    }
  }
}

function s(t: TmuxScreen): string {
  return `${t.name}:0.0`;
}
