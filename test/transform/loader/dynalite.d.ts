// dynalite ships no types; the checkpoint test only starts and stops it.
declare module 'dynalite' {
  import type { Server } from 'node:net';
  export default function dynalite(options?: { createTableMs?: number; path?: string }): Server;
}
