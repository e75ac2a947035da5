// Synthetic, deterministic ALB logs in the S3 layout ALB writes: access logs, and optionally
// connection logs (sharing the access lines' conn_trace_id values, with handshake failures mixed
// in) and health-check logs (with failing targets).
// Same options => same bytes. Objects are 5-minute files of one LB node; their
// lines are not sorted (as in real objects) and the key's date folder is the
// delivery date (end time + a few minutes), so late lines sit in the next day's
// folder exactly as they do in S3.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRandom } from './random.ts';
import type { LogType } from '../../transform/log-types.ts';

export interface GenerateOptions {
  lines: number;            // total lines, malformed ones included
  days: number;             // traffic spread over this many UTC days ending at `end`
  seed: number;
  files?: number;           // number of objects; default one per 25,000 lines
  badLines?: number;        // malformed lines mixed in (counted in `lines`)
  emptyLines?: number;      // empty lines mixed in, as real objects may hold (counted in `lines`)
  end?: Date;               // exclusive end of the traffic; default 2026-01-01T00:00:00Z
  account?: string;
  region?: string;
  loadBalancer?: string;    // name part of app/<name>/<id>
  connectionLines?: number; // connection-log lines, in conn_log_ objects after the access objects (default 0)
  healthLines?: number;     // health-check-log lines, in health_check_log_ objects (default 0)
}

export interface GeneratedObject {
  type: LogType;
  key: string;              // S3 key, AWSLogs/<acct>/elasticloadbalancing/...
  lines: number;            // lines in the object (bad ones included)
  badLines: number;
  badLineNumbers: number[]; // 0-based line numbers of the malformed lines
  emptyLines: number;
  bytes: number;            // uncompressed size
  body: Buffer;             // gzip content
}

export interface Manifest {
  objects: Omit<GeneratedObject, 'body'>[];
  lines: number;
  badLines: number;
  emptyLines: number;
  bytes: number;
  /** Objects, lines and malformed lines of each log type. */
  byType: Record<LogType, { objects: number; lines: number; badLines: number }>;
}

/** Per-type totals of generated objects. */
export function countByType(objects: readonly Pick<GeneratedObject, 'type' | 'lines' | 'badLines'>[]): Manifest['byType'] {
  const byType: Manifest['byType'] = { access: { objects: 0, lines: 0, badLines: 0 }, connection: { objects: 0, lines: 0, badLines: 0 }, health: { objects: 0, lines: 0, badLines: 0 } };
  for (const object of objects) {
    byType[object.type].objects++;
    byType[object.type].lines += object.lines;
    byType[object.type].badLines += object.badLines;
  }
  return byType;
}

const DEFAULT_END = new Date('2026-01-01T00:00:00Z');
const LINES_PER_OBJECT = 25_000;
const INTERVAL_MS = 5 * 60_000;
const DELIVERY_DELAY_MS = 4 * 60_000;

type Random = () => number;

/** Weighted choice with precomputed cumulative weights. */
class Weighted<T> {
  private readonly cumulative: number[] = [];
  private readonly total: number;
  constructor(private readonly items: readonly T[], weights: readonly number[]) {
    let sum = 0;
    for (const w of weights) this.cumulative.push((sum += w));
    this.total = sum;
  }
  pick(random: Random): T {
    const x = random() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
  static zipf<T>(items: readonly T[], exponent = 1.1): Weighted<T> {
    return new Weighted(items, items.map((_, i) => 1 / (i + 1) ** exponent));
  }
  static of<T>(pairs: readonly (readonly [T, number])[]): Weighted<T> {
    return new Weighted(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
  }
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `digits` (even) random lowercase hex digits. */
function hex(random: Random, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i += 2) s += HEX_PAIRS[(random() * 256) | 0];
  return s;
}

function alnum(random: Random, length: number): string {
  const chars = '0123456789abcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < length; i++) s += chars[Math.floor(random() * chars.length)];
  return s;
}

const PATHS = [
  '/', '/api/v1/orders', '/api/v1/products', '/static/app.js', '/static/app.css', '/api/v1/cart', '/login',
  '/health', '/api/v1/users/me', '/images/logo.png', '/search', '/api/v1/checkout', '/favicon.ico',
  '/api/v2/recommendations', '/docs/getting-started', '/robots.txt', '/api/v1/orders/export', '/account/settings',
  '/wp-login.php', '/.env', '/api/v1/reviews', '/blog/2025/11/launch', '/sitemap.xml', '/api/v1/inventory',
];
const QUERIES = ['', '', '', '?page=2', '?q=shoes&sort=price', '?utm_source=newsletter', '?id=42'];
const GRPC_PATHS = ['/shop.Catalog/GetProduct', '/shop.Catalog/ListProducts', '/shop.Orders/Create', '/grpc.health.v1.Health/Check'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'curl/8.5.0',
  'okhttp/4.12.0',
  'python-requests/2.32.3',
  'ELB-HealthChecker/2.0',
  'Go-http-client/1.1',
  // ALB escapes `"`, `\` and non-ASCII bytes as \xHH inside quoted fields.
  '\\x22Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)\\x22',
  'Mozilla/5.0 (Linux; Android 14; SM-S918N) \\xEC\\x82\\xBC\\xEC\\x84\\xB1 Browser/25.0',
  'scanner\\x5Cv1.0 (+https://example.net/bot)',
  'grpc-go/1.68.0',
  '-',
];
const TLS: readonly (readonly [string, string])[] = [
  ['ECDHE-RSA-AES128-GCM-SHA256', 'TLSv1.2'],
  ['ECDHE-RSA-AES256-GCM-SHA384', 'TLSv1.2'],
  ['TLS_AES_128_GCM_SHA256', 'TLSv1.3'],
  ['TLS_AES_256_GCM_SHA384', 'TLSv1.3'],
];

/**
 * Where clients come from: public /16 (IPv4) and /32 (IPv6) networks of access and cloud providers
 * in several countries (so enrichment finds countries, cities and networks: see
 * transform/enrich/examples.md), plus internal clients on private addresses, which get no location.
 */
const CLIENT_NETWORKS = Weighted.of<string>([
  ['73.162', 20],   // US, Comcast
  ['24.114', 5],    // CA, Rogers
  ['86.128', 10],   // GB, BT
  ['87.150', 8],    // DE, Deutsche Telekom
  ['91.64', 5],     // DE, Vodafone
  ['145.53', 4],    // NL, KPN
  ['126.0', 8],     // JP, SoftBank
  ['49.36', 8],     // IN, Reliance Jio
  ['1.128', 5],     // AU, Telstra
  ['203.116', 3],   // SG, StarHub
  ['187.190', 3],   // MX, Totalplay
  ['36.112', 3],    // CN
  ['3.80', 5],      // US, Amazon (cloud: scrapers, monitors)
  ['35.190', 3],    // US, Google Cloud
  ['116.202', 2],   // DE, Hetzner
  ['62.210', 2],    // FR, Scaleway
  ['10.20', 6],     // internal clients (private: no location)
  ['2a01:e0a', 4],  // FR, Free
  ['2003:e0', 4],   // DE, Deutsche Telekom
  ['2600:1700', 4], // US, AT&T
  ['2400:4050', 2], // JP, NTT
  ['2804:14c', 2],  // BR, Claro
  ['2406:da18', 1], // SG, Amazon
]);

interface Pools {
  clients: Weighted<string>;
  targets: string[];
  paths: Weighted<string>;
  userAgents: Weighted<string>;
  tls: Weighted<readonly [string, string]>;
}

function buildPools(random: Random): Pools {
  const clients: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const network = CLIENT_NETWORKS.pick(random);
    if (network.includes(':')) {
      // Unbracketed IPv6, as ALB writes it; the port follows the last colon.
      clients.push(`${network}:${hex(random, 4)}:${hex(random, 2)}::${hex(random, 3)}`);
    } else {
      clients.push(`${network}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`);
    }
  }
  const targets: string[] = [];
  for (let i = 0; i < 12; i++) targets.push(`10.0.${Math.floor(i / 4)}.${10 + i}:${i % 3 === 0 ? 8080 : 80}`);
  return {
    clients: Weighted.zipf(clients, 1.0),
    targets,
    paths: Weighted.zipf(PATHS, 1.3),
    userAgents: Weighted.zipf(USER_AGENTS, 0.9),
    tls: new Weighted(TLS, [30, 5, 55, 10]),
  };
}

type Outcome = 'forward' | 'redirect' | 'fixed' | 'closed' | 'badGateway' | 'unavailable' | 'timeout' | 'waf';
const OUTCOMES = Weighted.of<Outcome>([
  ['forward', 900], ['redirect', 30], ['fixed', 15], ['closed', 15], ['badGateway', 12], ['unavailable', 8], ['timeout', 5], ['waf', 10],
]);
const FORWARD_STATUS = Weighted.of([
  [200, 780], [201, 20], [204, 25], [206, 5], [301, 10], [302, 25], [304, 40], [400, 15], [401, 12], [403, 8], [404, 40], [429, 5], [500, 12],
]);
const TYPES = Weighted.of([['http', 20], ['https', 45], ['h2', 25], ['grpcs', 5], ['ws', 2], ['wss', 3]] as const);
// 29 fields (2020 format), 30 (+conn_trace_id), 33 (+transform fields), 34 (+ip_address).
const FIELD_COUNTS = Weighted.of([[29, 10], [30, 20], [33, 30], [34, 40]] as const);

/** Long-tailed seconds: log-normal body (median ~20 ms) with a rare slow tail. */
function latency(random: Random): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  let seconds = Math.exp(-3.9 + 1.1 * normal);
  if (random() < 0.004) seconds += 1 + random() * 20;
  return seconds;
}

function isoMicros(ms: number, micros: number): string {
  return new Date(ms).toISOString().slice(0, 23) + String(micros).padStart(3, '0') + 'Z';
}

/** A processing time as ALB writes it: seconds with three decimals, or `-1` (no target was reached). */
function seconds3(s: number): string {
  return s === -1 ? '-1' : s.toFixed(3);
}

interface LineContext {
  random: Random;
  pools: Pools;
  elb: string;
  nodeIp: string;
  targetGroupArn: string;
  certArn: string;
  /** Collects the conn_trace_id of access lines, for connection lines to reuse (up to a limit). */
  traceIds?: string[];
}

function accessLine(c: LineContext, timeMs: number): string {
  const { random, pools } = c;
  const type = TYPES.pick(random);
  const tls = type !== 'http' && type !== 'ws';
  const client = `${pools.clients.pick(random)}:${1024 + Math.floor(random() * 64000)}`;
  const outcome = OUTCOMES.pick(random);
  const target = pools.targets[Math.floor(random() * pools.targets.length)]!;
  const host = random() < 0.9 ? 'www.example.com' : 'api.example.com';
  const port = tls ? 443 : 80;
  const scheme = tls ? 'https' : 'http';
  let method = random() < 0.82 ? 'GET' : random() < 0.7 ? 'POST' : random() < 0.5 ? 'PUT' : 'DELETE';
  let urlPath = pools.paths.pick(random) + QUERIES[Math.floor(random() * QUERIES.length)]!;
  let version = type === 'h2' || type === 'grpcs' ? 'HTTP/2.0' : 'HTTP/1.1';
  if (type === 'grpcs') {
    method = 'POST';
    urlPath = GRPC_PATHS[Math.floor(random() * GRPC_PATHS.length)]!;
  } else if (type === 'ws' || type === 'wss') {
    method = 'GET';
    urlPath = '/live/socket';
    version = 'HTTP/1.1';
  }
  const userAgent = type === 'grpcs' ? 'grpc-go/1.68.0' : pools.userAgents.pick(random);

  let targetField = target;
  let rpt = random() * 0.002;
  let tpt = latency(random);
  let respt = random() * 0.001;
  let elbStatus: number;
  let targetStatus = '-';
  let actions = 'forward';
  let redirectUrl = '-';
  let errorReason = '-';
  let tgArn = c.targetGroupArn;
  let rule = String(Math.floor(random() * 10));
  let sent = Math.round(Math.exp(6 + 1.6 * random() * 3));
  const received = 80 + Math.floor(random() * 900) + (method === 'POST' ? Math.floor(random() * 4000) : 0);
  switch (outcome) {
    case 'forward':
      elbStatus = type === 'ws' || type === 'wss' ? 101 : type === 'grpcs' ? 200 : FORWARD_STATUS.pick(random);
      targetStatus = String(elbStatus);
      if (type === 'ws' || type === 'wss') tpt = 0.001 + random() * 0.01;
      if (random() < 0.05) actions = 'waf,forward';
      else if (random() < 0.03) actions = 'authenticate,forward';
      break;
    case 'redirect':
      elbStatus = random() < 0.8 ? 301 : 302;
      targetField = '-';
      rpt = tpt = respt = -1;
      actions = 'redirect';
      redirectUrl = `https://${host}:443${urlPath}`;
      tgArn = '-';
      sent = 150 + Math.floor(random() * 200);
      break;
    case 'fixed':
      elbStatus = random() < 0.6 ? 404 : random() < 0.5 ? 200 : 503;
      targetField = '-';
      rpt = tpt = respt = -1;
      actions = 'fixed-response';
      tgArn = '-';
      sent = 120 + Math.floor(random() * 100);
      break;
    case 'closed':
      elbStatus = 460;
      rpt = tpt = respt = -1;
      sent = 0;
      break;
    case 'badGateway':
      elbStatus = 502;
      tpt = respt = -1;
      errorReason = random() < 0.5 ? '-' : 'LambdaInvalidResponse';
      break;
    case 'unavailable':
      elbStatus = 503;
      targetField = '-';
      rpt = tpt = respt = -1;
      break;
    case 'timeout':
      elbStatus = 504;
      tpt = respt = -1;
      rpt = 0.001;
      break;
    case 'waf':
      elbStatus = 403;
      targetField = '-';
      rpt = tpt = respt = -1;
      actions = 'waf';
      tgArn = '-';
      rule = '0';
      break;
  }
  const totalMs = Math.max(0, (rpt > 0 ? rpt : 0) + (tpt > 0 ? tpt : outcome === 'timeout' ? 60 : 0)) * 1000;
  const time = isoMicros(timeMs, Math.floor(random() * 1000));
  const created = new Date(timeMs - Math.ceil(totalMs)).toISOString().slice(0, 23) + '000Z';
  const [cipher, protocol] = tls ? pools.tls.pick(random) : ['-', '-'];
  const traceId = `Root=1-${Math.floor(timeMs / 1000).toString(16)}-${hex(random, 24)}`;
  const domain = tls ? host : '-';
  const cert = tls ? (random() < 0.3 ? 'session-reused' : c.certArn) : '-';
  const targetList = targetField === '-' ? '-' : targetField;
  const targetStatusList = targetStatus;
  const fieldCount = FIELD_COUNTS.pick(random);

  // drawn here, where the line's last random draw always was: the same seed gives the same access lines
  const connTraceId = fieldCount >= 30 ? `TID_${hex(random, 32)}` : undefined;
  if (connTraceId !== undefined) c.traceIds?.push(connTraceId);
  let line =
    `${type} ${time} ${c.elb} ${client} ${targetField} ${seconds3(rpt)} ${seconds3(tpt)} ${seconds3(respt)} ` +
    `${elbStatus} ${targetStatus} ${received} ${sent} "${method} ${scheme}://${host}:${port}${urlPath} ${version}" ` +
    `"${userAgent}" ${cipher} ${protocol} ${tgArn} "${traceId}" "${domain}" "${cert}" ${rule} ${created} ` +
    `"${actions}" "${redirectUrl}" "${errorReason}" "${targetList}" "${targetStatusList}" "-" "-"`;
  if (connTraceId !== undefined) line += ` ${connTraceId}`;
  if (fieldCount >= 33) line += ' "-" "-" "-"';
  if (fieldCount >= 34) line += ` ${c.nodeIp}`;
  return line;
}

/** Lines the parser must reject (never skip): each is structurally broken. */
function malformedLine(random: Random, good: string, n: number): string {
  switch (n % 4) {
    case 0: // cut short mid-line, as from a torn write
      return good.slice(0, 40 + Math.floor(random() * 20));
    case 1:
      return `this is not an ALB access log line #${n}`;
    case 2: // timestamp garbled
      return good.replace(/^(\S+) \S+/, '$1 2025-13-45T99:99:99.000000Z');
    default: // the request's quote is never closed
      return good.slice(0, good.indexOf('"') + 25);
  }
}

const CLIENT_SUBJECTS = Array.from({ length: 40 }, (_, i) => `CN=device-${String(i + 1).padStart(4, '0')}.iot.example.com,O=Example Devices,C=US`);
/** Certificates that keep failing verification: the clients a connection dashboard should surface. */
const BAD_CERTIFICATES = [
  { subject: 'CN=legacy-scanner.example.net,O=Old Corp,C=DE', reason: 'ClientCertExpired' },
  { subject: 'CN=unknown-client,O=Self Signed,C=NL', reason: 'ClientCertUntrusted' },
  { subject: 'CN=device-9999.iot.example.com,O=Example Devices,C=US', reason: 'ClientCertCrlHit' },
];
const OTHER_VERIFY_FAILURES = Weighted.of([['ClientCertUntrusted', 40], ['ClientCertNotYetValid', 10], ['ClientCertInvalid', 10], ['UnmappedConnectionError', 40]] as const);
const KEY_EXCHANGES = Weighted.of([['X25519', 60], ['X25519MLKEM768', 25], ['secp256r1', 15]] as const);

interface OtherLineContext {
  random: Random;
  pools: Pools;
  elb: string;
  nodeIp: string;
  traceIds: string[];
  next: number;
}

/** One connection-log line (reference §3): 15 fields, or the 12 of the first format. */
function connectionLine(c: OtherLineContext, timeMs: number): string {
  const { random, pools } = c;
  const time = isoMicros(timeMs, Math.floor(random() * 1000));
  const client = pools.clients.pick(random);
  const port = 1024 + Math.floor(random() * 64000);
  // the access lines' trace ids first (their connections), then new ones
  const tid = c.next < c.traceIds.length ? c.traceIds[c.next++]! : `TID_${hex(random, 32)}`;
  const tail = random() < 0.8 ? ` ${random() < 0.15 ? '-' : KEY_EXCHANGES.pick(random)} ${c.elb} ${c.nodeIp}` : '';
  if (random() < 0.15) return `${time} ${client} ${port} 80 - - - "-" - - - ${tid}${tail}`; // plain-HTTP listener
  const [cipher, protocol] = pools.tls.pick(random);
  let subject = CLIENT_SUBJECTS[Math.floor(random() * CLIENT_SUBJECTS.length)]!;
  let status = 'Success';
  const roll = random();
  if (roll < 0.03) {
    const bad = BAD_CERTIFICATES[Math.floor(random() * BAD_CERTIFICATES.length)]!;
    subject = bad.subject;
    status = `Failed:${bad.reason}`;
  } else if (roll < 0.05) {
    status = `Failed:${OTHER_VERIFY_FAILURES.pick(random)}`;
  }
  const failed = status !== 'Success';
  const latency = failed ? '-' : (0.002 + random() * random() * 0.08).toFixed(3);
  const notBefore = `202${4 + Math.floor(random() * 2)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 10)}T08:00:00Z`;
  const notAfter = status === 'Failed:ClientCertExpired' ? '2025-06-30T08:00:00Z' : '2027-06-30T08:00:00Z';
  const noCertificate = status === 'Failed:UnmappedConnectionError';
  const certificate = noCertificate ? '"-" - -' : `"${subject}" NotBefore=${notBefore};NotAfter=${notAfter} ${hex(random, 16).toUpperCase()}`;
  return `${time} ${client} ${port} 443 ${protocol} ${cipher} ${latency} ${certificate} ${status} ${tid}${tail}`;
}

/** Targets that fail their health checks some of the time (index into the target pool), and how. */
const FAILING_TARGETS: ReadonlyMap<number, { rate: number; reasons: Weighted<readonly [string, string]> }> = new Map([
  [5, { rate: 0.7, reasons: Weighted.of([[['503', 'ResponseCodeMismatch'], 70], [['-', 'TimedOut'], 30]] as const) }],
  [9, { rate: 0.3, reasons: Weighted.of([[['-', 'TimedOut'], 60], [['-', 'ConnectionReset'], 40]] as const) }],
]);

/** One health-check-log line (reference §4): 10 fields, or the 8 of the AWS examples. */
function healthLine(c: OtherLineContext, timeMs: number): string {
  const { random, pools } = c;
  const index = Math.floor(random() * pools.targets.length);
  const target = pools.targets[index]!;
  const group = index < 6 ? 'web' : 'api';
  const failing = FAILING_TARGETS.get(index);
  let status = 'PASS';
  let code = '200';
  let reason = '-';
  let latency = 0.001 + random() * random() * 0.05;
  if (failing !== undefined ? random() < failing.rate : random() < 0.005) {
    status = 'FAIL';
    [code, reason] = failing?.reasons.pick(random) ?? (['-', 'ConnectionReset'] as const);
    if (reason === 'TimedOut') latency = 5;
  }
  const time = isoMicros(timeMs, Math.floor(random() * 1000));
  const tail = random() < 0.7 ? ` ${c.elb} ${c.nodeIp}` : '';
  return `${index % 4 === 3 ? 'https' : 'http'} ${time} ${latency.toFixed(9)} ${target} ${group} ${status} ${code} ${reason}${tail}`;
}

/** Connection and health-check lines the parsers must reject: cut short, or with a garbled time. */
function malformedOtherLine(random: Random, good: string, n: number, type: LogType): string {
  if (n % 2 === 0) return good.slice(0, 30 + Math.floor(random() * 15));
  return type === 'connection' ? good.replace(/^\S+/, '2025-13-45T99:99:99.000000Z') : good.replace(/^(\S+) \S+/, '$1 2025-13-45T99:99:99.000000Z');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

const KEY_PREFIXES: Record<LogType, string> = { access: '', connection: 'conn_log_', health: 'health_check_log_' };

function objectKey(account: string, region: string, loadBalancerId: string, endMs: number, nodeIp: string, random: Random, type: LogType = 'access'): string {
  const end = new Date(endMs);
  const delivered = new Date(endMs + DELIVERY_DELAY_MS);
  const folder = `${delivered.getUTCFullYear()}/${pad2(delivered.getUTCMonth() + 1)}/${pad2(delivered.getUTCDate())}`;
  const endTime = `${end.getUTCFullYear()}${pad2(end.getUTCMonth() + 1)}${pad2(end.getUTCDate())}T${pad2(end.getUTCHours())}${pad2(end.getUTCMinutes())}Z`;
  return (
    `AWSLogs/${account}/elasticloadbalancing/${region}/${folder}/` +
    `${KEY_PREFIXES[type]}${account}_elasticloadbalancing_${region}_app.${loadBalancerId}_${endTime}_${nodeIp}_${alnum(random, 8)}.log.gz`
  );
}

/** Generates every object in memory (gzip bodies), deterministically. */
export function* generateObjects(options: GenerateOptions): Generator<GeneratedObject> {
  const lines = Math.max(0, Math.floor(options.lines));
  const badLines = Math.min(lines, Math.max(0, Math.floor(options.badLines ?? 0)));
  const emptyLines = Math.min(lines - badLines, Math.max(0, Math.floor(options.emptyLines ?? 0)));
  const files = Math.max(1, Math.floor(options.files ?? Math.ceil(lines / LINES_PER_OBJECT)));
  const days = Math.max(1, Math.floor(options.days));
  const endMs = Math.floor((options.end ?? DEFAULT_END).getTime() / INTERVAL_MS) * INTERVAL_MS;
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-2';
  const loadBalancer = options.loadBalancer ?? 'albatross-demo';
  const random = createRandom(options.seed);
  const pools = buildPools(random);
  const loadBalancerHex = hex(random, 16);
  const nodeIps = [0, 1, 2].map((i) => `172.31.${16 * i + 3}.${20 + Math.floor(random() * 200)}`);
  const context: Omit<LineContext, 'nodeIp'> = {
    random,
    pools,
    elb: `app/${loadBalancer}/${loadBalancerHex}`,
    targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/web/${hex(random, 16)}`,
    certArn: `arn:aws:acm:${region}:${account}:certificate/${hex(random, 8)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 12)}`,
  };
  const connectionLines = Math.max(0, Math.floor(options.connectionLines ?? 0));
  const healthLines = Math.max(0, Math.floor(options.healthLines ?? 0));
  // the connections of the first access requests carry their trace ids (the access-connection join)
  const traceIds: string[] = [];
  if (connectionLines > 0) context.traceIds = traceIds;
  // Spread the objects' 5-minute intervals evenly over the days, oldest first.
  const slots = days * 288;
  const firstSlotEnd = endMs - (slots - 1) * INTERVAL_MS;
  // Malformed lines go at random global positions, distinct and fixed by the seed.
  const badPositions = new Set<number>();
  while (badPositions.size < badLines) badPositions.add(Math.floor(random() * lines));
  // Empty lines likewise, at other positions (drawn only when asked for: same options, same bytes).
  const emptyPositions = new Set<number>();
  while (emptyPositions.size < emptyLines) {
    const position = Math.floor(random() * lines);
    if (!badPositions.has(position)) emptyPositions.add(position);
  }
  let lineIndex = 0;
  for (let f = 0; f < files; f++) {
    const count = Math.floor((lines * (f + 1)) / files) - Math.floor((lines * f) / files);
    const slot = Math.min(slots - 1, Math.floor(((f + 0.5) * slots) / files));
    const objectEndMs = firstSlotEnd + slot * INTERVAL_MS;
    const nodeIp = nodeIps[f % nodeIps.length]!;
    const lineContext: LineContext = { ...context, nodeIp };
    // Lines are ASCII (ALB escapes everything else), so latin1 writes into one
    // growing buffer: far less garbage than joining 25,000 strings.
    let raw = Buffer.allocUnsafe(count * 700 + 1024);
    let size = 0;
    const badLineNumbers: number[] = [];
    let objectEmptyLines = 0;
    for (let i = 0; i < count; i++, lineIndex++) {
      const timeMs = objectEndMs - 1 - Math.floor(random() * INTERVAL_MS);
      let line = accessLine(lineContext, timeMs);
      if (badPositions.has(lineIndex)) {
        line = malformedLine(random, line, badLineNumbers.length + f);
        badLineNumbers.push(i);
      } else if (emptyPositions.has(lineIndex)) {
        line = '';
        objectEmptyLines++;
      }
      if (size + line.length + 1 > raw.length) {
        const bigger = Buffer.allocUnsafe(raw.length * 2);
        raw.copy(bigger, 0, 0, size);
        raw = bigger;
      }
      size += raw.write(line, size, 'latin1');
      raw[size++] = 0x0a;
    }
    raw = raw.subarray(0, size);
    if (traceIds.length > connectionLines) traceIds.length = connectionLines;
    yield {
      type: 'access',
      key: objectKey(account, region, `${loadBalancer}.${loadBalancerHex}`, objectEndMs, nodeIp, random),
      lines: count,
      badLines: badLineNumbers.length,
      badLineNumbers,
      emptyLines: objectEmptyLines,
      bytes: raw.length,
      body: gzipSync(raw, { level: 1 }),
    };
  }

  // Connection and health-check objects, from random streams of their own (the access objects
  // above stay byte for byte what they were without them).
  const others = [['connection', connectionLines, connectionLine], ['health', healthLines, healthLine]] as const;
  for (const [type, typeLines, makeLine] of others) {
    if (typeLines === 0) continue;
    const typeRandom = createRandom(options.seed * 31 + (type === 'connection' ? 1 : 2));
    const typeFiles = Math.max(1, Math.ceil(typeLines / LINES_PER_OBJECT));
    const typeBad = lines === 0 ? 0 : Math.min(typeLines, Math.round((badLines * typeLines) / lines));
    const bad = new Set<number>();
    while (bad.size < typeBad) bad.add(Math.floor(typeRandom() * typeLines));
    let typeIndex = 0;
    for (let f = 0; f < typeFiles; f++) {
      const count = Math.floor((typeLines * (f + 1)) / typeFiles) - Math.floor((typeLines * f) / typeFiles);
      const slot = Math.min(slots - 1, Math.floor(((f + 0.5) * slots) / typeFiles));
      const objectEndMs = firstSlotEnd + slot * INTERVAL_MS;
      const nodeIp = nodeIps[f % nodeIps.length]!;
      const lineContext: OtherLineContext = { random: typeRandom, pools, elb: context.elb, nodeIp, traceIds, next: typeIndex };
      const text: string[] = [];
      const badLineNumbers: number[] = [];
      for (let i = 0; i < count; i++, typeIndex++) {
        let line = makeLine(lineContext, objectEndMs - 1 - Math.floor(typeRandom() * INTERVAL_MS));
        if (bad.has(typeIndex)) {
          line = malformedOtherLine(typeRandom, line, badLineNumbers.length, type);
          badLineNumbers.push(i);
        }
        text.push(line);
      }
      const raw = Buffer.from(text.join('\n') + '\n', 'latin1');
      yield {
        type,
        key: objectKey(account, region, `${loadBalancer}.${loadBalancerHex}`, objectEndMs, nodeIp, typeRandom, type),
        lines: count,
        badLines: badLineNumbers.length,
        badLineNumbers,
        emptyLines: 0,
        bytes: raw.length,
        body: gzipSync(raw, { level: 1 }),
      };
    }
  }
}

/** Writes the objects under `outDir` in the S3 key layout and returns the manifest. */
export async function generateToDirectory(outDir: string, options: GenerateOptions): Promise<Manifest> {
  const manifest: Manifest = { objects: [], lines: 0, badLines: 0, emptyLines: 0, bytes: 0, byType: countByType([]) };
  for (const object of generateObjects(options)) {
    const file = path.join(outDir, ...object.key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, object.body);
    const { body: _body, ...entry } = object;
    manifest.objects.push(entry);
    manifest.lines += object.lines;
    manifest.badLines += object.badLines;
    manifest.emptyLines += object.emptyLines;
    manifest.bytes += object.bytes;
  }
  manifest.byType = countByType(manifest.objects);
  return manifest;
}
