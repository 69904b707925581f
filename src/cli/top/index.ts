// `ctrack top`: the live view. One loop refreshes the flow table from the
// source every --interval and redraws; keys change the sort, the filter, the
// selection, pause, or delete the selected flow after a y/n confirmation.
import { ConntrackError } from '../../errors';
import { UsageError } from '../usage';
import { FlowTable, SORT_KEYS, type SortKey, type FlowKey } from './table';
import { LiveSource, ReplaySource, type TopSource } from './source';
import { parseKeys, type Key } from './keys';
import { Screen, type LineStyle, type Terminal } from './screen';
import {
  addrText, footerLine, headerLines, rowText, type ScreenState,
} from './render';
import { filterArgs, filterText, parseTopArgs, TOP_HELP, topFilter, type TopOptions } from './options';
import { protoName } from '../../format/names';
import { errorLine } from '../run';

export interface TopIo {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  err: (line: string) => void;
}

const defaultIo = (): TopIo => ({
  stdout: process.stdout, stdin: process.stdin, err: (l) => process.stderr.write(l + '\n'),
});

/** Runs `ctrack top` with argv after "top". Resolves with the exit code. */
export async function runTop(argv: string[], io: TopIo = defaultIo()): Promise<number> {
  let opts: TopOptions;
  try {
    opts = parseTopArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ctrack: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (opts.help) {
    io.stdout.write(TOP_HELP);
    return 0;
  }
  let source: TopSource;
  try {
    source = await openSource(opts, io);
  } catch (e) {
    io.err(errorLine(e));
    return 1;
  }
  source.setFilter(topFilter(opts.cli), opts.cli.family);
  const app = new TopApp(source, opts, filterText(argv), io);
  try {
    return io.stdout.isTTY && io.stdin.isTTY ? await app.interactive() : await app.snapshot();
  } finally {
    source.close();
  }
}

/** Errors that mean "this kernel table cannot be read here", not a bug. */
function unavailable(e: unknown): boolean {
  return e instanceof ConntrackError && ['ERR_CT_PERMISSION', 'ERR_CT_SYSTEM', 'ERR_CT_KERNEL', 'ERR_CT_TIMEOUT'].includes(e.code);
}

function reason(e: ConntrackError): string {
  if (e.code === 'ERR_CT_PERMISSION') return 'reading it needs root (CAP_NET_ADMIN)';
  return `conntrack is not available in this kernel (${e.message})`;
}

async function openSource(opts: TopOptions, io: TopIo): Promise<TopSource> {
  const { cli } = opts;
  if (cli.replay !== undefined) return ReplaySource.open(cli.replay);
  try {
    return await LiveSource.open(cli.netns);
  } catch (e) {
    if (opts.fallbackReplay === undefined || !unavailable(e)) throw e;
    const where = cli.netns ? `the table of netns ${cli.netns}` : "this host's conntrack table";
    const line = `ctrack top: cannot show ${where}: ${reason(e as ConntrackError)}; showing the bundled capture ${opts.fallbackReplay} instead`;
    io.err(line);
    return ReplaySource.open(opts.fallbackReplay, `replay of ${opts.fallbackReplay} (${reason(e as ConntrackError)})`);
  }
}

type Mode = { kind: 'normal' } | { kind: 'filter'; input: string } | { kind: 'confirm'; key: FlowKey; text: string };

class TopApp {
  private readonly table = new FlowTable();
  private readonly st: ScreenState;
  private mode: Mode = { kind: 'normal' };
  private offset = 0; // first visible row
  private lastRefresh = 0;
  private visible: number[] = [];
  private topCache: { key: string; slots: number[] } | undefined;
  private screen?: Screen;
  private timer?: NodeJS.Timeout;
  private busy = false; // a tick is running
  private again = false; // another tick was asked for meanwhile
  private pendingFilter: string | undefined; // filter text to show once its first refresh runs
  private done?: (code: number) => void;

  constructor(private readonly source: TopSource, private readonly opts: TopOptions, filter: string, private readonly io: TopIo) {
    this.st = {
      label: source.label, intervalSec: opts.interval, sort: 'bytes', ascending: false, filterText: filter,
      paused: false, lost: 0, selected: 0, clock: '',
    };
  }

  /** Not a TTY: one refresh, the top --rows flows by bytes, exit 0. */
  async snapshot(): Promise<number> {
    await this.refresh();
    const cols = 160;
    const slots = this.table.top(this.st.sort, this.st.ascending, this.opts.rows);
    const lines = headerLines(this.table, this.st, cols);
    for (const s of slots) lines.push(rowText(this.table, s, cols).trimEnd());
    if (this.table.size > slots.length) lines.push(`(${this.table.size - slots.length} more flows; ctrack -L lists them all)`);
    this.io.stdout.write(lines.map((l) => l.trimEnd()).join('\n') + '\n');
    return 0;
  }

  async interactive(): Promise<number> {
    const out = this.io.stdout;
    const term: Terminal = {
      get rows() { return out.rows ?? 24; },
      get columns() { return out.columns ?? 80; },
      write: (s) => out.write(s),
    };
    this.screen = new Screen(term);
    const stdin = this.io.stdin;
    const onData = (d: Buffer | string): void => this.onKeys(parseKeys(d.toString()));
    const onResize = (): void => {
      this.screen?.invalidate();
      this.draw();
    };
    const onSignal = (): void => this.quit();
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
    out.on('resize', onResize);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    this.screen.start();
    try {
      return await new Promise<number>((resolve) => {
        this.done = resolve;
        void this.tick();
      });
    } finally {
      if (this.timer) clearTimeout(this.timer);
      this.screen.stop();
      stdin.off('data', onData);
      out.off('resize', onResize);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      stdin.setRawMode(false);
      stdin.pause();
    }
  }

  private quit(code = 0): void {
    const d = this.done;
    this.done = undefined;
    d?.(code);
  }

  /**
   * One refresh and draw, then the next one after --interval. A tick asked
   * for while one runs (a new filter, a delete) runs right after it, so the
   * screen never shows a refresh made with the old filter as the last word.
   */
  private async tick(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        if (this.pendingFilter !== undefined) {
          // the new filter starts from an empty table, after any dump made with the old one
          this.table.clear();
          this.st.filterText = this.pendingFilter;
          this.pendingFilter = undefined;
          this.st.selected = 0;
          this.offset = 0;
        }
        if (!this.st.paused || this.table.size === 0) await this.refresh();
        // a frame made before a new filter took effect is not drawn
        if (!this.again) this.draw();
      } while (this.again);
    } finally {
      this.busy = false;
    }
    if (this.timer) clearTimeout(this.timer);
    if (this.done) this.timer = setTimeout(() => void this.tick(), this.opts.interval * 1000);
  }

  private async refresh(): Promise<void> {
    try {
      const now = Date.now() / 1000;
      await this.source.refresh(this.table, now);
      const s = this.source.takeStats();
      const dt = this.lastRefresh > 0 ? now - this.lastRefresh : 0;
      this.lastRefresh = now;
      this.st.entries = s.entries;
      this.st.max = s.max;
      this.st.lost = s.lost;
      this.st.newPerSec = dt > 0 ? s.newEvents / dt : undefined;
      this.st.destroyedPerSec = dt > 0 ? s.destroyEvents / dt : undefined;
      if (this.st.message?.startsWith('refresh failed')) this.st.message = undefined;
    } catch (e) {
      this.st.message = `refresh failed: ${errorLine(e).replace(/^ctrack: /, '')}`;
    }
    this.st.clock = new Date().toISOString().slice(11, 19) + ' UTC';
  }

  private bodyRows(): number {
    const rows = this.io.stdout.rows ?? 24;
    return Math.max(1, rows - 6 - 1); // header (6 lines with the column header), footer
  }

  private draw(): void {
    if (!this.screen) return;
    const cols = this.io.stdout.columns ?? 80;
    const n = this.bodyRows();
    const size = this.table.size;
    this.st.selected = Math.max(0, Math.min(this.st.selected, size - 1));
    if (this.st.selected < this.offset) this.offset = this.st.selected;
    if (this.st.selected >= this.offset + n) this.offset = this.st.selected - n + 1;
    this.offset = Math.max(0, Math.min(this.offset, Math.max(0, size - n)));
    const slots = this.topSlots(this.offset + n).slice(this.offset);
    this.visible = slots;
    this.st.prompt = this.promptText();
    const header = headerLines(this.table, this.st, cols);
    const lines: [string, LineStyle][] = header.map((l, i): [string, LineStyle] => [
      l, i === 0 ? 'title' : i === header.length - 1 ? 'columns' : i === 4 ? 'message' : 'plain',
    ]);
    slots.forEach((s, i) => lines.push([rowText(this.table, s, cols), this.offset + i === this.st.selected ? 'selected' : 'plain']));
    while (lines.length < (this.io.stdout.rows ?? 24) - 1) lines.push(['', 'plain']);
    lines.push([footerLine(this.st, cols), this.st.prompt ? 'prompt' : 'plain']);
    this.screen.draw(lines);
  }

  /**
   * The first k slots in the current order; cached until the table or the
   * order changes, so moving the selection in a 1M-flow table is not a pass
   * over all flows per key press.
   */
  private topSlots(k: number): number[] {
    const key = `${this.table.version} ${this.st.sort} ${this.st.ascending}`;
    if (this.topCache && this.topCache.key === key && this.topCache.slots.length >= Math.min(k, this.table.size)) {
      return this.topCache.slots.slice(0, k);
    }
    // a little ahead of the screen: the next page down is served from the cache too
    const slots = this.table.top(this.st.sort, this.st.ascending, k + this.bodyRows());
    this.topCache = { key, slots };
    return slots.slice(0, k);
  }

  private promptText(): string | undefined {
    switch (this.mode.kind) {
      case 'filter': return `filter (flags of ctrack -L; Enter applies, Esc cancels, Ctrl-U clears): ${this.mode.input}_`;
      case 'confirm': return `delete ${this.mode.text}? (y/n)`;
      default: return undefined;
    }
  }

  private onKeys(keys: Key[]): void {
    for (const k of keys) {
      if (k.name === 'ctrl-c') return this.quit();
      if (this.mode.kind === 'filter') this.filterKey(k);
      else if (this.mode.kind === 'confirm') this.confirmKey(k);
      else this.normalKey(k);
    }
    this.draw();
  }

  private move(by: number): void {
    this.st.selected = Math.max(0, Math.min(this.table.size - 1, this.st.selected + by));
  }

  private normalKey(k: Key): void {
    const page = this.bodyRows();
    switch (k.name) {
      case 'up': return this.move(-1);
      case 'down': return this.move(1);
      case 'pageup': return this.move(-page);
      case 'pagedown': return this.move(page);
      case 'home': return this.move(-Infinity);
      case 'end': return this.move(Infinity);
      case 'char': break;
      default: return;
    }
    switch (k.ch) {
      case 'q': return this.quit();
      case 'k': return this.move(-1);
      case 'j': return this.move(1);
      case 's': return this.nextSort();
      case 'S':
        this.st.ascending = !this.st.ascending;
        return;
      case 'p':
        this.st.paused = !this.st.paused;
        return;
      case '/':
        this.mode = { kind: 'filter', input: this.st.filterText };
        return;
      case 'd': return this.askDelete();
      default:
    }
  }

  private nextSort(): void {
    const i = SORT_KEYS.indexOf(this.st.sort);
    this.st.sort = SORT_KEYS[(i + 1) % SORT_KEYS.length] as SortKey;
    this.st.ascending = this.st.sort === 'state'; // states read best in kernel order
  }

  private filterKey(k: Key): void {
    if (this.mode.kind !== 'filter') return;
    if (k.name === 'escape') this.mode = { kind: 'normal' };
    else if (k.name === 'backspace') this.mode.input = this.mode.input.slice(0, -1);
    else if (k.name === 'ctrl-u') this.mode.input = '';
    else if (k.name === 'char') this.mode.input += k.ch;
    else if (k.name === 'enter') {
      const text = this.mode.input.trim();
      this.mode = { kind: 'normal' };
      this.applyFilter(text);
    }
  }

  private applyFilter(text: string): void {
    try {
      const cli = filterArgs(text === '' ? [] : text.split(/\s+/), 'filter');
      if (cli.netns !== undefined || cli.replay !== undefined) throw new UsageError('filter: --netns and --replay are set on the command line');
      this.source.setFilter(topFilter(cli), cli.family);
      this.pendingFilter = text;
      this.st.message = undefined;
      void this.tick();
    } catch (e) {
      this.st.message = e instanceof UsageError ? `filter not changed: ${e.message}` : `filter not changed: ${errorLine(e)}`;
    }
  }

  private askDelete(): void {
    if (!this.source.canDelete) {
      this.st.message = 'this is a replayed capture: nothing to delete';
      return;
    }
    const s = this.visible[this.st.selected - this.offset];
    if (s === undefined) {
      this.st.message = 'no flow selected';
      return;
    }
    const key = this.table.flowKey(s, addrText);
    const port = (p?: number): string => (p === undefined ? '' : `:${p}`);
    const text = `${protoName(key.proto)} ${key.src}${port(key.srcPort)} -> ${key.dst}${port(key.dstPort)} (id ${key.id})`;
    this.mode = { kind: 'confirm', key, text };
  }

  private confirmKey(k: Key): void {
    if (this.mode.kind !== 'confirm') return;
    const { key, text } = this.mode;
    if (k.name === 'char' && (k.ch === 'y' || k.ch === 'Y')) {
      this.mode = { kind: 'normal' };
      this.st.message = `deleting ${text} ...`;
      this.source.delete(key).then(
        () => {
          this.st.message = `deleted ${text}`;
          this.table.remove(key);
          void this.tick();
        },
        (e) => {
          this.st.message = e instanceof ConntrackError && e.code === 'ERR_CT_NOT_FOUND'
            ? `${text} was already gone` : `delete failed: ${errorLine(e).replace(/^ctrack: /, '')}`;
          this.draw();
        },
      );
    } else if ((k.name === 'char' && (k.ch === 'n' || k.ch === 'N' || k.ch === 'q')) || k.name === 'escape') {
      this.mode = { kind: 'normal' };
      this.st.message = 'nothing deleted';
    }
  }
}
