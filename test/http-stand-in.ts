// Helpers for the loopback HTTP stand-ins some tests put in front of the embedded engine (for
// plugin APIs it does not have: security, ISM, Dashboards import).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The whole request body. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Passes the request (with its already-read body) on to the engine and its answer back. */
export async function forwardToEngine(engine: string, request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<void> {
  const forwarded = await fetch(`${engine}${request.url}`, {
    method: request.method!,
    headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
    ...(body.length ? { body } : {}),
  });
  response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
  response.end(Buffer.from(await forwarded.arrayBuffer()));
}

/**
 * The security plugin's REST API (roles, role mappings, authinfo) on loopback, in front of the engine, which
 * has no security plugin: GET answers `{name: ...}` or 404, PUT replaces the whole entry (and refuses the
 * reserved/hidden/static fields, as the plugin does) for a caller holding all_access or security_manager (403
 * otherwise), authinfo reports the caller. Every other request goes
 * on to the real engine, so templates and the verification stay real.
 */
export interface SecurityStandIn {
  endpoint: string;
  roles: Map<string, Record<string, any>>;
  mappings: Map<string, Record<string, any>>;
  /** Security writes, as `PUT roles/<name>` / `PUT rolesmapping/<name>`. */
  writes: string[];
  /** The caller authinfo reports: its user (and backend role) and the FGAC roles it holds. */
  caller: { user: string; roles: string[] };
  reset(): void;
  close(): Promise<void>;
}

export async function startSecurityStandIn(engine: string): Promise<SecurityStandIn> {
  const stand: Omit<SecurityStandIn, 'endpoint' | 'close'> = {
    roles: new Map(), mappings: new Map(), writes: [], caller: { user: 'arn:aws:iam::111122223333:role/caller', roles: ['all_access'] },
    reset() {
      stand.roles.clear();
      stand.mappings.clear();
      stand.writes.length = 0;
      stand.caller.roles = ['all_access'];
    },
  };
  const server = createServer(async (request, response) => {
    const raw = await readBody(request);
    response.setHeader('content-type', 'application/json');
    if (request.url === '/_plugins/_security/authinfo') {
      response.end(JSON.stringify({ user_name: stand.caller.user, backend_roles: [stand.caller.user], roles: [...stand.caller.roles] }));
      return;
    }
    const security = /^\/_plugins\/_security\/api\/(roles|rolesmapping)\/([^/?]+)$/.exec(request.url ?? '');
    if (!security) return forwardToEngine(engine, request, raw, response);
    if (!stand.caller.roles.includes('all_access') && !stand.caller.roles.includes('security_manager')) {
      // The security API is for security administrators only.
      response.statusCode = 403;
      response.end(JSON.stringify({ error: { type: 'security_exception', reason: `no permissions for [] and User [name=${stand.caller.user}]` }, status: 403 }));
      return;
    }
    const store = security[1] === 'roles' ? stand.roles : stand.mappings;
    const name = decodeURIComponent(security[2]!);
    if (request.method === 'GET') {
      const found = store.get(name);
      response.statusCode = found ? 200 : 404;
      response.end(JSON.stringify(found ? { [name]: { reserved: false, hidden: false, static: false, ...found } } : { status: 'NOT_FOUND' }));
    } else if (request.method === 'PUT') {
      const body = JSON.parse(raw.toString());
      if (['reserved', 'hidden', 'static'].some((field) => field in body)) {
        response.statusCode = 400;
        response.end(JSON.stringify({ status: 'BAD_REQUEST', message: 'reserved fields in body' }));
        return;
      }
      stand.writes.push(`PUT ${security[1]}/${name}`);
      store.set(name, body);
      response.end(JSON.stringify({ status: 'OK' }));
    } else {
      response.statusCode = 405;
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { ...stand, endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
