/**
 * Child processes of the chat benchmark: spawn Node scripts with piped stdio, hand each
 * stdout line to a callback with the time it was read, keep a stderr tail for errors,
 * read RSS and CPU time from /proc, and kill every child on exit, error or signal.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';

const running = new Set<ChildProcessWithoutNullStreams>();
const STDERR_TAIL = 20;
const CLOCK_TICKS_PER_SECOND = 100;

export interface ChildOptions {
  /** Node flags before the script, e.g. --cpu-prof. */
  nodeFlags?: string[];
  script: string;
  args: string[];
  cwd: string;
  /** Called for every stdout line, with performance.now() when it was read. */
  onLine: (line: string, at: number) => void;
}

export class Child {
  readonly label: string;
  readonly proc: ChildProcessWithoutNullStreams;
  /** performance.now() just before spawn. */
  readonly spawnedAt: number;
  readonly stderrTail: string[] = [];
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>;
  exitCode: number | null | undefined;

  constructor(label: string, options: ChildOptions) {
    this.label = label;
    this.spawnedAt = performance.now();
    this.proc = spawn(process.execPath, [...(options.nodeFlags ?? []), options.script, ...options.args], {
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe']
    });
    running.add(this.proc);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => {
      running.delete(this.proc);
      this.exitCode = code;
      resolve({ code, signal });
    }));
    // A child that exits first must not make our writes to its stdin throw.
    this.proc.stdin.on('error', () => undefined);
    createInterface({ input: this.proc.stdout }).on('line', (line) => options.onLine(line, performance.now()));
    createInterface({ input: this.proc.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
    });
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.label} has no pid`);
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  write(text: string): void {
    if (this.alive) this.proc.stdin.write(text);
  }

  /** Resident set size in MB, from /proc; undefined once the process is gone. */
  rssMb(): number | undefined {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** User + system CPU time used so far, in ms (10 ms resolution). */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** Asks the child to stop (SIGTERM: graceful, writes --cpu-prof), then SIGKILLs it after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  describeFailure(): string {
    return `${this.label} (pid ${this.proc.pid}, exit ${String(this.exitCode)}); stderr tail:\n${this.stderrTail.join('\n')}`;
  }
}

export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busy: number, total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** SIGKILLs every child still running. Synchronous, so it also works in an 'exit' handler. */
export function killAllNow(): void {
  for (const child of running) child.kill('SIGKILL');
}

export function runningCount(): number {
  return running.size;
}
