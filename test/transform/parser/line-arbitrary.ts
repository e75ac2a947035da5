// Generators for ALB access-log lines: field values of every kind, rendered the
// way ALB writes them, with the document those values must give.
import fc from 'fast-check';

/** ALB's quoting: `"` and `\`, control and non-ASCII bytes become `\xHH` (UTF-8 bytes). */
function albEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte === 0x22 || byte === 0x5c || byte < 0x20 || byte >= 0x7f ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}
const q = (text: string): string => `"${albEscape(text)}"`;

/** Inverse of albEscape (its output is ASCII with `\xHH` bytes). */
function albUnescape(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('\\x', i)) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const MAX_SECONDS = 9_214_646_399; // 2261-12-31T23:59:59Z, inside date_nanos
const timestamp = fc.record({ seconds: fc.integer({ min: 0, max: MAX_SECONDS }), micros: fc.integer({ min: 0, max: 999_999 }) })
  .map(({ seconds, micros }) => ({ seconds, micros, text: `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z` }));
const dash = fc.constant('-' as const);
const ip = fc.oneof(fc.ipV4(), fc.ipV6());
const port = fc.integer({ min: 0, max: 65535 });
const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.'), minLength: 1, maxLength: 12 })
  .filter((w) => w !== '-');
// any Unicode, plus the pieces escaping gets wrong: quotes, backslashes, escape look-alikes, controls
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.array(fc.constantFrom('\\x41', '\\', '"', 'é', '😀', '\t', ' ', 'a', '-', 'x22', '\\x000000'), { maxLength: 8 }).map((parts) => parts.join('')),
);
const urlText = fc.string({ unit: fc.constantFrom(...'abcxyz019 %+=&;*~'), maxLength: 20 }); // spaces in URLs
const seconds = fc.integer({ min: 0, max: 100_000 }).map((ms) => (ms / 1000).toFixed(3));

const request = fc.record({
  method: fc.oneof(dash, fc.constantFrom('GET', 'POST', 'SSTP_DUPLEX_POST', '--location')),
  scheme: fc.constantFrom('http', 'https'),
  domain: fc.domain(),
  port: fc.option(port, { nil: undefined }),
  path: fc.option(urlText.map((p) => `/${p}`), { nil: undefined }),
  query: fc.option(urlText, { nil: undefined }),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/2.0', 'HTTP/1.0', '-', undefined),
});

export const line = fc.record({
  type: fc.constantFrom('http', 'https', 'h2', 'grpcs', 'ws', 'wss'),
  time: timestamp,
  elb: fc.tuple(word, fc.stringMatching(/^[0-9a-f]{16}$/)).map(([n, id]) => `app/${n}/${id}`),
  client: fc.tuple(ip, port),
  target: fc.oneof(dash, fc.tuple(ip, port)),
  requestTime: fc.oneof(fc.constant('-1'), seconds),
  targetTime: fc.oneof(fc.constant('-1'), seconds),
  responseTime: fc.oneof(fc.constant('-1'), seconds),
  elbStatus: fc.integer({ min: 100, max: 599 }),
  targetStatus: fc.oneof(dash, fc.integer({ min: 100, max: 599 })),
  received: fc.maxSafeNat(),
  sent: fc.maxSafeNat(),
  request,
  userAgent: fc.oneof(dash, text),
  tls: fc.oneof(dash, fc.constantFrom(['ECDHE-RSA-AES128-GCM-SHA256', 'TLSv1.2'], ['TLS_AES_128_GCM_SHA256', 'TLSv1.3'], ['AES128-SHA', 'TLSv1'])),
  targetGroup: fc.oneof(dash, fc.tuple(fc.constantFrom('us-east-1', 'eu-west-1'), fc.stringMatching(/^\d{12}$/), word)
    .map(([region, account, name]) => ({ region, account, arn: `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${name}/0123456789abcdef` }))),
  traceId: fc.oneof(dash, word.map((w) => `Root=1-${w}`)),
  domainName: fc.oneof(dash, fc.domain()),
  certArn: fc.oneof(dash, fc.constant('session-reused'), word.map((w) => `arn:aws:acm:us-east-1:123456789012:certificate/${w}`)),
  priority: fc.oneof(dash, fc.constant(-1), fc.integer({ min: 0, max: 50_000 })),
  created: timestamp,
  actions: fc.oneof(dash, fc.subarray(['waf', 'authenticate', 'forward', 'redirect', 'fixed-response'], { minLength: 1 })),
  redirect: fc.oneof(dash, urlText.filter((u) => u.trim() !== '' && u !== '-').map((u) => `https://x.example:443/${u}`)),
  errorReason: fc.oneof(dash, word),
  targets: fc.oneof(dash, fc.array(fc.tuple(ip, port).map(([a, p]) => `${a}:${p}`), { minLength: 1, maxLength: 3 })),
  targetCodes: fc.oneof(dash, fc.array(fc.integer({ min: 100, max: 599 }).map(String), { minLength: 1, maxLength: 3 })),
  classification: fc.oneof(dash, fc.constantFrom('Acceptable', 'Ambiguous', 'Severe')),
  classificationReason: fc.oneof(dash, word),
  tid: fc.oneof(dash, fc.stringMatching(/^[0-9a-f]{32}$/).map((h) => `TID_${h}`)),
  transformedHost: fc.oneof(dash, fc.domain()),
  transformedUri: fc.oneof(dash, word.map((w) => `/${w}`)),
  transformStatus: fc.oneof(dash, word),
  nodeIp: fc.oneof(dash, fc.ipV4()),
  extra: fc.array(fc.oneof(dash, word, text.map(q)), { maxLength: 3 }),
  fieldCount: fc.integer({ min: 20, max: 36 }),
});
export type Line = typeof line extends fc.Arbitrary<infer T> ? T : never;

function renderRequest(r: Line['request']): { rendered: string; url: string | undefined } {
  const url = `${r.scheme}://${r.domain}${r.port === undefined ? '' : `:${r.port}`}${r.path ?? ''}${r.query === undefined ? '' : `?${r.query}`}`;
  return { rendered: `${r.method} ${url}${r.version === undefined ? '' : ` ${r.version}`}`, url };
}

export function render(l: Line): string {
  const addr = (a: '-' | [string, number]): string => (a === '-' ? '-' : `${a[0]}:${a[1]}`);
  const fields = [
    l.type, l.time.text, l.elb, addr(l.client), addr(l.target), l.requestTime, l.targetTime, l.responseTime,
    String(l.elbStatus), String(l.targetStatus), String(l.received), String(l.sent), q(renderRequest(l.request).rendered),
    q(l.userAgent), l.tls === '-' ? '-' : l.tls[0], l.tls === '-' ? '-' : l.tls[1], l.targetGroup === '-' ? '-' : l.targetGroup.arn,
    q(l.traceId), q(l.domainName), q(l.certArn), String(l.priority), l.created.text,
    q(l.actions === '-' ? '-' : l.actions.join(',')), q(l.redirect), q(l.errorReason),
    q(l.targets === '-' ? '-' : l.targets.join(' ')), q(l.targetCodes === '-' ? '-' : l.targetCodes.join(' ')),
    q(l.classification), q(l.classificationReason), l.tid, q(l.transformedHost), q(l.transformedUri), q(l.transformStatus), l.nodeIp,
  ];
  const known = fields.slice(0, Math.min(l.fieldCount, fields.length));
  return [...known, ...(l.fieldCount > fields.length ? l.extra : [])].join(' ');
}

function set(doc: Record<string, any>, path: string, value: unknown): void {
  if (value === undefined || value === '-' || value === '') return;
  const parts = path.split('.');
  let node = doc;
  for (const part of parts.slice(0, -1)) node = node[part] ??= {};
  node[parts.at(-1)!] = value;
}

/** The document the generated values must give: an independent, straightforward statement of the rules. */
export function expected(l: Line): Record<string, any> {
  const doc: Record<string, any> = {};
  const has = (position: number): boolean => l.fieldCount > position;
  set(doc, '@timestamp', l.time.text);
  set(doc, 'event.kind', 'event');
  set(doc, 'event.category', ['web']);
  set(doc, 'event.type', ['access']);
  set(doc, 'event.outcome', l.elbStatus < 400 ? 'success' : 'failure');
  set(doc, 'cloud.provider', 'aws');
  set(doc, 'aws.elb.type', l.type);
  set(doc, 'aws.elb.name', l.elb);
  set(doc, 'source.address', l.client[0]);
  set(doc, 'source.ip', l.client[0]);
  set(doc, 'source.port', l.client[1]);
  if (l.target !== '-') {
    set(doc, 'aws.elb.backend.ip', l.target[0]);
    set(doc, 'aws.elb.backend.port', l.target[1]);
  }
  if (l.requestTime !== '-1') set(doc, 'aws.elb.request_processing_time.sec', Number(l.requestTime));
  if (l.targetTime !== '-1') set(doc, 'aws.elb.backend_processing_time.sec', Number(l.targetTime));
  if (l.responseTime !== '-1') set(doc, 'aws.elb.response_processing_time.sec', Number(l.responseTime));
  set(doc, 'http.response.status_code', l.elbStatus);
  if (l.targetStatus !== '-') set(doc, 'aws.elb.backend.http.response.status_code', l.targetStatus);
  set(doc, 'http.request.bytes', l.received);
  set(doc, 'http.response.bytes', l.sent);
  const r = l.request;
  set(doc, 'http.request.method', r.method);
  if (r.version !== undefined && r.version !== '-') set(doc, 'http.version', r.version.slice(5));
  let url = renderRequest(r).url!;
  if (r.version === undefined) url = url.trimEnd();
  set(doc, 'url.original', url);
  set(doc, 'url.scheme', r.scheme);
  set(doc, 'url.domain', r.domain);
  set(doc, 'url.port', r.port);
  const path = r.version === undefined && r.query === undefined ? r.path?.trimEnd() : r.path;
  set(doc, 'url.path', path);
  set(doc, 'url.query', r.version === undefined ? r.query?.trimEnd() : r.query);
  set(doc, 'user_agent.original', l.userAgent);
  if (l.tls !== '-') {
    set(doc, 'tls.cipher', l.tls[0]);
    set(doc, 'tls.version', { TLSv1: '1.0', 'TLSv1.2': '1.2', 'TLSv1.3': '1.3' }[l.tls[1]]);
    set(doc, 'tls.version_protocol', 'tls');
  }
  if (l.targetGroup !== '-') {
    set(doc, 'aws.elb.target_group.arn', l.targetGroup.arn);
    set(doc, 'cloud.region', l.targetGroup.region);
    set(doc, 'cloud.account.id', l.targetGroup.account);
  }
  set(doc, 'trace.id', l.traceId);
  set(doc, 'tls.client.server_name', l.domainName);
  set(doc, 'aws.elb.chosen_cert.arn', l.certArn);
  if (has(20)) set(doc, 'aws.elb.matched_rule_priority', l.priority);
  if (has(21)) {
    set(doc, 'event.start', l.created.text);
    const nanos = (l.time.seconds - l.created.seconds) * 1e9 + (l.time.micros - l.created.micros) * 1000;
    if (nanos >= 0 && nanos <= Number.MAX_SAFE_INTEGER) set(doc, 'event.duration', nanos);
  }
  if (has(22) && l.actions !== '-') set(doc, 'aws.elb.action_executed', l.actions);
  if (has(23)) set(doc, 'aws.elb.redirect_url', l.redirect);
  if (has(24)) set(doc, 'aws.elb.error.reason', l.errorReason);
  if (has(25) && l.targets !== '-') set(doc, 'aws.elb.target_port', l.targets);
  if (has(26) && l.targetCodes !== '-') set(doc, 'aws.elb.target_status_code', l.targetCodes);
  if (has(27)) set(doc, 'aws.elb.classification', l.classification);
  if (has(28)) set(doc, 'aws.elb.classification_reason', l.classificationReason);
  if (has(29)) set(doc, 'aws.elb.conn_trace_id', l.tid);
  if (has(30)) set(doc, 'aws.elb.transformed_host', l.transformedHost);
  if (has(31)) set(doc, 'aws.elb.transformed_uri', l.transformedUri);
  if (has(32)) set(doc, 'aws.elb.request_transform_status', l.transformStatus);
  if (has(33)) set(doc, 'aws.elb.node.ip', l.nodeIp);
  if (has(34) && l.extra.length > 0) set(doc, 'aws.elb.extra_fields', l.extra.map((token) => (token.startsWith('"') ? albUnescape(token.slice(1, -1)) : token)));
  return doc;
}


// ---- Mutations of real lines (the fuzz tests) ----

/** Pieces parsers get wrong: quotes, backslashes and escapes, controls, lone surrogates, long digit runs. */
export const TRICKY = ['"', ' ', '\\', '\\x', '\\xC3', ':', '-', '-1', '\u0000', '\ud800', '\udc00', '\n', '\r', '\t', 'é', '\\x22', '""', '9'.repeat(30), '::'];

/** One random edit of a line; `replacements` are more whole tokens to put in place of one. */
export function mutationOf(replacements: readonly string[] = []) {
  return fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...TRICKY), fc.string({ unit: 'binary', maxLength: 5 })) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swapTokens' as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant('replaceToken' as const), at: fc.nat(), text: fc.constantFrom(...TRICKY, 'abc', '1.2.3.4.5:80', '[::1]:80', '2018-02-30T00:00:00Z', ...replacements) }),
  );
}
export const mutation = mutationOf();
export type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

export function mutate(line: string, m: Mutation): string {
  switch (m.kind) {
    case 'delete': {
      const at = m.at % (line.length + 1);
      return line.slice(0, at) + line.slice(at + m.length);
    }
    case 'insert': {
      const at = m.at % (line.length + 1);
      return line.slice(0, at) + m.text + line.slice(at);
    }
    case 'truncate': return line.slice(0, m.at % (line.length + 1));
    case 'swapTokens': {
      const tokens = line.split(' ');
      const a = m.a % tokens.length;
      const b = m.b % tokens.length;
      [tokens[a], tokens[b]] = [tokens[b]!, tokens[a]!];
      return tokens.join(' ');
    }
    default: {
      const tokens = line.split(' ');
      tokens[m.at % tokens.length] = m.text;
      return tokens.join(' ');
    }
  }
}
