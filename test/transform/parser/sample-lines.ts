// Sample lines from ../shared/samples (never copied into the repo).
import { readFileSync } from 'node:fs';
import { SAMPLES_DIR as SAMPLES_ROOT } from '../../samples.ts';
import { ACCESS_LOG_SAMPLE_FILES } from '../../../scripts/samples.ts';

export const SAMPLES_DIR = `${SAMPLES_ROOT}/`;

/** Files of ALB access-log lines. */
export const ACCESS_LOG_FILES = ACCESS_LOG_SAMPLE_FILES;

/** Files in the same folders that are NOT access logs. */
export const OTHER_LOG_FILES = [
  'aws-docs_connection-log-examples.log',
  'aws-docs_health-check-log-examples.log',
  'elastic-integrations_elb_logs_test-alb_NLB-lines.log',
  'elastic-integrations_elb_logs_test-alb_connection-log-lines.log',
] as const;

export function sampleLines(file: string): string[] {
  return readFileSync(SAMPLES_DIR + file, 'utf8').split('\n').filter((line) => line.length > 0);
}

export function allAccessLogLines(): { file: string; line: string; index: number }[] {
  return ACCESS_LOG_FILES.flatMap((file) => sampleLines(file).map((line, index) => ({ file, line, index })));
}

/**
 * A line in the documented 2024+ shape (reference §2.1, §2.5): IPv6 client and target, escapes, TID,
 * transform fields, node ip and two fields AWS has not announced.
 */
export const LINE_36_FIELDS_IPV6 =
  'https 2026-09-17T10:00:01.123456Z app/my-alb/0123456789abcdef 2a02:a33c:4538:1:bcf4:5264:e01c:f215:50718 ' +
  'fd6d:6bbc:c529:6::face:ed83:f46:80 0.001 0.002 0.000 200 200 512 1024 "GET https://example.com:443/a%20b?q=1 HTTP/2.0" ' +
  '"\\x22Mozilla/5.0\\x22 \\xEC\\x97\\x90" TLS_AES_128_GCM_SHA256 TLSv1.3 ' +
  'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/tg/0123456789abcdef "Root=1-5f84c3a3-91b9" "example.com" ' +
  '"session-reused" 10160 2026-09-17T10:00:01.120000Z "waf,forward" "-" "-" ' +
  '"[fd6d:6bbc:c529:6::face:ed83:f46]:80" "200" "-" "-" TID_37acbe0641d1c34287fee137ef3a5286 "rewritten.example.com" "/new/path" "TransformSuccess" 3.34.116.99 "-" "x"';

/** Connection-log sample files (AWS documentation examples; Elastic's test lines, one from a plain-HTTP listener). */
export const CONNECTION_LOG_FILES = ['aws-docs_connection-log-examples.log', 'elastic-integrations_elb_logs_test-alb_connection-log-lines.log'] as const;
/** Health-check-log sample files. */
export const HEALTH_LOG_FILES = ['aws-docs_health-check-log-examples.log'] as const;

export function allLinesOf(files: readonly string[]): { file: string; line: string; index: number }[] {
  return files.flatMap((file) => sampleLines(file).map((line, index) => ({ file, line, index })));
}
