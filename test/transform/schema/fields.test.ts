// The schema, the parser output and the generated field reference cannot drift.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIELD_DOCS_PATH, renderFieldDocs } from '../../../scripts/generate-field-docs.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { parseAlbLine } from '../../../transform/parser/index.ts';
import { SCHEMA_FIELDS, type SchemaField } from '../../../transform/schema/fields.ts';
import { byPath, leaves, schemaProblems } from './schema-check.ts';
import { allAccessLogLines } from '../../samples.ts';
import { LINE_36_FIELDS_IPV6 } from '../../corpus.ts';

describe('SCHEMA_FIELDS', () => {
  it('has unique paths, none of which is a prefix object of another', () => {
    const paths = SCHEMA_FIELDS.map((field) => field.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const path of paths) expect(paths.filter((other) => other.startsWith(`${path}.`))).toEqual([]);
  });

  it('covers the issue\'s document table', () => {
    for (const path of [
      '@timestamp', 'aws.elb.type', 'aws.elb.name', 'source.ip', 'source.port', 'source.address', 'aws.elb.backend.ip',
      'aws.elb.backend.port', 'aws.elb.request_processing_time.sec', 'aws.elb.backend_processing_time.sec',
      'aws.elb.response_processing_time.sec', 'http.response.status_code', 'aws.elb.backend.http.response.status_code',
      'http.request.bytes', 'http.response.bytes', 'http.request.method', 'url.original', 'http.version', 'url.scheme',
      'url.domain', 'url.port', 'url.path', 'url.query', 'user_agent.original', 'tls.cipher', 'tls.version',
      'tls.version_protocol', 'aws.elb.target_group.arn', 'trace.id', 'tls.client.server_name', 'aws.elb.chosen_cert.arn',
      'aws.elb.matched_rule_priority', 'event.start', 'aws.elb.action_executed', 'aws.elb.redirect_url', 'aws.elb.error.reason',
      'aws.elb.target_port', 'aws.elb.target_status_code', 'aws.elb.classification', 'aws.elb.classification_reason',
      'aws.elb.conn_trace_id', 'aws.elb.transformed_host', 'aws.elb.transformed_uri', 'aws.elb.request_transform_status',
      'aws.elb.node.ip', 'aws.elb.extra_fields', 'event.kind', 'event.category', 'event.type', 'event.outcome',
      'event.duration', 'event.id', 'event.original', 'cloud.provider', 'cloud.account.id', 'cloud.region',
      'log.file.path', 'log.offset', 'tags',
    ]) {
      expect(byPath.has(path), path).toBe(true);
    }
    expect(byPath.get('@timestamp')?.type).toBe('date_nanos');
    expect(byPath.get('http.request.bytes')?.type).toBe('long');
    expect((byPath.get('user_agent.original') as SchemaField | undefined)?.text).toBe(true);
    expect((byPath.get('aws.elb.action_executed') as SchemaField | undefined)?.array).toBe(true);
  });
});

describe('parser output matches the schema', () => {
  it('every path emitted on every sample line is a schema field with a value of the right JS type', () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    const lines = [...allAccessLogLines(), { line: LINE_36_FIELDS_IPV6, file: 'synthetic', index: 0 }];
    for (const { line, file, index } of lines) {
      // the second pass enriches (bundled data): the sample lines include public IPv4 and IPv6 clients
      for (const options of [undefined, { source: { bucket: 'b', key: file, offset: index }, original: true, enrich: sharedEnricher('all') }]) {
        const result = parseAlbLine(line, options);
        if (result.kind !== 'document') {
          problems.push(`${file}:${index + 1} did not parse`);
          continue;
        }
        problems.push(...schemaProblems(result.document).map((problem) => `${file}:${index + 1}: ${problem}`));
        for (const [path] of leaves(result.document)) seen.add(path);
      }
    }
    expect(problems).toEqual([]);
    // together the lines exercise nearly the whole schema
    expect(SCHEMA_FIELDS.map((field) => field.path).filter((path) => !seen.has(path))).toEqual([]);
  });

  it('schemaProblems catches what it should', () => {
    expect(schemaProblems({ source: { ip: 5 }, nope: 'x', tags: ['bogus'], aws: { elb: { action_executed: [] } } })).toEqual([
      'source.ip: 5 is not a string', 'nope is not in SCHEMA_FIELDS', 'aws.elb.action_executed: Symbol(not a non-empty array) is not a string', 'unknown tag bogus',
    ]);
  });
});

describe('docs/fields.md', () => {
  it('is the generator output (run `npm run docs:fields` after changing the schema)', () => {
    expect(readFileSync(FIELD_DOCS_PATH, 'utf8')).toBe(renderFieldDocs());
  });
  it('lists every schema field', () => {
    const docs = renderFieldDocs();
    for (const field of SCHEMA_FIELDS) expect(docs).toContain(`| \`${field.path}\` |`);
  });
});
