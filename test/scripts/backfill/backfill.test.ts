// Backfill against the real engine: complete runs, a run really interrupted halfway and resumed,
// date selection by event time, and an S3 source through the local S3 stand-in.
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill, selectByDeliveryDate, type BackfillOptions } from '../../../scripts/backfill/run.ts';
import { folderSource, openSource } from '../../../scripts/backfill/sources.ts';
import { generateObjects, generateToDirectory } from '../../../scripts/local/generator.ts';
import { countDocuments, countDuplicates, indexCounts, refresh } from '../../../scripts/local/report.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3 } from '../../../scripts/local/s3-server.ts';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { parseAlbLine, parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { encodeRecord } from '../../../transform/envelope.ts';
import { corpusAccessLines } from '../../corpus.ts';
import { firehoseErrorRecord } from '../../firehose-error-records.ts';

const GENERATE = { lines: 3000, days: 2, seed: 23, files: 8, badLines: 6, end: new Date('2026-01-01T00:00:00Z') };
const GOOD_LINES = GENERATE.lines - GENERATE.badLines;
const client = new Client({ node: process.env.OPENSEARCH_URL! });
const stamp = Date.now();
let folder: string;
let work: string;
// Event day of every good line, from the generator's own output.
const eventDays = new Map<string, number>();

async function backfill(prefix: string, extra: Partial<BackfillOptions> = {}) {
  return runBackfill({
    client,
    source: folderSource(folder),
    indexPrefix: prefix,
    stateFile: path.join(work, `${prefix}.state.json`),
    failuresFile: path.join(work, `${prefix}.failures.ndjson`),
    concurrency: 2,
    ...extra,
  });
}

async function total(prefix: string): Promise<number> {
  await refresh(client, `${prefix}-*`);
  return countDocuments(client, `${prefix}-*`);
}

describe('backfill', () => {
  const prefixes = ['full', 'resumed', 'dates', 's3', 'truncated', 'replay'].map((name) => `test-backfill-${name}-${stamp}`);
  const [full, resumed, dates, s3, truncated, replay] = prefixes as [string, string, string, string, string, string];

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'albatross-backfill-'));
    folder = path.join(work, 'logs');
    await generateToDirectory(folder, GENERATE);
    for (const object of generateObjects(GENERATE)) {
      for (const line of gunzipSync(object.body).toString('utf8').split('\n')) {
        const parsed = parseAlbLine(line);
        if (parsed.kind !== 'document') continue;
        const day = (parsed.document as unknown as { '@timestamp': string })['@timestamp'].slice(0, 10);
        eventDays.set(day, (eventDays.get(day) ?? 0) + 1);
      }
    }
    for (const prefix of prefixes) await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
  }, 180_000);

  afterAll(async () => {
    for (const prefix of prefixes) await removeIndicesAndTemplates(client, prefix);
    await client.close();
    await rm(work, { recursive: true, force: true });
  });

  it('indexes every good line once into daily indices by event time, failures to the file with reasons', async () => {
    // with enrichment, as the CLI does by default (the other runs here leave it out)
    const summary = await backfill(full, { enrich: sharedEnricher('all') });
    expect(summary).toMatchObject({ objects: 8, objectsProcessed: 8, lines: 3000, indexed: 2994, failed: 6, skipped: 0, interrupted: false });
    expect(await total(full)).toBe(GOOD_LINES);
    const located = await client.count({ index: `${full}-*`, body: { query: { exists: { field: 'source.geo.location' } } } });
    const named = await client.count({ index: `${full}-*`, body: { query: { exists: { field: 'user_agent.name' } } } });
    expect(located.body.count / GOOD_LINES).toBeGreaterThan(0.85);
    expect(named.body.count / GOOD_LINES).toBeGreaterThan(0.5);
    const indices = await indexCounts(client, `${full}-*`);
    expect(Object.fromEntries(indices.map((i) => [i.index.slice(full.length + 1), i.docs]))).toEqual(Object.fromEntries(eventDays));
    const failures = (await readFile(path.join(work, `${full}.failures.ndjson`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(failures).toHaveLength(6);
    for (const f of failures) {
      expect(f.reason.length).toBeGreaterThan(5);
      expect(parseAlbLine(f.line).kind).toBe('failed');
      expect(f.source.startsWith(folder)).toBe(true);
      expect(typeof f.offset).toBe('number');
    }
    // Running it again changes nothing: every object is in the state file.
    const again = await backfill(full);
    expect(again).toMatchObject({ objectsResumed: 8, objectsProcessed: 0, indexed: 0 });
  }, 180_000);

  it('an interrupted backfill, run again, ends with the same documents as an uninterrupted one', async () => {
    const controller = new AbortController();
    const first = await backfill(resumed, {
      signal: controller.signal,
      onProgress: (p) => {
        // Really interrupt: abort while objects are in flight, after the third one is done.
        if (p.objectsDone >= 3 && !controller.signal.aborted) controller.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.objectsProcessed).toBeGreaterThanOrEqual(3);
    expect(first.objectsProcessed).toBeLessThan(8);
    const partial = await total(resumed);
    expect(partial).toBeLessThan(GOOD_LINES);

    const second = await backfill(resumed);
    expect(second.interrupted).toBe(false);
    expect(second.objectsResumed).toBe(first.objectsProcessed);
    expect(second.objectsResumed + second.objectsProcessed).toBe(8);
    expect(await total(resumed)).toBe(GOOD_LINES); // the same documents as an uninterrupted run (first test)
    expect(await countDuplicates(client, `${resumed}-*`)).toBe(0);
    // Failures are written once per object, so none is repeated by the resumed run.
    const failures = (await readFile(path.join(work, `${resumed}.failures.ndjson`), 'utf8')).trim().split('\n');
    expect(failures).toHaveLength(6);
  }, 180_000);

  it('--from/--to select by each line\'s own time, reading the next day\'s delivery folder too', async () => {
    const [firstDay, secondDay] = [...eventDays.keys()].sort();
    expect(selectByDeliveryDate(secondDay, firstDay, firstDay)).toBe(true);   // late logs
    expect(selectByDeliveryDate('2000-01-01', firstDay, firstDay)).toBe(false);
    const summary = await backfill(dates, { from: firstDay!, to: firstDay! });
    expect(await total(dates)).toBe(eventDays.get(firstDay!));
    expect(summary.outOfRange).toBeGreaterThan(0);
    expect((await indexCounts(client, `${dates}-*`)).map((i) => i.index)).toEqual([`${dates}-${firstDay}`]);
  }, 180_000);

  it('a truncated object fails alone with a clear reason, is not marked done, and the others load', async () => {
    const broken = path.join(work, 'broken');
    const objects = [...generateObjects({ ...GENERATE, files: 3, badLines: 0 })];
    for (const [i, object] of objects.entries()) {
      const file = path.join(broken, ...object.key.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, i === 1 ? object.body.subarray(0, Math.floor(object.body.length / 2)) : object.body);
    }
    const options = {
      client,
      source: folderSource(broken),
      indexPrefix: truncated,
      stateFile: path.join(broken, 'state.json'),
      failuresFile: path.join(broken, 'failures.ndjson'),
    };
    const summary = await runBackfill(options);
    expect(summary.objectsFailed).toHaveLength(1);
    expect(summary.objectsFailed[0]!.key).toBe(objects[1]!.key);
    expect(summary.objectsFailed[0]!.reason).toMatch(/cannot read .*unexpected end of file/);
    expect(summary.objectsProcessed).toBe(2);
    expect(summary.indexed).toBe(objects[0]!.lines + objects[2]!.lines);
    // The failed object is retried by the next run (and fails the same way); the others are done.
    const again = await runBackfill(options);
    expect(again).toMatchObject({ objectsResumed: 2, objectsProcessed: 0 });
    expect(again.objectsFailed.map((o) => o.key)).toEqual([objects[1]!.key]);
  }, 180_000);

  it('refuses to start without the templates, or without a reachable engine, and writes nothing', async () => {
    const bare = `test-backfill-no-template-${stamp}`;
    await expect(backfill(bare)).rejects.toThrow(`no Albatross index template covers ${bare}-*: run \`npm run setup-templates -- --prefix ${bare}\` first`);
    const dead = new Client({ node: 'http://127.0.0.1:1', maxRetries: 0 });
    await expect(backfill(full, { client: dead })).rejects.toThrow(/Cannot reach OpenSearch \(POST \/_index_template\/_simulate_index\/.*\): .*ECONNREFUSED.*Check the endpoint URL/);
    await dead.close();
    expect(await client.indices.exists({ index: `${bare}-*`, allow_no_indices: false } as never).then((r) => r.body)).toBe(false);
    await expect(readFile(path.join(work, `${bare}.state.json`))).rejects.toThrow(/ENOENT/);
  });

  it('--firehose-errors replays the processing-failed backup: lines that parse now are indexed with their original event.id, once', async () => {
    // Records as Firehose writes them (gzip, one JSON object per line), holding the loader's envelope
    // and line: sample lines a parser fix would now accept, lines that still fail, and a delivery failure.
    const backup = path.join(work, 'backup', 'errors', 'processing-failed', '2026', '01', '02', '03');
    await mkdir(backup, { recursive: true });
    const origin = { bucket: 'alb-logs', key: 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/123456789012_elasticloadbalancing_us-east-2_app.lb.1a_20260101T0005Z_10.0.0.1_x.log.gz' };
    const lines = corpusAccessLines().slice(0, 7);
    const record = (data: Buffer | string) => firehoseErrorRecord(data, { errorMessage: 'old parser' });
    const good = lines.map((line, i) => ({ line, source: { ...origin, offset: 1000 * i } }));
    await writeFile(path.join(backup, 'albatross-1-a.gz'), gzipSync(good.slice(0, 3).map((g) => record(encodeRecord(g.source, g.line))).join('\n') + '\n'));
    await writeFile(path.join(backup, 'albatross-1-b.gz'), gzipSync([
      ...good.slice(3).map((g) => record(encodeRecord(g.source, g.line))),
      record(encodeRecord({ ...origin, offset: 7 }, 'still not an ALB line')),
      record('{"@timestamp":"2026-01-01T00:00:00Z"}'),
    ].join('\n') + '\n'));
    // From errors/AmazonOpenSearchService-failed/: a document refused (429 until the window closed), and one for another prefix.
    const refused = parseAlbLineToJson(lines[0]!, { source: { ...origin, offset: 99_000 } });
    if (refused.kind !== 'document') throw new Error('sample line did not parse');
    const refusedRecord = (index: string) => firehoseErrorRecord(refused.json, { attemptsMade: 3, errorCode: '429', errorMessage: 'es_rejected_execution_exception', esDocumentId: 'firehose-id-1', esIndexName: index, esTypeName: '' });
    const refusedDay = (JSON.parse(refused.json) as { '@timestamp': string })['@timestamp'].slice(0, 10);
    await writeFile(path.join(backup, 'albatross-1-c'), [refusedRecord(`${replay}-${refusedDay}`), refusedRecord(`other-${refusedDay}`)].join('\n') + '\n');
    const source = folderSource(path.join(work, 'backup'));
    const summary = await backfill(replay, { source, firehoseErrors: true });
    expect(summary).toMatchObject({ objects: 3, objectsProcessed: 3, lines: good.length + 4, indexed: good.length + 1, failed: 3, skipped: 0 });
    await refresh(client, `${replay}-*`);
    for (const g of good) {
      const parsed = parseAlbLineToJson(g.line, { source: g.source });
      if (parsed.kind !== 'document') throw new Error('sample line did not parse');
      const document = JSON.parse(parsed.json) as { '@timestamp': string; event: { id: string } };
      const stored = await client.get({ index: `${replay}-${document['@timestamp'].slice(0, 10)}`, id: document.event.id });
      expect(stored.body._source).toEqual(document);
    }
    const failures = (await readFile(path.join(work, `${replay}.failures.ndjson`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(await client.get({ index: `${replay}-${refusedDay}`, id: 'firehose-id-1' }).then((r) => r.body._source)).toEqual(JSON.parse(refused.json));
    expect(failures).toEqual(expect.arrayContaining([
      expect.objectContaining({ reason: 'line has 5 fields; an ALB access-log line has at least 20', line: 'still not an ALB line', logSource: { ...origin, offset: 7 } }),
      expect.objectContaining({ reason: 'rawData is a document, but the record names no esIndexName/esDocumentId', line: '{"@timestamp":"2026-01-01T00:00:00Z"}' }),
      expect.objectContaining({ reason: `document for index other-${refusedDay}, outside --prefix ${replay}, --connection-prefix alb-connection and --health-prefix alb-health`, line: refused.json }),
    ]));
    expect(failures).toHaveLength(3);
    expect(await countDuplicates(client, `${replay}-*`)).toBe(0);
    // The summary names the original objects, so the command's report looks at their documents, not the backup folder's.
    expect(summary.originPaths).toEqual([`s3://${origin.bucket}/${origin.key}`]);
    expect(await countDocuments(client, `${replay}-*`, { terms: { 'log.file.path': summary.originPaths } })).toBe(good.length + 1);
    expect(await backfill(replay, { source, firehoseErrors: true })).toMatchObject({ objectsResumed: 3, indexed: 0 });
  }, 120_000);

  it('reads s3://bucket/prefix through the S3 API, with no region configured', async () => {
    const server = await startLocalS3({ buckets: ['alb-archive'] });
    // No region anywhere (the SDK alone would fail with "Region is missing"): the source starts in us-east-1.
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION, AWS_PROFILE: process.env.AWS_PROFILE, AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_PROFILE;
    process.env.AWS_CONFIG_FILE = path.join(work, 'no-aws-config');
    try {
      const config = { endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS };
      const upload = new S3Client(config);
      for (const object of generateObjects(GENERATE)) {
        await upload.send(new PutObjectCommand({ Bucket: 'alb-archive', Key: `elb/${object.key}`, Body: object.body }));
      }
      await upload.send(new PutObjectCommand({ Bucket: 'alb-archive', Key: 'elb/AWSLogs/123456789012/ELBAccessLogTestFile', Body: new Uint8Array(0) }));
      upload.destroy();
      const summary = await runBackfill({
        client,
        source: openSource('s3://alb-archive/elb/', { endpoint: server.endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS }),
        indexPrefix: s3,
        stateFile: path.join(work, 's3.state.json'),
        failuresFile: path.join(work, 's3.failures.ndjson'),
      });
      expect(summary).toMatchObject({ objects: 8, indexed: 2994, failed: 6 });
      expect(summary.objectsSkipped.map((o) => o.key)).toEqual(['elb/AWSLogs/123456789012/ELBAccessLogTestFile']);
      expect(await total(s3)).toBe(GOOD_LINES);
      // Same bytes, same offsets: the same event ids as the folder run would give for s3 keys.
      expect(await countDuplicates(client, `${s3}-*`)).toBe(0);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await server.stop();
    }
  }, 180_000);
});
