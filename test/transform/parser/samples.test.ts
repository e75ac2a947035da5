// Every access-log line of the corpus (test/corpus) and of the public samples (when present)
// parses; the access-log parser rejects the other log types in the same folders with a reason, and
// connection and health lines parse with their own type's parser; control lines are skipped; Elastic's expected output for its sample agrees where the fields correspond.
import { describe, expect, it } from 'vitest';
import { parseAlbLine, parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { LOG_TYPE_SPECS, type LogType } from '../../../transform/log-types.ts';
import { ACCESS_SHAPES, CORPUS_FILES, CORPUS_OTHER_LOG_FILES, corpusAccessLines, corpusLines } from '../../corpus.ts';
import {
  allAccessLogLines, describeSamples, OTHER_LOG_SAMPLE_FILES, readSampleFile, readSampleLines, SAMPLES_PRESENT, type SourcedLine,
} from '../../samples.ts';

/** Tokens as the format defines them (quoted values or runs of non-spaces), counted independently of the parser. */
function tokenCount(line: string): number {
  return line.match(/"[^"]*"|[^ "]+/g)?.length ?? 0;
}

function checkParses(lines: SourcedLine[]): void {
  const failures = lines
    .map(({ file, index, line }) => ({ file, index, result: parseAlbLine(line) }))
    .filter(({ result }) => result.kind !== 'document');
  expect(failures).toEqual([]);
  for (const { line } of lines) {
    const result = parseAlbLine(line);
    if (result.kind !== 'document') continue; // the failures list above is already empty
    const doc = result.document;
    expect(doc['@timestamp']).toBe(line.split(' ')[1]);
    expect(doc.aws?.elb?.name).toBe(line.split(' ')[2]);
    expect(doc.http?.response?.status_code).toBeTypeOf('number');
    expect(doc.source?.address).toBeTypeOf('string');
  }
}

function taggedLines(lines: SourcedLine[]): [string, number, string[] | undefined][] {
  return lines
    .map(({ file, index, line }) => ({ file, index, result: parseAlbLine(line) }))
    .filter(({ result }) => result.kind === 'document' && result.document.tags !== undefined)
    .map(({ file, index, result }) => [file, index, result.kind === 'document' ? result.document.tags : undefined] as [string, number, string[] | undefined]);
}

describe('corpus access-log lines', () => {
  const lines = allAccessLogLines().filter(({ file }) => file.startsWith('corpus/'));

  it('has one line per declared shape, each with its declared token count', () => {
    const shapes = Object.entries(ACCESS_SHAPES);
    expect(corpusAccessLines()).toHaveLength(shapes.length);
    expect(corpusAccessLines().map((line, i) => [shapes[i]![0], tokenCount(line)])).toEqual(shapes);
    // the documented range: 20 fields (2018) to 36 (2026), and the lengths seen in between
    expect(new Set(Object.values(ACCESS_SHAPES))).toEqual(new Set([20, 21, 25, 29, 30, 33, 34, 36]));
  });

  it('parses every line into a document with the core fields', () => {
    checkParses(lines);
  });

  it('tags only the lines with malformed values (the anonymised IP, the typo line)', () => {
    const shapeIndex = (name: keyof typeof ACCESS_SHAPES) => Object.keys(ACCESS_SHAPES).indexOf(name);
    expect(taggedLines(lines)).toEqual([
      [`corpus/${CORPUS_FILES.access}`, shapeIndex('missing-space-typo'), ['missing_space_after_quote']],
      [`corpus/${CORPUS_FILES.access}`, shapeIndex('anonymised-ip'), ['malformed_source.ip']],
    ]);
  });
});

describe('every access-log line (corpus and public samples)', () => {
  it('JSON output equals JSON.stringify of the document, with and without source/original', () => {
    allAccessLogLines().forEach(({ line, file, index }) => {
      for (const options of [undefined, { source: { bucket: 'b', key: file, offset: index * 100 }, original: true }]) {
        const doc = parseAlbLine(line, options);
        const json = parseAlbLineToJson(line, options);
        expect(json.kind).toBe('document');
        if (doc.kind === 'document' && json.kind === 'document') expect(json.json).toBe(JSON.stringify(doc.document));
      }
    });
  });
});

/** The log type of a file of other log lines, by its name (NLB lines have none: no parser takes them). */
function otherLogTypeOf(file: string): LogType | undefined {
  if (file.includes('connection')) return 'connection';
  if (file.includes('health-check')) return 'health';
  return undefined;
}

/** The access-log parser rejects each line; a connection or health line is a document for its own type's parser. */
function checkOtherLogType(file: string, lines: string[]): void {
  const type = otherLogTypeOf(file);
  for (const line of lines) {
    const result = parseAlbLine(line);
    expect(result.kind, line).toBe('failed');
    expect(result.kind === 'failed' && result.reason).toMatch(/fields; an ALB access-log line has at least 20|is not an ISO 8601 UTC timestamp/);
    const own = type === undefined ? undefined : LOG_TYPE_SPECS[type].parse(line);
    if (type !== undefined) expect(own?.kind, `${type} parser on ${line}`).toBe('document');
    else for (const spec of Object.values(LOG_TYPE_SPECS)) expect(spec.parse(line).kind, line).toBe('failed');
  }
}

describe('other log types in the same folders (corpus)', () => {
  it.each(CORPUS_OTHER_LOG_FILES)('%s: the access-log parser rejects every line with a reason; connection and health lines parse with their own parser', (file) => {
    const lines = corpusLines(file);
    expect(lines.length).toBeGreaterThan(1);
    checkOtherLogType(file, lines);
  });

  it('skips the ELBAccessLogTestFile control lines', () => {
    for (const line of corpusLines(CORPUS_FILES.control)) {
      expect(parseAlbLine(line)).toEqual({ kind: 'skipped', reason: 'ELB logging control line' });
    }
  });
});

describeSamples('public sample access-log lines', () => {
  // allAccessLogLines() holds only the corpus when the samples are absent (then this block is skipped).
  const lines = allAccessLogLines().filter(({ file }) => !file.startsWith('corpus/'));

  it('has the expected corpus', () => {
    expect(lines.length).toBe(672);
  });

  it('parses every line into a document with the core fields', () => {
    checkParses(lines);
  });

  it('tags only the lines with malformed values (anonymised IPs, the typo line)', () => {
    expect(taggedLines(lines).map(([file, , tags]) => [file, tags])).toEqual([
      ['beats_example-alb-http.log', ['missing_space_after_quote']],
      ['loki-lambda-promtail_albaccesslog.log', ['malformed_source.ip']],
      ['loki-lambda-promtail_albaccesslog.log', ['malformed_source.ip']],
    ]);
  });

  it.each(OTHER_LOG_SAMPLE_FILES)('%s: the access-log parser rejects every line with a reason; connection and health lines parse with their own parser', (file) => {
    checkOtherLogType(file, readSampleLines(file));
  });

  it('skips the ELBAccessLogTestFile control lines', () => {
    for (const line of readSampleLines('control-messages_ELBAccessLogTestFile.txt')) {
      expect(parseAlbLine(line)).toEqual({ kind: 'skipped', reason: 'ELB logging control line' });
    }
  });
});

describeSamples('agreement with Elastic\'s expected output (elastic/integrations test-alb.log, public samples)', () => {
  // Read only when the samples are there: a skipped block is still collected.
  const expected = (SAMPLES_PRESENT ? JSON.parse(readSampleFile('elastic-integrations_elb_logs_test-alb.log-expected.json')) : { expected: [] }) as {
    expected: Record<string, any>[];
  };
  const lines = SAMPLES_PRESENT ? readSampleLines('elastic-integrations_elb_logs_test-alb.log') : [];

  it.each(lines.map((line, i) => [i, line] as const))('line %i', (i, line) => {
    const elastic = expected.expected[i]!;
    const result = parseAlbLine(line);
    expect(result.kind).toBe('document');
    if (result.kind !== 'document') return;
    const ours = result.document;
    const elb = elastic.aws.elb;
    // Elastic truncates @timestamp to milliseconds; we keep microseconds.
    expect(ours['@timestamp']!.slice(0, 23)).toBe(elastic['@timestamp'].slice(0, 23));
    expect(ours.event?.start).toBe(elastic.event.start);
    expect(ours.event?.outcome).toBe(elastic.event.outcome);
    expect(ours.event?.kind).toBe(elastic.event.kind);
    expect(ours.event?.category).toEqual(elastic.event.category);
    expect(ours.source?.ip).toBe(elastic.source.ip);
    expect(ours.source?.port).toBe(elastic.source.port);
    expect(ours.source?.address).toBe(elastic.source.address);
    expect(ours.http?.request?.method).toBe(elastic.http.request.method);
    expect(ours.http?.request?.bytes).toBe(elastic.http.request.body.bytes);
    expect(ours.http?.response?.bytes).toBe(elastic.http.response.body.bytes);
    expect(ours.http?.response?.status_code).toBe(elastic.http.response.status_code);
    expect(ours.http?.version).toBe(elastic.http.version);
    expect(ours.url).toEqual(elastic.url);
    expect(ours.user_agent?.original).toBe(elastic.user_agent.original);
    expect(ours.trace?.id).toBe(elastic.trace.id);
    expect(ours.aws?.elb?.name).toBe(elb.name);
    expect(ours.aws?.elb?.type).toBe(elb.type);
    expect(ours.aws?.elb?.action_executed).toEqual(elb.action_executed);
    expect(ours.aws?.elb?.redirect_url).toBe(elb.redirect_url);
    expect(ours.aws?.elb?.classification).toBe(elb.classification);
    expect(ours.aws?.elb?.classification_reason).toBe(elb.classification_reason);
    expect(ours.aws?.elb?.target_port).toEqual(elb.target_port);
    expect(ours.aws?.elb?.target_status_code).toEqual(elb.target_status_code);
    // Elastic keeps the priority and backend port as strings; ours are integers.
    expect(String(ours.aws?.elb?.matched_rule_priority)).toBe(elb.matched_rule_priority);
    expect(ours.aws?.elb?.backend?.ip).toBe(elb.backend?.ip);
    expect(ours.aws?.elb?.backend?.port === undefined ? undefined : String(ours.aws.elb.backend.port)).toBe(elb.backend?.port);
    expect(ours.aws?.elb?.backend?.http?.response?.status_code).toBe(elb.backend?.http?.response?.status_code);
    for (const time of ['request_processing_time', 'backend_processing_time', 'response_processing_time'] as const) {
      expect(ours.aws?.elb?.[time]).toEqual(elb[time]);
    }
    // Elastic writes a "-" target group ARN literally; we leave the field out.
    expect(ours.aws?.elb?.target_group?.arn).toBe(elb.target_group.arn === '-' ? undefined : elb.target_group.arn);
  });
});
