// The `albatross` entry point as a user runs it (a child process): argument errors and failures a
// command does not explain itself end in one readable line and exit code 1, never a stack trace.
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.ts';
import { cycleAccessLines } from '../corpus.ts';

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

  it('runs the bundle built from today\'s sources (test/global-setup.ts builds it), with every command in its help', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe(''); // no "running the sources through tsx" hint
    for (const command of ['opensearch', 'parse', 'setup-templates', 'generate', 'demo', 'backfill', 'bench']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('without a bundle (npm ci --ignore-scripts), runs the sources through tsx after a one-line hint, with the same output', async () => {
    // a checkout without dist/: the sources the CLI needs, and the same node_modules
    const checkout = path.join(work, 'checkout');
    const skip = new Set(['target', 'node_modules', 'dist']);
    for (const folder of ['scripts', 'transform', 'templates']) {
      await cp(folder, path.join(checkout, folder), { recursive: true, filter: (source) => !skip.has(path.basename(source)) });
    }
    await cp('package.json', path.join(checkout, 'package.json'));
    await symlink(path.resolve('node_modules'), path.join(checkout, 'node_modules'));
    const input = path.join(work, 'lines.log');
    await writeFile(input, `${cycleAccessLines(7).join('\n')}\n`);

    const fromSources = await runCli(['parse', input], { entry: path.join(checkout, 'scripts', 'albatross.mjs') });
    const fromBundle = await runCli(['parse', input]);
    expect(fromSources.stderr.split('\n')[0]).toBe('albatross: the CLI bundle (dist/cli) is missing; running the sources through tsx (slower start). `npm run build` rebuilds it.');
    expect(fromSources.code).toBe(0);
    expect(fromSources.stdout).toMatch(/^\{"@timestamp":/);
    expect(fromSources.stdout).toBe(fromBundle.stdout);
    expect(fromBundle.stderr).toMatch(/^albatross parse: 7 lines, 7 documents/);
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
