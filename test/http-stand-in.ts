// Helpers for the loopback HTTP stand-ins some tests put in front of the embedded engine (for
// plugin APIs it does not have: security, ISM, Dashboards import).
import type { IncomingMessage, ServerResponse } from 'node:http';

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
