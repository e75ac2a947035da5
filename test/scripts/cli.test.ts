// The `albatross` entry point as a user runs it (a child process): argument errors and failures a
// command does not explain itself end in one readable line and exit code 1, never a stack trace.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
let work: string;

async function albatross(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('node', ['scripts/albatross.mjs', ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'albatross-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('albatross', () => {
  it('an unexpected failure is one line naming the command, with the stack only on request', async () => {
    const file = path.join(work, 'a-file');
    await writeFile(file, 'not a folder');
    const failed = await albatross(['generate', '--out', file, '--lines', '5'], { ALBATROSS_DEBUG: undefined });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^albatross generate failed: ENOTDIR: not a directory, mkdir '.*a-file\/AWSLogs\//);
    expect(failed.stderr).not.toMatch(/^\s+at /m);
    const debug = await albatross(['generate', '--out', file, '--lines', '5'], { ALBATROSS_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^\s+at .*generator\.ts/m);
  }, 60_000);

  it('backfill refuses a source it cannot read before it starts', async () => {
    for (const [source, reason] of [
      ['s3://', 'must be s3://bucket/prefix with a valid bucket name, or a folder'],
      [path.join(work, 'missing'), 'no such folder'],
    ] as const) {
      const result = await albatross(['backfill', source, '--endpoint', 'http://127.0.0.1:1']);
      expect(result.code, source).toBe(1);
      expect(result.stderr).toContain(`error: command-argument value '${source}' is invalid for argument 'source'. ${reason}`);
      expect(result.stderr).not.toContain('Backfilling');
    }
  }, 60_000);
});
