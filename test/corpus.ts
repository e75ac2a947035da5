// The test corpus: log lines and object keys we wrote ourselves in the documented formats
// (../shared/reference/alb-log-format.md), kept in test/corpus/ and read by every test that needs
// realistic input. The public real samples (test/samples.ts) are an extra corpus on top of it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

/** The corpus files, by log type. Lines in the access-log file are named by ACCESS_SHAPES, in order. */
export const CORPUS_FILES = {
  access: 'access.log',
  connection: 'connection.log',
  healthCheck: 'health-check.log',
  nlb: 'nlb.log',
  control: 'control.txt',
  keys: 's3-keys.txt',
} as const;

/** The corpus files that hold other log types sharing the ALB folders (never ALB access-log lines). */
export const CORPUS_OTHER_LOG_FILES = [CORPUS_FILES.connection, CORPUS_FILES.healthCheck, CORPUS_FILES.nlb] as const;

/** One name per line of access.log, in file order, with the token count each line has. */
export const ACCESS_SHAPES = {
  'http': 29,                            // plain forward, query string
  'https-authenticate': 29,              // authenticate,forward, TLS 1.2, SNI, certificate ARN
  'h2-redirect': 29,                     // no target, -1 times, redirect_url
  'ws': 29,                              // WebSocket, 101, user agent "-", time = close time
  'wss-ipv6-client': 29,                 // unbracketed IPv6 client
  'lambda': 29,                          // Lambda target: target "-", status 200, lists "-"
  'lambda-failure': 29,                  // 502, target status "-", error_reason
  'malformed-url-no-method': 29,         // "- http://host:80- -"
  'malformed-dashes': 29,                // "- - -"
  'malformed-no-version': 29,            // "- http://host:8080- " (trailing space)
  'trailing-space-version': 29,          // "GET … HTTP/1.0 ", NonCompliantVersion
  'space-in-uri': 29,                    // raw spaces in URL and redirect_url, SpaceInUri
  'odd-method-no-port': 29,              // SSTP_DUPLEX_POST, URL without a port
  'client-closed-460': 29,               // 0.003 -1 -1 460 -
  'timeout-504': 29,                     // -1 -1 -1 504 - with a target
  'grpcs': 29,                           // gRPC, HTTP/2.0, TLS 1.3
  'waf-fixed-response': 29,              // waf,fixed-response 403
  'waf-blocked-star-domain': 29,         // waf as the final action, domain "*"
  'ambiguous': 29,                       // Ambiguous classification
  'escapes': 29,                         // \x22, non-ASCII \xHH, 8-digit \x00000022, \x5C in redirect_url
  'empty-actions-space-domain': 29,      // actions "" and a domain with a leading space
  'multi-target-lists': 29,              // two targets and two status codes in the lists
  'tid-ipv6-client': 30,                 // conn_trace_id (2024-05+), TLS 1.3 resumption
  'priority-minus-one': 29,              // matched_rule_priority -1
  'transform-fields': 33,                // transformed_host/uri/status "-" (2025-08+)
  'node-ip': 34,                         // ip_address (2026)
  'ipv6-36-fields': 36,                  // IPv6 client and target, transform, node ip, two unknown fields, escapes
  'fields-20': 20,                       // 2018-02: ends at chosen_cert_arn
  'fields-21': 21,                       // 2018-03: matched_rule_priority
  'fields-25-lambda-error': 25,          // 2018-11: error_reason, no target lists
  'missing-space-typo': 29,              // "-"1: a quote glued to the next field
  'anonymised-ip': 29,                   // 5-octet client IP, domain "ip:443"
  'malformed-with-tid': 30,              // a malformed request still carries a TID
  'no-healthy-target-503': 29,           // 503 without a target
  'auth-error-561': 29,                  // IdP error, AuthInvalidIdToken
  'fixed-response-no-port': 29,          // h2 fixed-response, URL without a port
  'severe-odd-method': 29,               // "--location", Severe BadMethod
} as const;

export type AccessShape = keyof typeof ACCESS_SHAPES;

/** The non-empty lines of one corpus file (comment lines starting with # are left out of s3-keys.txt only). */
export function corpusLines(file: string): string[] {
  const lines = readFileSync(path.join(CORPUS_DIR, file), 'utf8').split('\n').filter((line) => line.length > 0);
  return file === CORPUS_FILES.keys ? lines.filter((line) => !line.startsWith('#')) : lines;
}

/** Every access-log line of the corpus, one per shape. */
export function corpusAccessLines(): string[] {
  return corpusLines(CORPUS_FILES.access);
}

/** The access-log line of one shape. */
export function corpusLine(shape: AccessShape): string {
  const index = Object.keys(ACCESS_SHAPES).indexOf(shape);
  const line = corpusAccessLines()[index];
  if (line === undefined) throw new Error(`test/corpus/${CORPUS_FILES.access} has no line for shape ${shape}`);
  return line;
}

/** `count` access-log lines cycling through the corpus, starting at `start`. */
export function cycleAccessLines(count: number, start = 0): string[] {
  const lines = corpusAccessLines();
  return Array.from({ length: count }, (_, i) => lines[(start + i) % lines.length]!);
}

/** The 36-token line (IPv6 client and target, escapes, TID, transform fields, node ip, two unknown fields). */
export const LINE_36_FIELDS_IPV6 = corpusLine('ipv6-36-fields');
