// The `request` field: `METHOD URL HTTP/x.y`, but also `- - -`,
// `- http://host:80- -`, a missing version, trailing spaces, raw spaces in the
// URL and odd methods. Method = text before the first space; version = text
// after the last space when it looks like HTTP/x.y; URL = what lies between.
import { readUnsigned } from './values.ts';

export interface RequestParts {
  method: string | undefined;
  url: string | undefined;
  /** Without the `HTTP/` prefix: `1.1`, `2.0`. */
  version: string | undefined;
}

/** `HTTP/<digits>[.<digits>]` → the part after `HTTP/`; undefined otherwise. */
function httpVersion(token: string): string | undefined {
  if (!token.startsWith('HTTP/') || token.length < 6) return undefined;
  let dot = false;
  for (let i = 5; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 46 && !dot && i > 5 && i < token.length - 1) dot = true;
    else if (c < 48 || c > 57) return undefined;
  }
  return token.slice(5);
}

function valueOrUndefined(text: string): string | undefined {
  return text === '-' || text === '' ? undefined : text;
}

export function parseRequest(request: string): RequestParts {
  let end = request.length;
  while (end > 0 && request.charCodeAt(end - 1) === 32) end--;
  const text = end === request.length ? request : request.slice(0, end);
  const firstSpace = text.indexOf(' ');
  if (firstSpace === -1) return { method: valueOrUndefined(text), url: undefined, version: undefined };
  const method = valueOrUndefined(text.slice(0, firstSpace));
  const lastSpace = text.lastIndexOf(' ');
  if (lastSpace > firstSpace) {
    const last = text.slice(lastSpace + 1);
    const version = httpVersion(last);
    if (version !== undefined || last === '-') {
      return { method, url: valueOrUndefined(text.slice(firstSpace + 1, lastSpace)), version };
    }
  }
  return { method, url: valueOrUndefined(text.slice(firstSpace + 1)), version: undefined };
}

export interface UrlParts {
  scheme?: string;
  domain?: string;
  port?: number;
  /** The port text was present but not a port number. */
  portMalformed?: boolean;
  path?: string;
  query?: string;
}

function isSchemeChar(c: number): boolean {
  // ALPHA / DIGIT / + - .
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

/**
 * Splits an absolute (`scheme://host:port/path?query`) or origin-form
 * (`/path?query`) URL. Tolerates anything: spaces, junk hosts, and the
 * `http://host:80-` form ALB logs for malformed requests.
 */
export function parseUrl(url: string): UrlParts {
  const parts: UrlParts = {};
  let rest: string;
  const schemeEnd = url.indexOf('://');
  if (schemeEnd > 0) {
    for (let i = 0; i < schemeEnd; i++) if (!isSchemeChar(url.charCodeAt(i))) return parts;
    parts.scheme = url.slice(0, schemeEnd).toLowerCase();
    const hostStart = schemeEnd + 3;
    let hostEnd = url.length;
    for (let i = hostStart; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) {
        hostEnd = i;
        break;
      }
    }
    let authority = url.slice(hostStart, hostEnd);
    const at = authority.lastIndexOf('@');
    if (at !== -1) authority = authority.slice(at + 1);
    // `- http://host:80- -`: ALB glues a `-` to the URL of a request it could not read
    if (hostEnd === url.length && authority.endsWith('-')) authority = authority.slice(0, -1);
    let host = authority;
    let portText: string | undefined;
    if (authority.charCodeAt(0) === 91 /* [ */) {
      const close = authority.indexOf(']');
      if (close !== -1) {
        host = authority.slice(1, close);
        if (authority.charCodeAt(close + 1) === 58 /* : */) portText = authority.slice(close + 2);
      }
    } else {
      const colon = authority.lastIndexOf(':');
      // a second colon means an unbracketed IPv6 literal, not a port
      if (colon !== -1 && authority.indexOf(':') === colon) {
        host = authority.slice(0, colon);
        portText = authority.slice(colon + 1);
      }
    }
    if (host !== '') parts.domain = host;
    if (portText !== undefined && portText !== '') {
      const port = readUnsigned(portText, 65535);
      if (port === undefined) parts.portMalformed = true;
      else parts.port = port;
    }
    rest = url.slice(hostEnd);
  } else if (url.charCodeAt(0) === 47 /* / */) {
    rest = url;
  } else {
    return parts;
  }
  const question = rest.indexOf('?');
  const path = question === -1 ? rest : rest.slice(0, question);
  if (path !== '') parts.path = path;
  if (question !== -1 && question < rest.length - 1) parts.query = rest.slice(question + 1);
  return parts;
}
