// The embedded engine's own life cycle: these tests start their own JVMs (not the
// shared one from test/global-setup.ts) to check start, settings, stop and clean-up.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { getOpenSearch, startOpenSearch, type EmbeddedEngine } from '../../../scripts/opensearch-local/engine.ts';
import { itEmbedded } from '../../opensearch-mode.ts';
import { isRunning } from './process-state.ts';

// Each JVM start takes 5-30 s on a busy 2-core machine, beyond vitest's default test timeout.
const JVM_TEST_TIMEOUT_MS = 240_000;
const started: EmbeddedEngine[] = [];
async function start(options?: Parameters<typeof startOpenSearch>[0]): Promise<EmbeddedEngine> {
  const engine = await startOpenSearch(options);
  started.push(engine);
  return engine;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((engine) => engine.stop()));
});

async function json(url: string, init?: RequestInit): Promise<any> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

describe('startOpenSearch', () => {
  itEmbedded('runs OpenSearch 2.19 on loopback, single node with replicas 0 and no disk threshold, and stop() ends the JVM', 'starts its own embedded engine (Java)', async () => {
    const engine = await start();
    expect(engine.embedded).toBe(true);
    expect(engine.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(isRunning(engine.pid)).toBe(true);

    const root = await json(`${engine.url}/`);
    expect(root.version.distribution).toBe('opensearch');
    expect(root.version.number).toMatch(/^2\.19\.\d+$/);

    const settings = await json(`${engine.url}/_cluster/settings?include_defaults=true&flat_settings=true`);
    expect(settings.persistent['cluster.default_number_of_replicas']).toBe('0');
    const nodes = await json(`${engine.url}/_nodes/settings?flat_settings=true`);
    const [nodeSettings] = Object.values(nodes.nodes) as Array<{ settings: Record<string, unknown> }>;
    expect(nodeSettings!.settings['cluster.routing.allocation.disk.threshold_enabled']).toBe('false');
    expect(nodeSettings!.settings['network.host']).toBe('127.0.0.1');

    // A new index gets no replica, so a single node is green, not yellow.
    await json(`${engine.url}/replicas-check`, { method: 'PUT', body: '{}' });
    const health = await json(`${engine.url}/_cluster/health/replicas-check?wait_for_status=green&timeout=20s`);
    expect(health.status).toBe('green');
    const index = await json(`${engine.url}/replicas-check/_settings`);
    expect(index['replicas-check'].settings.index.number_of_replicas).toBe('0');

    const plugins: Array<{ component: string }> = await json(`${engine.url}/_cat/plugins?format=json`);
    expect(plugins.map((plugin) => plugin.component).sort()).toEqual([
      'org.opensearch.analysis.common.CommonAnalysisPlugin',
      'org.opensearch.geo.GeoModulePlugin',
      'org.opensearch.index.mapper.MapperExtrasPlugin',
      'org.opensearch.index.reindex.ReindexPlugin',
      'org.opensearch.painless.PainlessPlugin',
      'org.opensearch.transport.Netty4Plugin',
    ]);

    await engine.stop();
    expect(isRunning(engine.pid)).toBe(false);
    await expect(stat(engine.home)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fetch(`${engine.url}/`)).rejects.toThrow();
    await engine.stop(); // a second stop is harmless
  }, JVM_TEST_TIMEOUT_MS);

  itEmbedded('with dataDir the data survives a restart and the directory is kept', 'starts its own embedded engine (Java)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'albatross-engine-test-'));
    try {
      const first = await start({ dataDir });
      await json(`${first.url}/kept/_doc/1?refresh=true`, { method: 'PUT', body: JSON.stringify({ message: 'still here' }) });
      await first.stop();
      expect(isRunning(first.pid)).toBe(false);
      expect((await stat(join(dataDir, 'data'))).isDirectory()).toBe(true);

      const second = await start({ dataDir });
      expect(second.pid).not.toBe(first.pid);
      // The index is recovered from disk (yellow at least, then the document is readable).
      await json(`${second.url}/_cluster/health/kept?wait_for_status=yellow&timeout=30s`);
      const document = await json(`${second.url}/kept/_doc/1`);
      expect(document._source).toEqual({ message: 'still here' });
      await second.stop();
      expect((await stat(dataDir)).isDirectory()).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, JVM_TEST_TIMEOUT_MS);

  itEmbedded('a port already in use is named, with what to do, and no JVM is left behind', 'starts its own embedded engine (Java)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      await expect(start({ port })).rejects.toThrow(new RegExp(`Failed to bind to 127\\.0\\.0\\.1:${port} \\(the port is in use: stop what listens there, or pass another --port`));
      const children = execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
      expect(children.split('\n')).not.toContain('java');
    } finally {
      taken.close();
    }
  }, JVM_TEST_TIMEOUT_MS);

  test('without Java it says so and points to OPENSEARCH_URL', async () => {
    const previous = process.env.OPENSEARCH_JAVA;
    process.env.OPENSEARCH_JAVA = join(tmpdir(), 'no-such-dir', 'java');
    try {
      await expect(startOpenSearch()).rejects.toThrow(/no Java found[\s\S]*OPENSEARCH_URL/);
    } finally {
      if (previous === undefined) delete process.env.OPENSEARCH_JAVA;
      else process.env.OPENSEARCH_JAVA = previous;
    }
  });

  test('a Java older than 17 is refused with the version it found', async () => {
    // A stand-in executable: an old JDK cannot be installed here just to see it refused.
    const directory = await mkdtemp(join(tmpdir(), 'albatross-old-java-'));
    const oldJava = join(directory, 'java');
    await writeFile(oldJava, '#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n');
    await chmod(oldJava, 0o755);
    const previous = process.env.OPENSEARCH_JAVA;
    process.env.OPENSEARCH_JAVA = oldJava;
    try {
      await expect(startOpenSearch()).rejects.toThrow(/needs Java 17[\s\S]*1\.8\.0_392[\s\S]*OPENSEARCH_URL/);
    } finally {
      if (previous === undefined) delete process.env.OPENSEARCH_JAVA;
      else process.env.OPENSEARCH_JAVA = previous;
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('getOpenSearch', () => {
  test('uses OPENSEARCH_URL when set and starts nothing', async () => {
    const previous = process.env.OPENSEARCH_URL;
    process.env.OPENSEARCH_URL = 'http://127.0.0.1:9/';
    try {
      const engine = await getOpenSearch();
      expect(engine).toMatchObject({ url: 'http://127.0.0.1:9', embedded: false });
      expect('pid' in engine).toBe(false);
      await engine.stop();
    } finally {
      if (previous === undefined) delete process.env.OPENSEARCH_URL;
      else process.env.OPENSEARCH_URL = previous;
    }
  });
});
