import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { count, date, fraction, logSource, port, positiveCount, positiveNumber, utcDay, wholeNumber } from '../../../scripts/commands/option-values.ts';
import { CORPUS_DIR, CORPUS_FILES } from '../../corpus.ts';

describe('option values', () => {
  it('whole numbers with a lower bound', () => {
    expect(count('0')).toBe(0);
    expect(positiveCount('200000')).toBe(200_000);
    expect(wholeNumber(5)('5')).toBe(5);
    for (const bad of ['', ' ', '-1', '1.5', 'ten', '1e400']) expect(() => count(bad), bad).toThrow(InvalidArgumentError);
    expect(() => positiveCount('0')).toThrow('must be a whole number >= 1');
  });

  it('positive numbers and fractions', () => {
    expect(positiveNumber('0.25')).toBe(0.25);
    for (const bad of ['0', '-2', 'NaN', 'Infinity', '']) expect(() => positiveNumber(bad), bad).toThrow('must be a number > 0');
    expect(fraction('0')).toBe(0);
    expect(fraction('0.3')).toBe(0.3);
    for (const bad of ['1', '-0.1', '30%', '']) expect(() => fraction(bad), bad).toThrow('must be a fraction in [0, 1)');
  });

  it('ports, dates and UTC days', () => {
    expect(port('0')).toBe(0);
    expect(port('9200')).toBe(9200);
    for (const bad of ['65536', '-1', '80.5', '']) expect(() => port(bad), bad).toThrow('must be a port number 0-65535');
    expect(date('2026-01-31').toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(date('2026-01-31T12:30:00Z').toISOString()).toBe('2026-01-31T12:30:00.000Z');
    expect(() => date('yesterday')).toThrow('must be a date such as 2026-01-31');
    expect(utcDay('2024-02-29')).toBe('2024-02-29');
    for (const bad of ['2023-02-29', '2026-13-01', '2026-1-1', '2026-01-01T00:00:00Z']) expect(() => utcDay(bad), bad).toThrow('must be a UTC day, YYYY-MM-DD');
  });

  it('backfill sources: s3:// URLs with a valid bucket, or an existing folder', () => {
    for (const good of ['s3://alb-logs', 's3://alb-logs/', 's3://my.alb-logs-1/AWSLogs/123456789012/', 's3://Legacy_Bucket/x', CORPUS_DIR]) expect(logSource(good)).toBe(good);
    for (const bad of ['s3://', 's3:///prefix', 's3://ab/logs', 's3://bucket name/x', 's3://-bucket/x', 'https://example.com/logs', 'S3://bucket']) {
      expect(() => logSource(bad), bad).toThrow('must be s3://bucket/prefix with a valid bucket name');
    }
    expect(() => logSource(`${CORPUS_DIR}/no-such-folder`)).toThrow('no such folder');
    expect(() => logSource(`${CORPUS_DIR}/${CORPUS_FILES.access}`)).toThrow('is not a folder');
  });

  it('reach the user as commander errors naming the option', () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined }).option('--port <n>', 'port', port);
    expect(() => program.parse(['--port', '70000'], { from: 'user' })).toThrow("option '--port <n>' argument '70000' is invalid. must be a port number 0-65535");
  });
});
