// Minimal types for the parts of s3rver 3.x that scripts/local/s3-server.ts uses (it ships none).
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server, AddressInfo } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    configureBuckets?: Array<{ name: string; configs: Array<string | Buffer> }>;
  }
  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    httpServer?: Server & { closeAllConnections(): void };
  }
}
