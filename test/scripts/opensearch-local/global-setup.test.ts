import { expect, inject, test } from 'vitest';
import { EMBEDDED_ENGINE } from '../../opensearch-mode.ts';

test('the engine URL from test/global-setup.ts reaches this worker through process.env', async () => {
  const url = process.env.OPENSEARCH_URL;
  expect(url).toMatch(/^https?:\/\/[^/]+$/);
  expect(url).toBe(inject('opensearchUrl'));
  const response = await fetch(`${url}/`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { version: { distribution?: string; number: string } };
  // The embedded engine is 2.19; OPENSEARCH_URL may name any OpenSearch 2.x.
  expect(body.version.number).toMatch(EMBEDDED_ENGINE ? /^2\.19\.\d+$/ : /^2\.\d+\.\d+$/);
});
