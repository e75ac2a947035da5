// An engine outage for the local pipeline, caused by the engine itself: the flood-stage write block
// (`index.blocks.read_only_allow_delete`) on the <prefix>-* indices, the block OpenSearch sets when
// a disk fills up and the commonest reason a domain stops taking writes (CloudWatch's
// ClusterIndexWritesBlocked). Every `_bulk` item into those indices is then refused with 429
// cluster_block_exception, exactly as on a full domain, until the block is cleared. Index-level,
// not cluster-wide, so other users of a shared engine (parallel tests) are not affected.
import type { Client } from '@opensearch-project/opensearch';

const BLOCK = 'index.blocks.read_only_allow_delete';

export interface EngineOutage {
  /** Resolves when the block has been cleared again. */
  readonly ended: Promise<void>;
  /** When the block was set (ms since the epoch). */
  readonly startedAt: number;
  /** Ends the outage now (a failed run must not leave the indices blocked). */
  stop(): Promise<void>;
}

/** Blocks writes to `<indexPrefix>-*` for `durationMs`, then clears the block. */
export async function startEngineOutage(client: Client, indexPrefix: string, durationMs: number): Promise<EngineOutage> {
  const index = `${indexPrefix}-*`;
  await client.indices.putSettings({ index, body: { [BLOCK]: true } });
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let wake = () => undefined as void;
  const ended = new Promise<void>((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, durationMs);
  }).then(() => endEngineOutage(client, indexPrefix));
  return {
    ended,
    startedAt,
    stop: async () => {
      clearTimeout(timer);
      wake();
      await ended;
    },
  };
}

/** Clears the block (also on indices created while it was set: they never had it). */
export async function endEngineOutage(client: Client, indexPrefix: string): Promise<void> {
  await client.indices.putSettings({ index: `${indexPrefix}-*`, body: { [BLOCK]: null } });
}
