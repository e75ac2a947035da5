// An independent AWS Signature Version 4 check, written from the AWS specification ("Create a signed
// AWS API request": canonical request, string to sign, signing key) with node:crypto only, so a
// signature the client sends is verified by recomputing it rather than by its shape.
import { createHash, createHmac } from 'node:crypto';

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received (req.url). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface SignatureCheck {
  valid: boolean;
  /** Why the signature does not match, when it does not. */
  problem?: string;
  accessKeyId?: string;
  region?: string;
  service?: string;
  signedHeaders?: string[];
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as SigV4 requires (unreserved characters kept, everything else %XX, upper case). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(headers: ReceivedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Recomputes the request's signature with `secretAccessKey` and compares it with the one it carries. */
export function verifySigV4(request: ReceivedRequest, secretAccessKey: string): SignatureCheck {
  const authorization = header(request.headers, 'authorization');
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization ?? '');
  if (!match) return { valid: false, problem: `not a SigV4 Authorization header: ${authorization}` };
  const [, accessKeyId, day, region, service, signedList, signature] = match as unknown as [string, string, string, string, string, string, string];
  const signedHeaders = signedList.split(';');
  const result = { accessKeyId, region, service, signedHeaders };
  const amzDate = header(request.headers, 'x-amz-date');
  if (!amzDate || !amzDate.startsWith(day)) return { ...result, valid: false, problem: `x-amz-date ${amzDate} does not match the credential day ${day}` };
  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) return { ...result, valid: false, problem: `${required} is not signed` };
  }
  const payloadHash = sha256(request.body);
  const claimed = header(request.headers, 'x-amz-content-sha256');
  if (claimed !== undefined && claimed !== payloadHash) return { ...result, valid: false, problem: 'x-amz-content-sha256 is not the hash of the body' };

  const url = new URL(request.url, 'http://placeholder');
  // Non-S3 services: each path segment URI-encoded again (the path arrives encoded once).
  const canonicalUri = url.pathname.split('/').map(encode).join('/') || '/';
  const canonicalQuery = [...url.searchParams]
    .map(([key, value]) => [encode(key), encode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(header(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [request.method, canonicalUri, canonicalQuery, canonicalHeaders, signedList, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  return expected === signature ? { ...result, valid: true } : { ...result, valid: false, problem: 'signature does not match the recomputed one' };
}
