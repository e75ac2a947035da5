// `albatross opensearch` as a user runs it: a separate process printing the URL,
// stopped by Ctrl-C (SIGINT) or killed outright; no JVM may survive either way.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, expect, test } from 'vitest';
import { pollUntil } from '../../poll.ts';
import { startCli as spawnCli } from '../../cli.ts';
import { describeEmbedded } from '../../opensearch-mode.ts';
import { isRunning, waitUntilGone } from '../opensearch-local/process-state.ts';

// Each JVM start takes 5-30 s on a busy 2-core machine, beyond vitest's default test timeout.
const JVM_TEST_TIMEOUT_MS = 180_000;
const running: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts the command and resolves with its URL (stdout) and its JVM's pid and home (stderr). */
async function startCli(): Promise<{ cli: ChildProcessWithoutNullStreams; url: string; javaPid: number; home: string }> {
  const cli = spawnCli(['opensearch']);
  running.push(cli);
  let stderr = '';
  cli.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: cli.stdout });
  const [url] = (await Promise.race([
    once(lines, 'line'),
    once(cli, 'exit').then(() => {
      throw new Error(`albatross opensearch exited early:\n${stderr}`);
    }),
  ])) as [string];
  // The ready message follows the URL on stderr.
  const [, javaPid, home] = await pollUntil('the ready message (java pid) on stderr', () => /java pid (\d+), data in ([^,)]+)/.exec(stderr) ?? undefined,
    { timeoutMs: 30_000, intervalMs: 50 });
  return { cli, url, javaPid: Number(javaPid), home: home! };
}

describeEmbedded('albatross opensearch', 'starts its own embedded engines (Java)', () => {
  test('prints a URL where OpenSearch 2.19 answers, and Ctrl-C stops it cleanly', async () => {
    const { cli, url, javaPid, home } = await startCli();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const root = (await (await fetch(`${url}/`)).json()) as { version: { number: string } };
    expect(root.version.number).toMatch(/^2\.19\.\d+$/);
    expect(isRunning(javaPid)).toBe(true);

    const exit = once(cli, 'exit');
    cli.kill('SIGINT');
    const [code] = await exit;
    expect(code).toBe(0);
    expect(isRunning(javaPid)).toBe(false);
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
  }, JVM_TEST_TIMEOUT_MS);

  test('killing the command outright (SIGKILL) still ends its JVM and removes the data directory', async () => {
    const { cli, javaPid, home } = await startCli();
    cli.kill('SIGKILL');
    await once(cli, 'exit');
    // The launcher exits when its stdin (our pipe) reaches end-of-file, closing the node first.
    expect(await waitUntilGone(javaPid, 40_000)).toBe(true);
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
  }, JVM_TEST_TIMEOUT_MS);
});
