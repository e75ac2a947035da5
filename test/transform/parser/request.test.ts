import { describe, expect, it } from 'vitest';
import { parseRequest, parseUrl } from '../../../transform/parser/request.ts';

describe('parseRequest', () => {
  it.each([
    ['GET http://www.example.com:80/ HTTP/1.1', 'GET', 'http://www.example.com:80/', '1.1'],
    ['POST https://h:443/pkg.Service/Method HTTP/2.0', 'POST', 'https://h:443/pkg.Service/Method', '2.0'],
    ['- - -', undefined, undefined, undefined],
    ['- http://www.example.com:80- -', undefined, 'http://www.example.com:80-', undefined],
    ['- http://example.com:8080- ', undefined, 'http://example.com:8080-', undefined],
    ['GET http://h:80/ HTTP/1.0 ', 'GET', 'http://h:80/', '1.0'],
    ['GET http://h:80/a b c HTTP/1.1', 'GET', 'http://h:80/a b c', '1.1'],
    ['GET http://h:80/a b', 'GET', 'http://h:80/a b', undefined],
    ['SSTP_DUPLEX_POST https://h:443/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1', 'SSTP_DUPLEX_POST', 'https://h:443/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/', '1.1'],
    ['--location https://example.com HTTP/1.1', '--location', 'https://example.com', '1.1'],
    ['GET', 'GET', undefined, undefined],
    ['', undefined, undefined, undefined],
    ['GET http://h/ HTTP/x', 'GET', 'http://h/ HTTP/x', undefined],
    ['PRI * HTTP/2', 'PRI', '*', '2'],
  ])('%j', (request, method, url, version) => {
    expect(parseRequest(request)).toEqual({ method, url, version });
  });
});

describe('parseRequest in place', () => {
  it('reads only the given range of a line', () => {
    const line = '200 "GET https://h:443/a?b=1 HTTP/1.1" "curl/8"';
    const start = line.indexOf('"') + 1;
    const end = line.indexOf('"', start);
    expect(parseRequest(line, start, end)).toEqual({ method: 'GET', url: 'https://h:443/a?b=1', version: '1.1' });
    expect(parseRequest(line, start, start + 3)).toEqual({ method: 'GET', url: undefined, version: undefined });
    expect(parseRequest('x- - -y', 1, 6)).toEqual({ method: undefined, url: undefined, version: undefined });
  });
  it.each([['HTTP/1.0', '1.0'], ['HTTP/1.1', '1.1'], ['HTTP/2.0', '2.0'], ['HTTP/3.0', '3.0'], ['HTTP/1.12', '1.12'], ['HTTP/2', '2']])(
    'version %s', (version, expected) => expect(parseRequest(`GET / ${version}`).version).toBe(expected));
});

describe('parseUrl', () => {
  it.each([
    ['http://www.example.com:80/', { scheme: 'http', domain: 'www.example.com', port: 80, path: '/' }],
    ['https://example.com', { scheme: 'https', domain: 'example.com' }],
    ['http://h:80/p?a=1&b=2', { scheme: 'http', domain: 'h', port: 80, path: '/p', query: 'a=1&b=2' }],
    ['http://h:80/p?', { scheme: 'http', domain: 'h', port: 80, path: '/p' }],
    ['http://h:80?q', { scheme: 'http', domain: 'h', port: 80, query: 'q' }],
    ['http://www.example.com:80-', { scheme: 'http', domain: 'www.example.com', port: 80 }],
    ['HTTP://[2001:db8::1]:8080/x', { scheme: 'http', domain: '2001:db8::1', port: 8080, path: '/x' }],
    ['http://2001:db8::1/x', { scheme: 'http', domain: '2001:db8::1', path: '/x' }],
    ['http://user:pw@h:81/', { scheme: 'http', domain: 'h', port: 81, path: '/' }],
    ['http://h:99999/', { scheme: 'http', domain: 'h', portMalformed: true, path: '/' }],
    ['http://h:8x/', { scheme: 'http', domain: 'h', portMalformed: true, path: '/' }],
    ["http://a' OR 1=1--:80/", { scheme: 'http', domain: "a' OR 1=1--", port: 80, path: '/' }],
    ['//double/slash', { path: '//double/slash' }],
    ['/origin/form?x=1', { path: '/origin/form', query: 'x=1' }],
    ['*', {}],
    ['example.com:443', {}],
    ['bad scheme://h/', {}],
    ['http://u:p:w@h:8080/x', { scheme: 'http', domain: 'h', port: 8080, path: '/x' }],
    ['http://h/a@b:c', { scheme: 'http', domain: 'h', path: '/a@b:c' }],
    ['http://h:-', { scheme: 'http', domain: 'h' }],
    ['Https://h', { scheme: 'https', domain: 'h' }],
    ['http://[::1]', { scheme: 'http', domain: '::1' }],
    ['http://[::1:80/', { scheme: 'http', domain: '[::1:80', path: '/' }],
  ])('%s', (url, parts) => {
    expect(parseUrl(url)).toEqual(parts);
  });
});
