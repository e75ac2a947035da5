// A real SQS wire-protocol server on loopback for tests: ElasticMQ (Maven Central) in a child JVM,
// built from pom.xml in this folder on first use. SQS semantics (visibility timeouts, receive
// counts, redrive to a dead-letter queue) are ElasticMQ's, not ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface LocalSqs {
  /** e.g. http://127.0.0.1:PORT; queue URLs are `${endpoint}/${account}/${name}`. */
  endpoint: string;
  region: string;
  account: string;
  pid: number;
  /** Stops the JVM and waits for it to exit. */
  stop(): Promise<void>;
}

export interface LocalSqsOptions {
  /** Region and account in the queue ARNs the server reports. */
  region?: string;
  account?: string;
  startupTimeoutMs?: number;
}

export class LocalSqsError extends Error {
  override name = 'LocalSqsError';
}

const SERVER_DIR = fileURLToPath(new URL('.', import.meta.url));
const SERVER_JAR = join(SERVER_DIR, 'target', 'elasticmq-local.jar');
const LOG_TAIL_CHARS = 10_000;
const BUILD_LOCK_STALE_MS = 15 * 60_000;

function javaExecutable(): string {
  const java = process.env.OPENSEARCH_JAVA ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : undefined);
  return java ?? 'java';
}

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const times = await Promise.all((await readdir(path)).map((entry) => newestMtime(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

async function serverIsCurrent(): Promise<boolean> {
  const jar = await stat(SERVER_JAR).catch(() => undefined);
  if (!jar) return false;
  return jar.mtimeMs >= Math.max(await newestMtime(join(SERVER_DIR, 'pom.xml')), await newestMtime(join(SERVER_DIR, 'src')));
}

/** Builds target/elasticmq-local.jar + target/lib/ when missing or older than its sources (one build at a time). */
export async function ensureLocalSqsBuilt(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<void> {
  if (await serverIsCurrent()) return;
  const lock = join(tmpdir(), `albatross-elasticmq-build-${Buffer.from(SERVER_DIR).toString('hex').slice(-32)}.lock`);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(lock).then((info) => Date.now() - info.mtimeMs, () => 0);
      if (since > BUILD_LOCK_STALE_MS) await rmdir(lock).catch(() => {});
      else await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    if (await serverIsCurrent()) return;
    log('Building the local SQS server (scripts/elasticmq-local, mvn -B -q package); Maven Central is fetched on the first build.');
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('mvn', ['-B', '-q', 'package'], { cwd: SERVER_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new LocalSqsError('Cannot build the local SQS server: no `mvn` (Maven) on PATH') : error));
      child.once('close', (code) => resolve({ code, output }));
    });
    if (result.code !== 0) {
      throw new LocalSqsError(`Building the local SQS server failed (mvn exit code ${result.code}):\n${result.output.slice(-LOG_TAIL_CHARS)}`);
    }
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts ElasticMQ on a free loopback port and resolves once it serves requests. */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  await ensureLocalSqsBuilt();
  const region = options.region ?? 'us-east-2';
  const account = options.account ?? '123456789012';
  const port = await freePort();
  const args = [
    '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC',
    // Typesafe-config overrides of ElasticMQ's defaults.
    `-Drest-sqs.bind-port=${port}`, '-Drest-sqs.bind-hostname=127.0.0.1',
    '-Dnode-address.protocol=http', '-Dnode-address.host=127.0.0.1', `-Dnode-address.port=${port}`,
    '-Drest-stats.enabled=false', `-Daws.region=${region}`, `-Daws.accountId=${account}`,
    '-jar', SERVER_JAR,
  ];
  // stdin stays an open pipe: the server exits when it reaches end-of-file (ElasticMqLocal.java).
  const child = spawn(javaExecutable(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  track(child);
  let logTail = '';
  const keep = (chunk: Buffer): void => { logTail = (logTail + chunk.toString()).slice(-LOG_TAIL_CHARS); };
  child.stderr!.on('data', keep);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin!.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    untrack(child);
  };
  const timeoutMs = options.startupTimeoutMs ?? 60_000;
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (reason: string): void =>
        reject(new LocalSqsError(`The local SQS server (ElasticMQ) did not start: ${reason}\n--- log (tail) ---\n${logTail}`));
      lines.on('line', (line) => {
        logTail = (logTail + line + '\n').slice(-LOG_TAIL_CHARS);
        if (/=== ElasticMQ server .* started/.test(line)) resolve();
      });
      child.once('error', (error) => fail(error.message));
      void exited.then(() => fail(`the JVM exited (code ${child.exitCode}) before it was ready`));
      timer = setTimeout(() => fail(`not ready after ${timeoutMs / 1000} s`), timeoutMs);
    });
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
    lines.close();
    // Keep draining (and keeping the tail of) stdout: a full pipe would block the JVM.
    child.stdout!.on('data', keep);
    child.stdout!.resume();
  }
  return { endpoint: `http://127.0.0.1:${port}`, region, account, pid: child.pid!, stop };
}

// Servers still running when this process exits; closing stdin would end them anyway, this is faster.
const running = new Set<ChildProcess>();
const killAll = (): void => { for (const child of running) child.kill('SIGTERM'); };

function track(child: ChildProcess): void {
  if (running.size === 0) process.on('exit', killAll);
  running.add(child);
  child.once('exit', () => untrack(child));
}

function untrack(child: ChildProcess): void {
  if (running.delete(child) && running.size === 0) process.off('exit', killAll);
}
