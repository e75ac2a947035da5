// The processor buffer size is only safe while the measured worst-case expansion holds: recompute it
// over every sample line and the adversarial lines, and check the buffer against the payload limit.
import { describe, expect, it } from 'vitest';
import {
  LAMBDA_RESPONSE_LIMIT_BYTES,
  MEASURED_WORST_CASE_EXPANSION,
  PROCESSOR_BUFFER_SIZE_MB,
  RESPONSE_GUARD_BYTES,
} from '../../../transform/firehose-transform/limits.ts';
import { processRecords } from '../../../transform/firehose-transform/process.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import {
  adversarialLines,
  envelopedLines,
  firehoseEvent,
  measureExpansion,
} from '../../../scripts/transform-fixtures.ts';
import { accessLogLines } from '../../samples.ts';

const MB = 1024 * 1024;
const samples = accessLogLines();
const adversarial = adversarialLines();

describe('transform size limits', () => {
  it.each([
    ['sample lines, bare', () => samples, false],
    ['sample lines, enveloped', () => envelopedLines(samples), false],
    ['adversarial lines, bare', () => adversarial, false],
    ['adversarial lines, enveloped', () => envelopedLines(adversarial), false],
    ['sample lines, bare, event.original', () => samples, true],
    ['sample lines, enveloped, event.original', () => envelopedLines(samples), true],
    ['adversarial lines, bare, event.original', () => adversarial, true],
    ['adversarial lines, enveloped, event.original', () => envelopedLines(adversarial), true],
  ] as const)('expansion of %s stays within MEASURED_WORST_CASE_EXPANSION', (_, data, original) => {
    const lines = data();
    const measured = measureExpansion(lines, { original });
    // Every line must be a document, or the ratio would not cover it.
    expect(measured.records).toBe(lines.length);
    expect(measured.worst).toBeLessThanOrEqual(MEASURED_WORST_CASE_EXPANSION);
    expect(measured.worst).toBeGreaterThan(1);
  });

  it('states the worst case it measured, not a loose bound', () => {
    const worst = Math.max(
      ...[false, true].flatMap((original) => [
        measureExpansion(adversarial, { original }).worst,
        measureExpansion(samples, { original }).worst,
      ]),
    );
    expect(worst).toBeGreaterThan(MEASURED_WORST_CASE_EXPANSION - 1);
  });

  it('picks a processor buffer that Firehose allows and that holds the worst case with a 25% margin', () => {
    expect(PROCESSOR_BUFFER_SIZE_MB).toBeGreaterThanOrEqual(0.2);
    expect(PROCESSOR_BUFFER_SIZE_MB).toBeLessThanOrEqual(3);
    expect(PROCESSOR_BUFFER_SIZE_MB * MB * MEASURED_WORST_CASE_EXPANSION).toBeLessThanOrEqual(0.75 * LAMBDA_RESPONSE_LIMIT_BYTES);
    expect(RESPONSE_GUARD_BYTES).toBeLessThan(LAMBDA_RESPONSE_LIMIT_BYTES);
  });

  it('answers a full buffer of the worst adversarial line under the limit without falling back', () => {
    const worstLine = measureExpansion(adversarial, { original: true }).worstLine;
    const count = Math.floor((PROCESSOR_BUFFER_SIZE_MB * MB) / Buffer.byteLength(worstLine));
    const event = firehoseEvent(Array.from({ length: count }, () => worstLine));
    const { records, stats } = processRecords(event.records, { original: true, enrich: sharedEnricher('all') });
    expect(stats.ok).toBe(count);
    const responseBytes = JSON.stringify({ records }).length;
    expect(responseBytes).toBeLessThanOrEqual(PROCESSOR_BUFFER_SIZE_MB * MB * MEASURED_WORST_CASE_EXPANSION);
    expect(responseBytes).toBeLessThan(RESPONSE_GUARD_BYTES);
  });
});
