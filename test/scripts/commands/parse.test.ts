// `albatross parse`: the real CLI in a child process, plus parseStream in-process
// for the cases that need a huge or corrupt input.
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyStats, MAX_LINE_BYTES, parseStream, summaryLine } from '../../../scripts/commands/parse.ts';
import { encodeRecord } from '../../../transform/envelope.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { corpusLine, corpusLines, CORPUS_FILES } from '../../corpus.ts';
import { firehoseErrorRecord as record } from '../../firehose-error-records.ts';
import { CLI, runCli, type CliResult } from '../../cli.ts';
import { accessLogLines, logFolders, SAMPLES_PRESENT } from '../../samples.ts';

const dir = mkdtempSync(join(tmpdir(), 'albatross-parse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `albatross parse <args>` with `input` on stdin. */
function run(args: string[], input?: Buffer | string): Promise<CliResult> {
  return runCli(['parse', ...args], input === undefined ? {} : { input });
}

function jsonLines(text: string): any[] {
  return text.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

const good = (['http', 'https-authenticate', 'h2-redirect', 'ws', 'wss-ipv6-client', 'lambda', 'lambda-failure'] as const).map(corpusLine);
const connection = corpusLines(CORPUS_FILES.connection)[0]!;

describe('albatross parse --type', () => {
  const connectionLines = corpusLines(CORPUS_FILES.connection).slice(0, 2);
  const healthLines = corpusLines(CORPUS_FILES.healthCheck).slice(0, 2);
  const name = '123456789012_elasticloadbalancing_us-east-2_app.my-alb.1234567890abcdef_20251031T1245Z_10.0.1.15_20sg8hgm.log';

  it('auto: picks the type from the file name, else from the first line, and counts documents per type', async () => {
    const named = join(dir, `health_check_log_${name}`);
    writeFileSync(named, healthLines.join('\n') + '\n');
    const unnamed = join(dir, 'connections.txt');
    writeFileSync(unnamed, connectionLines.join('\n') + '\n');
    const { code, stdout, stderr } = await run([named, unnamed, '--type', 'auto']);
    expect(code).toBe(0);
    const docs = jsonLines(stdout);
    expect(docs.map((doc) => doc.aws.elb.health_check?.status ?? doc.aws.elb.tls_verify_status)).toEqual(['PASS', 'FAIL', 'Success', 'Failed:ClientCertExpired']);
    expect(stderr).toMatch(/^albatross parse: 4 lines, 4 documents \[access 0, connection 2, health 2\] \(0 with malformed values tagged\), 0 skipped, 0 failed in [\d.]+ s\n$/);
    // the default is auto
    expect((await run([named])).stdout).toBe((await run([named, '--type', 'auto'])).stdout);
  });

  it('an explicit type wins over the name, and a line of another type fails with that parser\'s reason', async () => {
    const { code, stdout, stderr } = await run(['--type', 'health'], [healthLines[0], connectionLines[0]].join('\n') + '\n');
    expect(code).toBe(1);
    expect(jsonLines(stdout)).toHaveLength(1);
    expect(JSON.parse(stderr.split('\n')[0]!)).toMatchObject({ line: 2, error: expect.stringMatching(/^time field "198.51.100.23" is not an ISO 8601/) });
    expect((await run(['--type', 'nlb'], '')).stderr).toMatch(/must be one of access, connection, health, auto/);
  });

  it('--firehose-errors parses each record with the type its envelope names', async () => {
    const records = [
      encodeRecord({ bucket: 'b', key: `conn_log_${name}.gz`, offset: 0, type: 'connection' }, connectionLines[0]!),
      encodeRecord({ bucket: 'b', key: `health_check_log_${name}.gz`, offset: 7, type: 'health' }, healthLines[1]!),
    ].map((data) => JSON.stringify({ attemptsMade: 1, errorCode: 'Lambda.ProcessingFailedStatus', rawData: data.toString('base64') }));
    const { code, stdout } = await run(['--firehose-errors'], records.join('\n') + '\n');
    expect(code).toBe(0);
    expect(jsonLines(stdout).map((doc) => [doc.event.type[0], doc.log.offset])).toEqual([['connection', 0], ['info', 7]]);
  });
});

describe('albatross parse', () => {
  it('writes documents in input order, errors and a summary to stderr, and exits 1 on a failed line', async () => {
    const file = join(dir, 'mixed.log');
    const content = [good[0], 'Enable AccessLog for ELB: app/x/y at 2025-05-30T16:47:00.781Z', '', connection, good[1], good[2]].join('\n') + '\n';
    writeFileSync(file, content);
    const { code, stdout, stderr } = await run([file]);
    expect(code).toBe(1);
    const docs = jsonLines(stdout);
    expect(docs.map((doc) => doc['@timestamp'] + ' ' + doc.aws.elb.type)).toEqual([
      '2024-03-11T08:15:42.512907Z http', '2024-03-11T08:16:03.004211Z https', '2024-03-11T08:17:20.101010Z h2',
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

  it('reads gzip files and stdin, exits 0 when every line parsed, and gives stable ids per source', async () => {
    const plain = good.join('\n') + '\n';
    const gz = join(dir, 'x_app.log.gz');
    writeFileSync(gz, gzipSync(plain));
    const fromGzip = await run([gz]);
    const fromStdin = await run([], plain);
    const fromGzipStdin = await run(['-'], gzipSync(plain));
    for (const result of [fromGzip, fromStdin, fromGzipStdin]) {
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/^albatross parse: 7 lines, 7 documents \(0 with malformed values tagged\), 0 skipped, 0 failed/);
    }
    const strip = (doc: any): any => ({ ...doc, event: { ...doc.event, id: undefined }, log: undefined });
    expect(jsonLines(fromGzip.stdout).map(strip)).toEqual(jsonLines(fromStdin.stdout).map(strip));
    expect(jsonLines(fromStdin.stdout)).toEqual(jsonLines(fromGzipStdin.stdout));
    expect(jsonLines(fromStdin.stdout)[0].log).toBeUndefined();
    expect(jsonLines((await run([gz])).stdout).map((doc) => doc.event.id)).toEqual(jsonLines(fromGzip.stdout).map((doc) => doc.event.id));
  });

  it('reads stdin redirected from a file (read in chunks, not as a stream) like a pipe, plain or gzip', async () => {
    const plain = `${good.join('\n')}\n`;
    const piped = (await run([], plain)).stdout;
    for (const content of [Buffer.from(plain), gzipSync(plain)]) {
      const file = join(dir, 'redirected');
      writeFileSync(file, content);
      const fd = openSync(file, 'r');
      try {
        // a file descriptor as stdin, which test/cli.ts (pipes) cannot give
        const redirected = spawnSync(process.execPath, [CLI, 'parse'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
        expect(redirected.status).toBe(0);
        expect(redirected.stdout).toBe(piped);
        expect(jsonLines(redirected.stdout)).toHaveLength(good.length);
      } finally {
        closeSync(fd);
      }
    }
  });

  it('adds event.original with --original', async () => {
    const { stdout } = await run(['--original'], good.join('\n'));
    expect(jsonLines(stdout).map((doc) => doc.event.original)).toEqual(good);
  });

  it('writes, for every corpus and sample file, exactly what parseStream gives in-process (the bundled CLI runs the same code)', async () => {
    // every log file in the corpus (and the samples folder when present): access logs and others
    // (connection, health-check, NLB, control lines, keys)
    const files = logFolders().flatMap((folder) => readdirSync(folder).filter((name) => /\.(log|txt)$/.test(name)).sort().map((name) => join(folder, name)));
    const cli = await run(files);
    const out = new PassThrough();
    const err = new PassThrough();
    let expectedOut = '';
    let expectedErr = '';
    out.on('data', (chunk) => (expectedOut += chunk));
    err.on('data', (chunk) => (expectedErr += chunk));
    const stats = emptyStats();
    // enriched, as the CLI does by default
    for (const file of files) await parseStream(createReadStream(file), out, err, { path: file, enrich: sharedEnricher('all') }, stats);
    expect(stats.documents).toBeGreaterThan(SAMPLES_PRESENT ? 600 : 40);
    expect(stats.failed).toBeGreaterThan(0);
    expect(cli.stdout).toBe(expectedOut);
    // stderr: the same error lines, then the summary (its time aside)
    expect(cli.stderr.replace(/ in [\d.]+ s\n$/, '')).toBe(`${expectedErr}${summaryLine(stats, 0).replace(/ in [\d.]+ s$/, '')}`);
    expect(cli.code).toBe(1);
  });

  it('writes the same bytes to a file (written directly, without the stream) as to a pipe, with and without enrichment', async () => {
    const files = logFolders().flatMap((folder) => readdirSync(folder).filter((name) => /\.(log|txt)$/.test(name)).sort().map((name) => join(folder, name)));
    for (const enrich of ['all', 'none']) {
      const piped = await run([...files, '--enrich', enrich]);
      const outFile = join(dir, `stdout-${enrich}.json`);
      const fd = openSync(outFile, 'w');
      try {
        const direct = spawnSync(process.execPath, [CLI, 'parse', ...files, '--enrich', enrich], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
        expect(direct.status).toBe(piped.code);
        expect(direct.stderr.replace(/ in [\d.]+ s\n$/, '')).toBe(piped.stderr.replace(/ in [\d.]+ s\n$/, ''));
      } finally {
        closeSync(fd);
      }
      expect(piped.stdout.length).toBeGreaterThan(10_000);
      expect(readFileSync(outFile, 'utf8')).toBe(piped.stdout);
    }
  });

  it('exits 1 with a clear error for a missing file', async () => {
    const missing = join(dir, 'missing.log');
    const { code, stderr } = await run([missing]);
    expect(code).toBe(1);
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

  it('gives a slow stream every document in order, over many output buffers (back-pressure), and a file descriptor the same bytes', async () => {
    // several MB of output: more than one output buffer, so writes queue while the reader is slow
    const lines = Array.from({ length: 4000 }, (_, i) => good[i % good.length]!);
    const input = Buffer.from(`${lines.join('\n')}\n`);
    let offset = 0;
    const expected = lines.map((line) => {
      const result = parseAlbLineToJson(line, { source: { key: resolve('in.log'), offset } });
      offset += Buffer.byteLength(line) + 1;
      if (result.kind !== 'document') throw new Error(result.reason);
      return `${result.json}\n`;
    }).join('');
    const chunks: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, done) {
        chunks.push(Buffer.from(chunk));
        setTimeout(done, 1);
      },
    });
    const stats = await parseStream(Readable.from([input]), slow, new PassThrough(), { path: 'in.log' });
    expect(stats.documents).toBe(4000);
    expect(expected.length).toBeGreaterThan(4_000_000);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);

    const outFile = join(dir, 'fd-out.json');
    const fd = openSync(outFile, 'w');
    try {
      await parseStream(Readable.from([input]), fd, new PassThrough(), { path: 'in.log' });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(outFile, 'utf8')).toBe(expected);
  });

  it('writes every access-log line as parseAlbLineToJson does, whether the byte path or the string parser takes it, and counts the tagged ones', async () => {
    // the corpus and the samples: escapes, unknown fields and malformed values (string parser) among
    // plain lines and anonymised clients (byte path, tagged); the byte path's own test counts which took what
    const lines = accessLogLines();
    let offset = 0;
    let tagged = 0;
    const expected = lines.map((line) => {
      const result = parseAlbLineToJson(line, { source: { key: resolve('in.log'), offset } });
      offset += Buffer.byteLength(line) + 1;
      if (result.kind !== 'document') throw new Error(result.reason);
      if (result.tagged) tagged++;
      return `${result.json}\n`;
    }).join('');
    const { stats, out } = await collect(Readable.from([Buffer.from(`${lines.join('\n')}\n`)]));
    expect(out).toBe(expected);
    expect(stats.documents).toBe(lines.length);
    expect(tagged).toBeGreaterThan(0);
    expect(stats.tagged).toBe(tagged);
  });

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
    const lines = [good[0]!.replace('"curl/8.5.0"', '"curl/\u00e9\u00e9"'), good[1]!.replace(/"Mozilla[^"]*"/, '"curl/\u0001"'), good[2]!];
    const bytes = Buffer.from(lines.join('\n') + '\n');
    bytes[bytes.indexOf(1)] = 0xff; // invalid UTF-8 in the second line
    const { stats, out } = await collect(Readable.from([bytes]));
    expect(stats.documents).toBe(3);
    const docs = jsonLines(out);
    expect(docs.map((doc) => doc.log.offset)).toEqual([0, bytes.indexOf('https'), bytes.indexOf('h2 ')]);
    expect(docs.map((doc) => doc.user_agent.original)).toEqual(['curl/éé', 'curl/\ufffd', 'Mozilla/5.0 (Macintosh)']);
  });

  it('keeps invalid UTF-8 from crashing: replacement characters, document still produced', async () => {
    const line = Buffer.from(good[0]!.replace('curl/8.5.0', 'curl/\u0001'));
    line[line.indexOf(1)] = 0xff;
    const { stats, out } = await collect(Readable.from([line]));
    expect(stats.documents).toBe(1);
    expect(jsonLines(out)[0].user_agent.original).toBe('curl/\ufffd');
  });
});

describe('--firehose-errors', () => {
  const source = { bucket: 'alb-logs', key: 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/x_app.lb_20260101T0000Z_10.0.0.1_a.log.gz', offset: 4096 };

  it('through the CLI, given the backup folder: documents carry the event.id the transform would have given, failures their reason and source', async () => {
    const folder = join(dir, 'backup', 'errors', 'processing-failed');
    mkdirSync(join(folder, '2026', '01', '01', '00'), { recursive: true });
    const file = join(folder, '2026', '01', '01', '00', 'albatross-local-1-2026-01-01-00-00-00-a');
    // gzip, as the stack's backup configuration writes them
    writeFileSync(file, gzipSync([record(encodeRecord(source, good[0]!)), '', record(encodeRecord({ ...source, offset: 9 }, 'broken line')), record(good[1]!),
      record('{"@timestamp":"2026-01-01T00:00:00Z"}', { errorMessage: 'mapper_parsing_exception', esIndexName: 'alb-logs-2026-01-01', esDocumentId: 'x' })].join('\n') + '\n'));
    const result = await run(['--firehose-errors', join(dir, 'backup')]);
    expect(result.code).toBe(1);
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

  it('enriches by default and takes a subset or none', async () => {
    const byDefault = jsonLines((await run([], line)).stdout)[0];
    expect(byDefault.source.geo.country_iso_code).toBe('GB');
    expect(byDefault.source.as.number).toBe(20712);
    expect(byDefault.user_agent.name).toBe('curl');
    const uaOnly = jsonLines((await run(['--enrich', 'ua'], line)).stdout)[0];
    expect([uaOnly.source.geo, uaOnly.source.as, uaOnly.user_agent.name]).toEqual([undefined, undefined, 'curl']);
    const none = jsonLines((await run(['--enrich', 'none'], line)).stdout)[0];
    expect([none.source.geo, none.user_agent]).toEqual([undefined, { original: 'curl/8.5.0' }]);
  });

  it('rejects an unknown part with the accepted values', async () => {
    const result = await run(['--enrich', 'geo,city'], line);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('comma-separated subset of geo, as, ua');
  });
});
