// One OpenSearch for the whole vitest run: OPENSEARCH_URL when it is set, else the
// embedded engine (built on first use). Test files read the URL from
// process.env.OPENSEARCH_URL: globalSetup runs in the main vitest process before the
// 'forks' pool starts its workers, and the workers inherit its environment
// (test/scripts/opensearch-local/global-setup.test.ts checks that).
// Also rebuilds the CLI bundle first, so tests that run `albatross` run today's sources as users do.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestProject } from 'vitest/node';
import { getOpenSearch } from '../scripts/opensearch-local/engine.ts';
import { SAMPLES_DIR } from '../scripts/samples.ts';

/**
 * ALBATROSS_TEST_CLOCK=<ISO instant>: the run's wall clock starts there (test/fake-clock.mjs), in the
 * workers and in every Node child process they start. The offset is fixed here, once for the run.
 */
function shiftClock(): void {
  const start = process.env.ALBATROSS_TEST_CLOCK;
  if (!start) return;
  const target = Date.parse(start);
  if (Number.isNaN(target)) throw new Error(`ALBATROSS_TEST_CLOCK=${start} is not a date`);
  process.env.ALBATROSS_TEST_CLOCK_OFFSET_MS = String(target - Date.now());
  const preload = `--import=${pathToFileURL(new URL('./fake-clock.mjs', import.meta.url).pathname).href}`;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' ');
  console.log(`albatross tests: wall clock shifted to start at ${new Date(target).toISOString()} (ALBATROSS_TEST_CLOCK)`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-cli.mjs', import.meta.url))], { stdio: 'inherit' });
  shiftClock();
  if (!existsSync(SAMPLES_DIR)) {
    // test/samples.ts: tests over the public samples run only when they are there; the corpus covers the rest.
    console.log(`albatross tests: no public ALB samples at ${SAMPLES_DIR} (set ALBATROSS_SAMPLES_DIR to add them): the tests over them are skipped, the corpus in test/corpus/ is used.`);
  }
  // test/opensearch-mode.ts: an existing cluster (OPENSEARCH_URL) or the embedded engine started here.
  process.env.ALBATROSS_TEST_OPENSEARCH = process.env.OPENSEARCH_URL?.trim() ? 'external' : 'embedded';
  const engine = await getOpenSearch();
  // Fail the run once with a clear reason rather than every test with ECONNREFUSED.
  await fetch(`${engine.url}/`).catch((error: Error) => {
    throw new Error(
      `OpenSearch at ${engine.url} does not answer (${error.cause ?? error.message}). ` +
        'Check OPENSEARCH_URL, or unset it to let the tests start the embedded engine.',
    );
  });
  process.env.OPENSEARCH_URL = engine.url;
  project.provide('opensearchUrl', engine.url);
  return async () => {
    await engine.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    opensearchUrl: string;
  }
}
