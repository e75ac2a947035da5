// Whether the engine takes writes into <prefix>-* (one or more index families) right now: the cluster
// is not red and no write block sits on the cluster or on those indices (a flood-stage disk block, an operator's
// read-only setting). The replay runs only then: during an outage it would only send the
// documents back to where they are.
import type { Client } from '@opensearch-project/opensearch';

export type DomainHealth = { writable: true; status: string } | { writable: false; reason: string };

interface Block { description?: string; levels?: string[] }
interface BlocksState { blocks?: { global?: Record<string, Block>; indices?: Record<string, Record<string, Block>> } }

export async function checkDomainHealth(client: Client, indexPrefixes: string | readonly string[]): Promise<DomainHealth> {
  const health = await client.transport.request({ method: 'GET', path: '/_cluster/health' });
  const status = String((health.body as { status?: unknown }).status);
  if (status === 'red') return { writable: false, reason: 'cluster status red' };
  const prefixes = [indexPrefixes].flat();
  const patterns = prefixes.map((prefix) => encodeURIComponent(`${prefix}-*`)).join(',');
  const state = await client.transport.request({ method: 'GET', path: `/_cluster/state/blocks/${patterns}` });
  // The engine answers the blocks of every index whatever the index pattern: keep those of our families.
  const ours = (index: string) => prefixes.some((prefix) => index.startsWith(`${prefix}-`));
  const { blocks } = state.body as BlocksState;
  const writeBlocks = (where: string, found: Record<string, Block> = {}) =>
    Object.values(found).filter((b) => b.levels?.includes('write')).map((b) => `${where}: ${b.description ?? 'write block'}`);
  const blocked = [
    ...writeBlocks('cluster', blocks?.global),
    ...Object.entries(blocks?.indices ?? {}).filter(([index]) => ours(index)).flatMap(([index, found]) => writeBlocks(index, found)),
  ];
  if (blocked.length > 0) return { writable: false, reason: `writes blocked (${blocked.join('; ')})` };
  return { writable: true, status };
}
