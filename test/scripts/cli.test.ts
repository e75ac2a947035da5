// The `albatross` entry point as a user runs it (a child process): argument errors and failures a
// command does not explain itself end in one readable line and exit code 1, never a stack trace.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.ts';

let work: string;


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
    const failed = await runCli(['generate', '--out', file, '--lines', '5'], { env: { ALBATROSS_DEBUG: undefined } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^albatross generate failed: ENOTDIR: not a directory, mkdir '.*a-file\/AWSLogs\//);
    expect(failed.stderr).not.toMatch(/^\s+at /m);
    const debug = await runCli(['generate', '--out', file, '--lines', '5'], { env: { ALBATROSS_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^\s+at .*generator\.ts/m);
  }, 60_000);

  it('backfill refuses a source it cannot read before it starts', async () => {
    for (const [source, reason] of [
      ['s3://', 'must be s3://bucket/prefix with a valid bucket name, or a folder'],
      [path.join(work, 'missing'), 'no such folder'],
    ] as const) {
      const result = await runCli(['backfill', source, '--endpoint', 'http://127.0.0.1:1']);
      expect(result.code, source).toBe(1);
      expect(result.stderr).toContain(`error: command-argument value '${source}' is invalid for argument 'source'. ${reason}`);
      expect(result.stderr).not.toContain('Backfilling');
    }
  }, 60_000);
});
