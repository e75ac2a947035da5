// Which OpenSearch the run uses: the embedded engine test/global-setup.ts started, or an existing
// cluster the user named in OPENSEARCH_URL (any OpenSearch 2.x). A few tests need the embedded
// engine's specifics (its JVM, version 2.19, no ISM or security plugin); against another cluster they
// are not run, and each says why in one line.
import { describe, it, type TestFunction } from 'vitest';

/** True when the tests run against the embedded engine (set by test/global-setup.ts). */
export const EMBEDDED_ENGINE = process.env.ALBATROSS_TEST_OPENSEARCH !== 'external';

function notRun(name: string, why: string): string {
  const line = `${name} [not run with OPENSEARCH_URL: ${why}]`;
  console.log(`albatross tests: not run with OPENSEARCH_URL: ${name}: ${why}`);
  return line;
}

/** `it` for a test that needs the embedded engine; `why` is the one line shown when it is not run. */
export function itEmbedded(name: string, why: string, fn: TestFunction, timeout?: number): void {
  if (EMBEDDED_ENGINE) it(name, fn, timeout);
  else it.skip(notRun(name, why), fn);
}

/** `describe` for a file or group of tests that need the embedded engine. */
export function describeEmbedded(name: string, why: string, fn: () => void): void {
  if (EMBEDDED_ENGINE) describe(name, fn);
  else describe.skip(notRun(name, why), fn);
}
