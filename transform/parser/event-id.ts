// Deterministic event.id: the same input from the same place always gets the
// same id, so a re-delivered line overwrites its document instead of adding a
// duplicate. With a source: <hash of bucket+key>-<byte offset> (the key hash
// is computed once per object, see source-info.ts; the offset makes it unique
// within it). Without one: a hash of the line. 132 bits of SHA-256 (22
// base64url chars): no security role, only collision resistance. SHA-256
// stays although a non-cryptographic hash would be faster: with a source it
// runs once per object, so it costs nothing per line, and changing it would
// change every id already indexed.
import { hash } from 'node:crypto';

function digest(text: string): string {
  return hash('sha256', text, 'base64url').slice(0, 22);
}

/** Hash part of the event.id of every line of one object or file. */
export function sourceDigest(bucket: string | undefined, key: string): string {
  return digest(`${bucket ?? ''}\u0000${key}`);
}

/** event.id of a line without a source. */
export function lineEventId(line: string): string {
  return digest(line);
}
