/** Runs the tapgate CLI from source as a child process, as a user would. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '../..');
export const corpusDir = join(repoRoot, '../shared/corpus');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { stdin?: Buffer; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli.ts'), ...args],
      {
        cwd: repoRoot,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.stdin.end(opts.stdin);
  });
}

export interface RunningCli {
  pid: number;
  /** Resolves when stderr has printed a line matching `re` (rejects when the process ends first). */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

/**
 * Starts the CLI and returns at once: for long-running commands (live capture). `compiled` runs
 * dist/ (built by `npm test`) as a deployment does: no on-the-fly TypeScript compilation stalling a
 * capture worker when it first loads a module (which a test about drops must not measure).
 */
export function startCli(
  args: string[],
  opts: { timeoutMs?: number; compiled?: boolean } = {},
): RunningCli {
  const entry = opts.compiled
    ? [join(repoRoot, 'dist/cli.js')]
    : ['--import', 'tsx', join(repoRoot, 'src/cli.ts')];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of listeners) l();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const l of listeners) l();
      resolve({ code, signal, stdout, stderr });
    });
  });
  let exited = false;
  void done.then(() => (exited = true));
  return {
    pid: child.pid ?? -1,
    done,
    kill: (signal) => child.kill(signal),
    waitForStderr: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timeout waiting for ${String(re)}; stderr:\n${stderr}`));
        }, timeoutMs);
        const check = (): void => {
          if (re.test(stderr)) {
            clearTimeout(t);
            listeners.delete(check);
            resolve();
          } else if (exited || child.exitCode !== null) {
            clearTimeout(t);
            listeners.delete(check);
            reject(new Error(`process ended before ${String(re)}; stderr:\n${stderr}`));
          }
        };
        listeners.add(check);
        check();
      }),
  };
}
