// `albatross parse`: the real CLI in a child process, plus parseStream in-process
// for the cases that need a huge or corrupt input.
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, openSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { emptyStats, MAX_LINE_BYTES, parseStream, summaryLine } from '../../../scripts/commands/parse.ts';
import { encodeRecord } from '../../../transform/envelope.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { SAMPLES_DIR, sampleLines } from '../../transform/parser/sample-lines.ts';

const CLI = fileURLToPath(new URL('../../../scripts/albatross.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'albatross-parse-'));

function run(args: string[], input?: Buffer | string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'parse', ...args], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function jsonLines(text: string): any[] {
  return text.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

const good = sampleLines('aws-docs_2023-04_access-log-examples.log');
const connection = sampleLines('aws-docs_connection-log-examples.log')[0]!;

describe('albatross parse --type', () => {
  const connectionLines = sampleLines('aws-docs_connection-log-examples.log');
  const healthLines = sampleLines('aws-docs_health-check-log-examples.log');
  const name = '123456789012_elasticloadbalancing_us-east-2_app.my-alb.1234567890abcdef_20251031T1245Z_10.0.1.15_20sg8hgm.log';

  it('auto: picks the type from the file name, else from the first line, and counts documents per type', () => {
    const named = join(dir, `health_check_log_${name}`);
    writeFileSync(named, healthLines.join('\n') + '\n');
    const unnamed = join(dir, 'connections.txt');
    writeFileSync(unnamed, connectionLines.join('\n') + '\n');
    const { status, stdout, stderr } = run([named, unnamed, '--type', 'auto']);
    expect(status).toBe(0);
    const docs = jsonLines(stdout);
    expect(docs.map((doc) => doc.aws.elb.health_check?.status ?? doc.aws.elb.tls_verify_status)).toEqual(['PASS', 'FAIL', 'Success', 'Failed:ClientCertUntrusted']);
    expect(stderr).toMatch(/^albatross parse: 4 lines, 4 documents \[access 0, connection 2, health 2\] \(0 with malformed values tagged\), 0 skipped, 0 failed in [\d.]+ s\n$/);
    // the default is auto
    expect(run([named]).stdout).toBe(run([named, '--type', 'auto']).stdout);
  });

  it('an explicit type wins over the name, and a line of another type fails with that parser\'s reason', () => {
    const { status, stdout, stderr } = run(['--type', 'health'], [healthLines[0], connectionLines[0]].join('\n') + '\n');
    expect(status).toBe(1);
    expect(jsonLines(stdout)).toHaveLength(1);
    expect(JSON.parse(stderr.split('\n')[0]!)).toMatchObject({ line: 2, error: expect.stringMatching(/^time field "203.0.113.1" is not an ISO 8601/) });
    expect(run(['--type', 'nlb'], '').stderr).toMatch(/must be one of access, connection, health, auto/);
  });

  it('--firehose-errors parses each record with the type its envelope names', async () => {
    const records = [
      encodeRecord({ bucket: 'b', key: `conn_log_${name}.gz`, offset: 0, type: 'connection' }, connectionLines[0]!),
      encodeRecord({ bucket: 'b', key: `health_check_log_${name}.gz`, offset: 7, type: 'health' }, healthLines[1]!),
    ].map((data) => JSON.stringify({ attemptsMade: 1, errorCode: 'Lambda.ProcessingFailedStatus', rawData: data.toString('base64') }));
    const { status, stdout } = run(['--firehose-errors'], records.join('\n') + '\n');
    expect(status).toBe(0);
    expect(jsonLines(stdout).map((doc) => [doc.event.type[0], doc.log.offset])).toEqual([['connection', 0], ['info', 7]]);
  });
});

describe('albatross parse', () => {
  it('writes documents in input order, errors and a summary to stderr, and exits 1 on a failed line', () => {
    const file = join(dir, 'mixed.log');
    const content = [good[0], 'Enable AccessLog for ELB: app/x/y at 2025-05-30T16:47:00.781Z', '', connection, good[1], good[2]].join('\n') + '\n';
    writeFileSync(file, content);
    const { status, stdout, stderr } = run([file]);
    expect(status).toBe(1);
    const docs = jsonLines(stdout);
    expect(docs.map((doc) => doc['@timestamp'] + ' ' + doc.aws.elb.type)).toEqual([
      '2018-07-02T22:23:00.186641Z http', '2018-07-02T22:23:00.186641Z https', '2018-07-02T22:23:00.186641Z h2',
    ]);
    // log.offset is the byte offset of the line in the file
    const bytes = Buffer.from(content);
    expect(docs.map((doc) => doc.log.offset)).toEqual([good[0], good[1], good[2]].map((line) => bytes.indexOf(line!)));
    expect(docs[0].log.file.path).toBe(file);
    const stderrLines = stderr.trim().split('\n');
    expect(JSON.parse(stderrLines[0]!)).toEqual({
      file, line: 4, error: 'line has 12 fields; an ALB access-log line has at least 20', raw: connection,
    });
    expect(stderrLines[1]).toMatch(/^albatross parse: 6 lines, 3 documents \(0 with malformed values tagged\), 2 skipped, 1 failed in [\d.]+ s$/);
    expect(stderrLines).toHaveLength(2);
  });

  it('reads gzip files and stdin, exits 0 when every line parsed, and gives stable ids per source', () => {
    const plain = good.join('\n') + '\n';
    const gz = join(dir, 'x_app.log.gz');
    writeFileSync(gz, gzipSync(plain));
    const fromGzip = run([gz]);
    const fromStdin = run([], plain);
    const fromGzipStdin = run(['-'], gzipSync(plain));
    for (const result of [fromGzip, fromStdin, fromGzipStdin]) {
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(/^albatross parse: 7 lines, 7 documents \(0 with malformed values tagged\), 0 skipped, 0 failed/);
    }
    const strip = (doc: any): any => ({ ...doc, event: { ...doc.event, id: undefined }, log: undefined });
    expect(jsonLines(fromGzip.stdout).map(strip)).toEqual(jsonLines(fromStdin.stdout).map(strip));
    expect(jsonLines(fromStdin.stdout)).toEqual(jsonLines(fromGzipStdin.stdout));
    expect(jsonLines(fromStdin.stdout)[0].log).toBeUndefined();
    expect(jsonLines(run([gz]).stdout).map((doc) => doc.event.id)).toEqual(jsonLines(fromGzip.stdout).map((doc) => doc.event.id));
  });

  it('reads stdin redirected from a file (read in chunks, not as a stream) like a pipe, plain or gzip', () => {
    const plain = `${good.join('\n')}\n`;
    for (const content of [Buffer.from(plain), gzipSync(plain)]) {
      const file = join(dir, 'redirected');
      writeFileSync(file, content);
      const fd = openSync(file, 'r');
      try {
        const redirected = spawnSync(process.execPath, [CLI, 'parse'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
        expect(redirected.status).toBe(0);
        expect(redirected.stdout).toBe(run([], plain).stdout);
        expect(jsonLines(redirected.stdout)).toHaveLength(good.length);
      } finally {
        closeSync(fd);
      }
    }
  });

  it('adds event.original with --original', () => {
    const { stdout } = run(['--original'], good.join('\n'));
    expect(jsonLines(stdout).map((doc) => doc.event.original)).toEqual(good);
  });

  it('writes, for every sample file, exactly what parseStream gives in-process (the bundled CLI runs the same code)', async () => {
    // every log file in the samples folder, access logs and others (connection, health-check, NLB, control lines, keys)
    const files = readdirSync(SAMPLES_DIR).filter((name) => /\.(log|txt)$/.test(name)).sort().map((name) => join(SAMPLES_DIR, name));
    const cli = run(files);
    const out = new PassThrough();
    const err = new PassThrough();
    let expectedOut = '';
    let expectedErr = '';
    out.on('data', (chunk) => (expectedOut += chunk));
    err.on('data', (chunk) => (expectedErr += chunk));
    const stats = emptyStats();
    // The CLI enriches by default (ALBATROSS_ENRICH, else all parts): the same enricher in-process.
    const enrich = sharedEnricher();
    for (const file of files) await parseStream(createReadStream(file), out, err, { path: file, enrich }, stats);
    expect(stats.documents).toBeGreaterThan(600);
    expect(stats.failed).toBeGreaterThan(0);
    expect(cli.stdout).toBe(expectedOut);
    // stderr: the same error lines, then the summary (its time aside)
    expect(cli.stderr.replace(/ in [\d.]+ s\n$/, '')).toBe(`${expectedErr}${summaryLine(stats, 0).replace(/ in [\d.]+ s$/, '')}`);
    expect(cli.status).toBe(1);
  });

  it('exits 1 with a clear error for a missing file', () => {
    const missing = join(dir, 'missing.log');
    const { status, stderr } = run([missing]);
    expect(status).toBe(1);
    expect(JSON.parse(stderr.split('\n')[0]!)).toMatchObject({ file: missing, error: expect.stringMatching(/^cannot read input: ENOENT/) });
  });
});

describe('parseStream', () => {
  async function collect(input: Readable): Promise<{ stats: Awaited<ReturnType<typeof parseStream>>; out: string; err: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk) => (out += chunk));
    stderr.on('data', (chunk) => (err += chunk));
    const stats = await parseStream(input, stdout, stderr, { path: 'in.log' });
    return { stats, out, err };
  }

  it('reports an over-long line without buffering it, and goes on', async () => {
    const huge = 'x'.repeat(MAX_LINE_BYTES + 10);
    const chunks = [Buffer.from(`${good[0]}\n`), ...Array.from({ length: 20 }, (_, i) => Buffer.from(huge.slice(i * (huge.length / 20), (i + 1) * (huge.length / 20)))), Buffer.from(`\n${good[1]}\n`)];
    const { stats, out, err } = await collect(Readable.from(chunks));
    expect(stats).toEqual({ lines: 3, documents: 2, tagged: 0, skipped: 0, failed: 1, byType: { access: 2, connection: 0, health: 0 } });
    expect(jsonLines(out).map((doc) => doc.aws.elb.type)).toEqual(['http', 'https']);
    const error = JSON.parse(err.trim());
    expect(error).toMatchObject({ file: 'in.log', line: 2, error: `line longer than ${MAX_LINE_BYTES} bytes` });
    expect(error.raw.length).toBe(200);
    expect(jsonLines(out)[1].log.offset).toBe(Buffer.byteLength(`${good[0]}\n${huge}\n`));
  });

  it('splits lines across chunk boundaries, handles CRLF and a last line without a newline', async () => {
    const text = `${good[0]}\r\n${good[1]}\n${good[2]}`;
    const bytes = Buffer.from(text);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, (i + 1) * 7));
    const { stats, out } = await collect(Readable.from(chunks));
    expect(stats).toMatchObject({ lines: 3, documents: 3, failed: 0 });
    expect(jsonLines(out).map((doc) => doc.log.offset)).toEqual([0, bytes.indexOf(good[1]!), bytes.indexOf(good[2]!)]);
  });

  it('reports a corrupt gzip stream as a failure instead of crashing', async () => {
    const gz = gzipSync(good.join('\n'));
    const corrupt = Buffer.concat([gz.subarray(0, 30), Buffer.alloc(40, 0xff)]);
    const { stats, err } = await collect(Readable.from([corrupt]));
    expect(stats.failed).toBe(1);
    expect(JSON.parse(err.trim().split('\n').at(-1)!).error).toMatch(/^cannot read input: /);
  });

  it('keeps byte offsets right after multi-byte and invalid UTF-8 lines', async () => {
    const lines = [good[0]!.replace('curl/7.46.0', 'curl/\u00e9\u00e9'), good[1]!.replace('curl/7.46.0', 'curl/\u0001'), good[2]!];
    const bytes = Buffer.from(lines.join('\n') + '\n');
    bytes[bytes.indexOf(1)] = 0xff; // invalid UTF-8 in the second line
    const { stats, out } = await collect(Readable.from([bytes]));
    expect(stats.documents).toBe(3);
    const docs = jsonLines(out);
    expect(docs.map((doc) => doc.log.offset)).toEqual([0, bytes.indexOf('https'), bytes.indexOf('h2 ')]);
    expect(docs.map((doc) => doc.user_agent.original)).toEqual(['curl/éé', 'curl/\ufffd', 'curl/7.46.0']);
  });

  it('keeps invalid UTF-8 from crashing: replacement characters, document still produced', async () => {
    const line = Buffer.from(good[0]!.replace('curl/7.46.0', 'curl/\u0001'));
    line[line.indexOf(1)] = 0xff;
    const { stats, out } = await collect(Readable.from([line]));
    expect(stats.documents).toBe(1);
    expect(jsonLines(out)[0].user_agent.original).toBe('curl/\ufffd');
  });
});

describe('--firehose-errors', () => {
  const source = { bucket: 'alb-logs', key: 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/x_app.lb_20260101T0000Z_10.0.0.1_a.log.gz', offset: 4096 };
  const record = (data: Buffer | string, extra: object = {}) =>
    JSON.stringify({ attemptsMade: 1, errorCode: 'Lambda.ProcessingFailedStatus', errorMessage: 'x', rawData: Buffer.from(data).toString('base64'), ...extra });

  it('through the CLI, given the backup folder: documents carry the event.id the transform would have given, failures their reason and source', () => {
    const folder = join(dir, 'backup', 'errors', 'processing-failed');
    mkdirSync(join(folder, '2026', '01', '01', '00'), { recursive: true });
    const file = join(folder, '2026', '01', '01', '00', 'albatross-local-1-2026-01-01-00-00-00-a');
    // gzip, as the stack's backup configuration writes them
    writeFileSync(file, gzipSync([record(encodeRecord(source, good[0]!)), '', record(encodeRecord({ ...source, offset: 9 }, 'broken line')), record(good[1]!),
      record('{"@timestamp":"2026-01-01T00:00:00Z"}', { errorMessage: 'mapper_parsing_exception', esIndexName: 'alb-logs-2026-01-01', esDocumentId: 'x' })].join('\n') + '\n'));
    const result = run(['--firehose-errors', join(dir, 'backup')]);
    expect(result.status).toBe(1);
    const documents = jsonLines(result.stdout);
    // enrichment is on by default, as in the transform
    const expected = parseAlbLineToJson(good[0]!, { source, enrich: sharedEnricher('all') });
    expect(expected.kind).toBe('document');
    expect(documents[0]).toEqual(JSON.parse((expected as { json: string }).json));
    expect(documents[1].event.id).toBe(JSON.parse((parseAlbLineToJson(good[1]!) as { json: string }).json).event.id);
    expect(jsonLines(result.stderr)).toEqual([
      { file, line: 3, error: 'line has 2 fields; an ALB access-log line has at least 20', raw: 'broken line', source: { ...source, offset: 9 } },
      { file, line: 5, error: 'a document OpenSearch refused (mapper_parsing_exception), not a log line: replay it with `albatross backfill --firehose-errors`', raw: '{"@timestamp":"2026-01-01T00:00:00Z"}' },
    ]);
    expect(result.stderr).toContain('albatross parse: 5 lines, 2 documents (0 with malformed values tagged), 1 skipped, 2 failed');
  });
});

describe('--enrich', () => {
  const line = 'https 2026-11-26T10:00:00.123456Z app/my-alb/0123456789abcdef 81.2.69.193:50718 10.0.0.5:80 0.001 0.002 0.000 200 200 512 1024 ' +
    '"GET https://example.com:443/a HTTP/1.1" "curl/8.5.0" - - arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/0123456789abcdef ' +
    '"Root=1-6566e3a0-0123456789abcdef01234567" "-" "-" 0\n';

  it('enriches by default and takes a subset or none', () => {
    const byDefault = jsonLines(run([], line).stdout)[0];
    expect(byDefault.source.geo.country_iso_code).toBe('GB');
    expect(byDefault.source.as.number).toBe(20712);
    expect(byDefault.user_agent.name).toBe('curl');
    const uaOnly = jsonLines(run(['--enrich', 'ua'], line).stdout)[0];
    expect([uaOnly.source.geo, uaOnly.source.as, uaOnly.user_agent.name]).toEqual([undefined, undefined, 'curl']);
    const none = jsonLines(run(['--enrich', 'none'], line).stdout)[0];
    expect([none.source.geo, none.user_agent]).toEqual([undefined, { original: 'curl/8.5.0' }]);
  });

  it('rejects an unknown part with the accepted values', () => {
    const result = run(['--enrich', 'geo,city'], line);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('comma-separated subset of geo, as, ua');
  });
});
