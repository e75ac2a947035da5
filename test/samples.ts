// The public real ALB samples (../shared/samples beside the checkout, or ALBATROSS_SAMPLES_DIR),
// an extra corpus on top of the one in test/corpus/. They are not in the repository: tests that
// need them are declared with `describeSamples`/`itSamples`, which run them when the folder exists
// and leave them out otherwise (test/global-setup.ts says so in one line). Everything else reads
// test/corpus.ts, or `accessLogLines()` below, which adds the sample lines when they are present.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { ACCESS_LOG_SAMPLE_FILES, readSampleLines, SAMPLES_DIR } from '../scripts/samples.ts';
import { CORPUS_DIR, CORPUS_FILES, corpusAccessLines, corpusLines } from './corpus.ts';

export { ACCESS_LOG_SAMPLE_FILES, readSampleLines, SAMPLES_DIR };

/** True when the public samples folder exists. */
export const SAMPLES_PRESENT = existsSync(SAMPLES_DIR);

/** `describe` for tests over the public samples: run only when they are present. */
export const describeSamples = describe.runIf(SAMPLES_PRESENT);
/** `it` for a single test over the public samples: run only when they are present. */
export const itSamples = it.runIf(SAMPLES_PRESENT);

/** Files in the samples folder that hold other log types (connection, health-check, NLB). */
export const OTHER_LOG_SAMPLE_FILES = [
  'aws-docs_connection-log-examples.log',
  'aws-docs_health-check-log-examples.log',
  'elastic-integrations_elb_logs_test-alb_NLB-lines.log',
  'elastic-integrations_elb_logs_test-alb_connection-log-lines.log',
] as const;

/** The text of one sample file (for files that are not line lists, e.g. expected JSON). */
export function readSampleFile(file: string): string {
  return readFileSync(path.join(SAMPLES_DIR, file), 'utf8');
}

export interface SourcedLine {
  /** `corpus/access.log` for the corpus, the sample file name otherwise. */
  file: string;
  line: string;
  /** Position of the line in its file. */
  index: number;
}

/** Every access-log line: the corpus, then the public samples when present. */
export function allAccessLogLines(): SourcedLine[] {
  const corpus = corpusAccessLines().map((line, index) => ({ file: `corpus/${CORPUS_FILES.access}`, line, index }));
  if (!SAMPLES_PRESENT) return corpus;
  return [...corpus, ...ACCESS_LOG_SAMPLE_FILES.flatMap((file) => readSampleLines(file).map((line, index) => ({ file, line, index })))];
}

/** The lines of allAccessLogLines() alone. */
export function accessLogLines(): string[] {
  return allAccessLogLines().map(({ line }) => line);
}

/**
 * Folders of `.log` files for tests that read whole folders (indexing everything, backfill): the
 * corpus folder, and the samples folder when present.
 */
export function logFolders(): string[] {
  return SAMPLES_PRESENT ? [CORPUS_DIR, SAMPLES_DIR] : [CORPUS_DIR];
}

/** Every line of every `.log` file in logFolders(), with its file and position. */
export function allLogFileLines(): SourcedLine[] {
  return logFolders().flatMap((folder) =>
    readdirSync(folder).filter((file) => file.endsWith('.log')).sort().flatMap((file) =>
      readFileSync(path.join(folder, file), 'utf8').split('\n').map((line, index) => ({ file, line, index }))));
}

/** Connection-log sample files (AWS documentation examples; Elastic's test lines, one from a plain-HTTP listener). */
export const CONNECTION_LOG_SAMPLE_FILES = ['aws-docs_connection-log-examples.log', 'elastic-integrations_elb_logs_test-alb_connection-log-lines.log'] as const;
/** Health-check-log sample files. */
export const HEALTH_LOG_SAMPLE_FILES = ['aws-docs_health-check-log-examples.log'] as const;

/** The lines of one corpus file, then those of the given sample files when present. */
function corpusThenSamples(corpusFile: string, sampleFiles: readonly string[]): SourcedLine[] {
  const corpus = corpusLines(corpusFile).map((line, index) => ({ file: `corpus/${corpusFile}`, line, index }));
  if (!SAMPLES_PRESENT) return corpus;
  return [...corpus, ...sampleFiles.flatMap((file) => readSampleLines(file).map((line, index) => ({ file, line, index })))];
}

/** Every connection-log line: the corpus, then the public samples when present. */
export function allConnectionLogLines(): SourcedLine[] {
  return corpusThenSamples(CORPUS_FILES.connection, CONNECTION_LOG_SAMPLE_FILES);
}

/** Every health-check-log line: the corpus, then the public samples when present. */
export function allHealthLogLines(): SourcedLine[] {
  return corpusThenSamples(CORPUS_FILES.healthCheck, HEALTH_LOG_SAMPLE_FILES);
}
