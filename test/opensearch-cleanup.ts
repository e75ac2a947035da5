// Test clean-up for the shared engine: a test's indices and the templates it installed.
import type { Client } from '@opensearch-project/opensearch';
import { names } from '../templates/render.ts';

export async function removeIndicesAndTemplates(client: Client, prefix: string): Promise<void> {
  const n = names(prefix);
  const ignore = { ignore: [404] };
  await client.indices.delete({ index: n.indexPattern }, ignore);
  await client.indices.deleteIndexTemplate({ name: n.indexTemplate }, ignore);
  for (const name of [n.settingsComponent, n.mappingsComponent]) await client.cluster.deleteComponentTemplate({ name }, ignore);
}
