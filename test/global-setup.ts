// One OpenSearch for the whole vitest run: OPENSEARCH_URL when it is set, else the
// embedded engine (built on first use). Test files read the URL from
// process.env.OPENSEARCH_URL: globalSetup runs in the main vitest process before the
// 'forks' pool starts its workers, and the workers inherit its environment
// (test/scripts/opensearch-local/global-setup.test.ts checks that).
// Also rebuilds the CLI bundle first, so tests that run `albatross` run today's sources as users do.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { getOpenSearch } from '../scripts/opensearch-local/engine.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-cli.mjs', import.meta.url))], { stdio: 'inherit' });
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
