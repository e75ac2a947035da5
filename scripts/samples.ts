// The shared sample ALB logs (public material beside the checkout in ../shared/samples, read and
// never copied into the repo), used by the benchmarks and the tests. ALBATROSS_SAMPLES_DIR points
// elsewhere when the checkout does not sit beside shared/.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const SAMPLES_DIR = path.resolve(process.env['ALBATROSS_SAMPLES_DIR'] || path.join(REPO_ROOT, '../shared/samples'));

/** Sample files that hold ALB access-log lines (the others are connection/health-check/NLB logs, keys, control lines). */
export const ACCESS_LOG_SAMPLE_FILES = [
  'aws-docs_2023-04_access-log-examples.log',
  'beats_application-lb-http.log',
  'beats_example-alb-http.log',
  'centralized-logging-with-opensearch_elb.log',
  'coralogix-aws-shipper_elb.log',
  'elastic-integrations_elb_logs_test-alb.log',
  'loki-lambda-promtail_albaccesslog.log',
  'opensearch-catalog_amazon_elb_raw.log',
] as const;

/** The non-empty lines of one sample file. */
export function readSampleLines(file: string): string[] {
  return readFileSync(path.join(SAMPLES_DIR, file), 'utf8').split('\n').filter((line) => line.length > 0);
}
