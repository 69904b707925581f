// Real IPFIX collectors for tests: nfdump's nfcapd and pmacct's nfacctd,
// listening on 127.0.0.1 on a free port, each in its own temp directory.
// Missing binaries fail with the Debian package to install.
import { spawn, execFileSync, type ChildProcess } from 'child_process';
import * as dgram from 'dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const PKG: Record<string, string> = { nfcapd: 'nfdump', nfdump: 'nfdump', nfacctd: 'pmacct' };

export function which(name: string): string {
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin']) {
    const p = path.join(d, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found: install the Debian package "${PKG[name]}" (apt-get install ${PKG[name]})`);
}

/** A UDP port nobody uses right now on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

abstract class Collector {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'ctt-ipfix-'));
  protected proc: ChildProcess | undefined;
  protected log = '';
  port = 0;

  protected async launch(file: string, args: string[], ready: RegExp): Promise<void> {
    this.proc = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.on('data', (d) => (this.log += d));
    this.proc.stderr?.on('data', (d) => (this.log += d));
    const end = Date.now() + 20000;
    while (!ready.test(this.log)) {
      if (this.proc.exitCode !== null || Date.now() > end) throw new Error(`${file} did not start: ${this.log}`);
      await sleep(50);
    }
  }

  /** SIGTERM and wait for the exit (nfcapd writes its file on the way out). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  }

  output(): string {
    return this.log;
  }

  cleanup(): void {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** nfdump's collector: flows go to nfcapd.* files, read back with nfdump -o json. */
export class Nfcapd extends Collector {
  async start(): Promise<void> {
    this.port = await freeUdpPort();
    await this.launch(which('nfcapd'), ['-b', '127.0.0.1', '-p', String(this.port), '-w', this.dir, '-t', '3600'], /Startup nfcapd/);
  }

  /** Every flow record nfcapd stored (after stop()). */
  records(): Record<string, unknown>[] {
    const files = readdirSync(this.dir).filter((f) => /^nfcapd\.\d+$/.test(f));
    const out: Record<string, unknown>[] = [];
    for (const f of files) {
      const text = execFileSync(which('nfdump'), ['-r', path.join(this.dir, f), '-o', 'json'], { encoding: 'utf8' });
      out.push(...(JSON.parse(text.trim() === '' ? '[]' : text) as Record<string, unknown>[]));
    }
    return out;
  }
}

/** pmacct's collector with the print plugin writing JSON lines every second. */
export class Nfacctd extends Collector {
  get file(): string {
    return path.join(this.dir, 'flows.json');
  }

  async start(): Promise<void> {
    this.port = await freeUdpPort();
    const conf = path.join(this.dir, 'nfacctd.conf');
    writeFileSync(conf, [
      'daemonize: false',
      'nfacctd_ip: 127.0.0.1',
      `nfacctd_port: ${this.port}`,
      // flow times from the records, not the arrival time
      'nfacctd_time_new: false',
      'plugins: print',
      'print_output: json',
      `print_output_file: ${this.file}`,
      'print_output_file_append: true',
      'print_refresh_time: 1',
      'aggregate: src_host, dst_host, src_port, dst_port, proto, timestamp_start, timestamp_end, post_nat_src_host, post_nat_dst_host, post_nat_src_port, post_nat_dst_port',
      '',
    ].join('\n'));
    await this.launch(which('nfacctd'), ['-f', conf], /waiting for NetFlow\/IPFIX data/);
  }

  records(): Record<string, unknown>[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
