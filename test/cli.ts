// The `albatross` CLI as a user runs it: a child process of `node scripts/albatross.mjs`, wherever
// the tests run from. One runner for every CLI test.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../scripts/albatross.mjs', import.meta.url));

export interface CliOptions {
  /** Variables to add (undefined removes one) on top of process.env. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. */
  input?: Buffer | string;
  /** Killed (SIGKILL) and reported as such after this long. */
  timeoutMs?: number;
  /** Another entry point to run (e.g. a copy of the checkout), instead of CLI. */
  entry?: string;
}

export interface CliResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function environment(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

/** Starts `albatross <args>` with piped stdio, for tests that signal it or read it as it runs. */
export function startCli(args: string[], options: Pick<CliOptions, 'env' | 'entry'> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [options.entry ?? CLI, ...args], { env: environment(options.env), stdio: 'pipe' });
}

/** Collects a started CLI's output until it exits. */
export function finished(child: ChildProcessWithoutNullStreams, timeoutMs = 120_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`albatross ${child.spawnargs.slice(2).join(' ')} did not finish within ${timeoutMs / 1000} s\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `albatross <args>` to the end; never rejects on a non-zero exit (the result says it). */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = startCli(args, options);
  const result = finished(child, options.timeoutMs);
  child.stdin.end(options.input);
  return result;
}

/** The JSON object a `--json` command prints on its last stdout line. */
export function lastJsonLine(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, any>;
}
