// dynalite ships no types; the loader tests only start and stop it.
declare module 'dynalite' {
  import type { Server } from 'node:net';
  export default function dynalite(options?: { createTableMs?: number; path?: string }): Server;
}
