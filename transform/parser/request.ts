// The `request` field: `METHOD URL HTTP/x.y`, but also `- - -`,
// `- http://host:80- -`, a missing version, trailing spaces, raw spaces in the
// URL and odd methods. Method = text before the first space; version = text
// after the last space when it looks like HTTP/x.y; URL = what lies between.
import { isNoValue, lastIndexOfChar, readUnsigned } from './values.ts';

export interface RequestParts {
  method: string | undefined;
  url: string | undefined;
  /** Without the `HTTP/` prefix: `1.1`, `2.0`. */
  version: string | undefined;
}

function valueOrUndefined(text: string, start: number, end: number): string | undefined {
  return isNoValue(text, start, end) ? undefined : text.slice(start, end);
}

/** `HTTP/<digits>[.<digits>]` at [start, end) → the part after `HTTP/`; undefined otherwise. */
function httpVersion(text: string, start: number, end: number): string | undefined {
  if (end - start < 6 || !text.startsWith('HTTP/', start)) return undefined;
  const digits = start + 5;
  let dot = false;
  for (let i = digits; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 && !dot && i > digits && i < end - 1) dot = true;
    else if (c < 48 || c > 57) return undefined;
  }
  // the versions ALB logs, as constants: no string allocated per line
  if (end - digits === 3 && dot) {
    const major = text.charCodeAt(digits);
    const minor = text.charCodeAt(digits + 2);
    if (major === 49 && minor === 49) return '1.1';
    if (major === 50 && minor === 48) return '2.0';
    if (major === 49 && minor === 48) return '1.0';
  }
  return text.slice(digits, end);
}

/** Splits the request at [start, end) of `text` (default: all of it), reading it in place. */
export function parseRequest(text: string, start = 0, end = text.length): RequestParts {
  while (end > start && text.charCodeAt(end - 1) === 32) end--;
  const firstSpace = text.indexOf(' ', start);
  if (firstSpace === -1 || firstSpace >= end) return { method: valueOrUndefined(text, start, end), url: undefined, version: undefined };
  const method = valueOrUndefined(text, start, firstSpace);
  const lastSpace = lastIndexOfChar(text, 32 /* space */, firstSpace, end);
  if (lastSpace > firstSpace) {
    const version = httpVersion(text, lastSpace + 1, end);
    if (version !== undefined || isNoValue(text, lastSpace + 1, end)) {
      return { method, url: valueOrUndefined(text, firstSpace + 1, lastSpace), version };
    }
  }
  return { method, url: valueOrUndefined(text, firstSpace + 1, end), version: undefined };
}

export interface UrlParts {
  scheme: string | undefined;
  domain: string | undefined;
  port: number | undefined;
  /** The port text was present but not a port number. */
  portMalformed: true | undefined;
  path: string | undefined;
  query: string | undefined;
}

function isSchemeChar(c: number): boolean {
  // ALPHA / DIGIT / + - .
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

/** The scheme in lower case; `http` and `https` as constants (nearly every line). */
function schemeText(url: string, end: number): string {
  if (end === 5 && url.startsWith('https')) return 'https';
  if (end === 4 && url.startsWith('http')) return 'http';
  return url.slice(0, end).toLowerCase();
}

/**
 * Splits an absolute (`scheme://host:port/path?query`) or origin-form
 * (`/path?query`) URL. Tolerates anything: spaces, junk hosts, and the
 * `http://host:80-` form ALB logs for malformed requests. Works on positions
 * and slices only the parts it returns.
 */
export function parseUrl(url: string): UrlParts {
  // one shape for every result (fields unset stay undefined)
  const parts: UrlParts = { scheme: undefined, domain: undefined, port: undefined, portMalformed: undefined, path: undefined, query: undefined };
  const end = url.length;
  let restStart: number;
  const schemeEnd = url.indexOf('://');
  if (schemeEnd > 0) {
    for (let i = 0; i < schemeEnd; i++) if (!isSchemeChar(url.charCodeAt(i))) return parts;
    parts.scheme = schemeText(url, schemeEnd);
    const hostStart = schemeEnd + 3;
    // one pass over the authority: where it ends, its last `@` (userinfo ends there) and
    // the first and last colon after that
    let hostEnd = end;
    let at = -1;
    let firstColon = -1;
    let lastColon = -1;
    for (let i = hostStart; i < end; i++) {
      const c = url.charCodeAt(i);
      if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) {
        hostEnd = i;
        break;
      }
      if (c === 64 /* @ */) {
        at = i;
        firstColon = -1;
        lastColon = -1;
      } else if (c === 58 /* : */) {
        if (firstColon === -1) firstColon = i;
        lastColon = i;
      }
    }
    // authority = [authorityStart, authorityEnd): after any `user@`
    const authorityStart = at === -1 ? hostStart : at + 1;
    let authorityEnd = hostEnd;
    // `- http://host:80- -`: ALB glues a `-` to the URL of a request it could not read
    if (hostEnd === end && authorityEnd > authorityStart && url.charCodeAt(authorityEnd - 1) === 45) authorityEnd--;
    let hostFrom = authorityStart;
    let hostTo = authorityEnd;
    let portFrom = -1;
    if (authorityEnd > authorityStart && url.charCodeAt(authorityStart) === 91 /* [ */) {
      const close = url.indexOf(']', authorityStart);
      if (close !== -1 && close < authorityEnd) {
        hostFrom = authorityStart + 1;
        hostTo = close;
        if (close + 1 < authorityEnd && url.charCodeAt(close + 1) === 58 /* : */) portFrom = close + 2;
      }
    } else if (lastColon !== -1 && firstColon === lastColon) {
      // (a second colon means an unbracketed IPv6 literal, not a port)
      hostTo = lastColon;
      portFrom = lastColon + 1;
    }
    if (hostTo > hostFrom) parts.domain = url.slice(hostFrom, hostTo);
    if (portFrom !== -1 && portFrom < authorityEnd) {
      const port = readUnsigned(url, 65535, portFrom, authorityEnd);
      if (port === undefined) parts.portMalformed = true;
      else parts.port = port;
    }
    restStart = hostEnd;
  } else if (url.charCodeAt(0) === 47 /* / */) {
    restStart = 0;
  } else {
    return parts;
  }
  const question = url.indexOf('?', restStart);
  const pathEnd = question === -1 ? end : question;
  if (pathEnd > restStart) parts.path = restStart === 0 && pathEnd === end ? url : url.slice(restStart, pathEnd);
  if (question !== -1 && question < end - 1) parts.query = url.slice(question + 1);
  return parts;
}
