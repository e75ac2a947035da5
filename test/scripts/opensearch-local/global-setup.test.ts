import { expect, inject, test } from 'vitest';

test('the engine URL from test/global-setup.ts reaches this worker through process.env', async () => {
  const url = process.env.OPENSEARCH_URL;
  expect(url).toMatch(/^https?:\/\/[^/]+$/);
  expect(url).toBe(inject('opensearchUrl'));
  const response = await fetch(`${url}/`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { version: { distribution?: string; number: string } };
  expect(body.version.number).toMatch(/^2\.19\.\d+$/);
});
