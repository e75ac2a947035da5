// A real single-node OpenSearch 2.19 for local runs and tests: the Java launcher
// in this folder (pom.xml + OpenSearchLocal.java) started as a child JVM on
// loopback. getOpenSearch() prefers an existing cluster in OPENSEARCH_URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Engine {
  url: string;
  stop(): Promise<void>;
  embedded: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What startOpenSearch() returns: an Engine plus the facts about its JVM. */
export interface EmbeddedEngine extends Engine {
  embedded: true;
  /** Process id of the JVM. */
  pid: number;
  /** path.home of the node (data under it); removed on stop unless it was given as dataDir. */
  home: string;
  /** Settles when the JVM exits, for whatever reason. */
  exited: Promise<ExitStatus>;
  /** The last ~20,000 characters the JVM wrote to stderr (its log). */
  logTail(): string;
}

export interface StartOptions {
  /** Keep the node's data in this directory across starts (created if missing, never removed). */
  dataDir?: string;
  /** HTTP port; 0 (default) takes a free one. */
  port?: number;
  /** How long to wait for the node to be ready; default 120 s. */
  startupTimeoutMs?: number;
  /** Receives the JVM's log (stderr) as it comes, e.g. process.stderr.write. */
  onLog?: (chunk: string) => void;
}

export class OpenSearchEngineError extends Error {
  override name = 'OpenSearchEngineError';
}

const LAUNCHER_DIR = fileURLToPath(new URL('.', import.meta.url));
const LAUNCHER_JAR = join(LAUNCHER_DIR, 'target', 'opensearch-local.jar');
// Class-data sharing archive of the classes a start loads: roughly halves the start time
// on a busy 2-core machine. Made once after each build (see trainClassArchive).
const CLASS_ARCHIVE = join(LAUNCHER_DIR, 'target', 'opensearch-local.jsa');
const CLASS_ARCHIVE_FAILED = `${CLASS_ARCHIVE}.failed`;
const OPENSEARCH_URL_HINT =
  'Alternatively point OPENSEARCH_URL at a running OpenSearch 2.x cluster ' +
  '(e.g. OPENSEARCH_URL=http://127.0.0.1:9200 npm test), and no embedded engine is started.';
const STDERR_TAIL_CHARS = 20_000;
const STOP_GRACE_MS = 30_000;
const DEFAULT_STARTUP_TIMEOUT_MS = 120_000;
const BUILD_LOCK_STALE_MS = 15 * 60_000;

// As the OpenSearch 2.x distribution's SystemJvmOptions, with a bounded heap.
const JVM_FLAGS = [
  '-Xms512m',
  '-Xmx512m',
  '-XX:+UseG1GC',
  '-Xss1m',
  '-Djava.awt.headless=true',
  '-Dfile.encoding=UTF-8',
  '-Djna.nosys=true',
  '-Dio.netty.noUnsafe=true',
  '-Dio.netty.noKeySetOptimization=true',
  '-Dio.netty.recycler.maxCapacityPerThread=0',
  '-Dio.netty.allocator.numDirectArenas=0',
  // The launcher's shutdown hook closes the node and then shuts log4j down itself.
  '-Dlog4j.shutdownHookEnabled=false',
  '-Dlog4j2.disable.jmx=true',
  '-Djava.locale.providers=SPI,COMPAT',
  '-XX:-OmitStackTraceInFastThrow',
  // C1 only: on 2 busy cores C2 compilation competes with start-up; short test and demo
  // runs did not index slower without it (docs/embedded-opensearch.md).
  '-XX:TieredStopAtLevel=1',
];

/** JVM_FLAGS plus OPENSEARCH_JVM_OPTS (space-separated, later flags win, e.g. "-Xmx1g"). */
function jvmFlags(): string[] {
  return [...JVM_FLAGS, ...(process.env.OPENSEARCH_JVM_OPTS?.split(/\s+/).filter(Boolean) ?? [])];
}

/** The OPENSEARCH_URL cluster when set, otherwise a new embedded engine. */
export async function getOpenSearch(): Promise<Engine> {
  const external = process.env.OPENSEARCH_URL?.trim();
  if (external) {
    return { url: external.replace(/\/+$/, ''), embedded: false, stop: async () => {} };
  }
  return startOpenSearch();
}

/** The launcher's failure line, with what to do about the usual cause. */
function explainFailure(reason: string): string {
  return reason.includes('BindHttpException')
    ? `${reason} (the port is in use: stop what listens there, or pass another --port; 0 takes a free one)`
    : reason;
}

/** Starts the embedded engine (building the launcher on first use) and resolves once it answers HTTP. */
export async function startOpenSearch(options: StartOptions = {}): Promise<EmbeddedEngine> {
  const java = javaExecutable();
  await checkJava(java);
  await ensureLauncherBuilt();
  const archived = await exists(CLASS_ARCHIVE);
  return launchEngine(java, { jvmArgs: [...(archived ? [`-XX:SharedArchiveFile=${CLASS_ARCHIVE}`] : []), '-jar', LAUNCHER_JAR] }, options);
}

/** One build of the launcher to run (this folder's, or the secure engine's in secure/). */
export interface Launcher {
  /** JVM arguments after the common flags that name what to run: `-jar X.jar`, or `-cp … local.albatross.OpenSearchLocal`. */
  jvmArgs: string[];
  /** More launcher options, e.g. `--plugin CLASS`. */
  args?: string[];
  /** Writes files into the node's home (config/opensearch.yml, certificates) before the JVM starts. */
  prepareHome?: (home: string) => Promise<void>;
}

export async function launchEngine(java: string, launcher: Launcher, options: StartOptions): Promise<EmbeddedEngine> {
  const home = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'albatross-opensearch-')));
  await mkdir(home, { recursive: true });
  await launcher.prepareHome?.(home);
  const args = [...jvmFlags(), ...launcher.jvmArgs, '--home', home, '--port', String(options.port ?? 0), '--exit-on-stdin-eof', ...(launcher.args ?? [])];
  // A temporary home is deleted by the JVM itself after the node closed, even if we die first.
  if (!options.dataDir) args.push('--delete-home-on-exit');

  // stdin stays an open pipe: the launcher exits when it reaches end-of-file, i.e. when we are gone.
  const child = spawn(java, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null })); // could not be spawned at all
  });
  let stderrTail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    options.onLog?.(chunk);
  });
  // The JVM ends when its stdin closes; an EPIPE on that is expected, not an error.
  child.stdin!.on('error', () => {});
  trackChild(child);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await terminate(child, exited);
      untrackChild(child);
      if (!options.dataDir) await rm(home, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const url = await waitForReady(child, exited, () => stderrTail, options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS);
    return { url, embedded: true, pid: child.pid!, home, exited, stop, logTail: () => stderrTail };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function javaExecutable(): string {
  if (process.env.OPENSEARCH_JAVA) return process.env.OPENSEARCH_JAVA;
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Runs a short command; ENOENT (not installed) resolves to undefined. */
export async function capture(
  command: string,
  args: string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string } | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(undefined) : reject(error)));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** OpenSearch 2.19 runs on Java 11/17/21; the launcher is compiled for 17, and Java 23+ lost the COMPAT locale data. */
export async function checkJava(java: string): Promise<void> {
  const result = await capture(java, ['-version']);
  if (!result) {
    throw new OpenSearchEngineError(
      `Cannot start the embedded OpenSearch: no Java found (could not run '${java}'). ` +
        'Install a Java 17 JDK and Maven (Debian: apt-get install openjdk-17-jdk-headless maven), ' +
        `or set OPENSEARCH_JAVA to a Java 17 executable. ${OPENSEARCH_URL_HINT}`,
    );
  }
  const major = Number(/version "(?:1\.)?(\d+)/.exec(result.output)?.[1]);
  if (result.code !== 0 || !(major >= 17 && major <= 22)) {
    throw new OpenSearchEngineError(
      `Cannot start the embedded OpenSearch: it needs Java 17 to 22 (17 recommended), but '${java} -version' says: ` +
        `${result.output.trim().split('\n')[0] ?? '(nothing)'}. Set OPENSEARCH_JAVA (or JAVA_HOME) to a Java 17 installation. ` +
        OPENSEARCH_URL_HINT,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestMtime(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

async function launcherIsCurrent(): Promise<boolean> {
  const jar = await stat(LAUNCHER_JAR).catch(() => undefined);
  if (!jar) return false;
  const sources = Math.max(await newestMtime(join(LAUNCHER_DIR, 'pom.xml')), await newestMtime(join(LAUNCHER_DIR, 'src')));
  return jar.mtimeMs >= sources;
}

/** Built, and trained after that build (or training failed once: not retried until the next build). */
async function launcherIsReady(): Promise<boolean> {
  if (!(await launcherIsCurrent())) return false;
  const jar = (await stat(LAUNCHER_JAR)).mtimeMs;
  const trained = await Promise.all(
    [CLASS_ARCHIVE, CLASS_ARCHIVE_FAILED].map((path) => stat(path).then((info) => info.mtimeMs >= jar, () => false)),
  );
  return trained.includes(true);
}

/**
 * Builds target/opensearch-local.jar + target/lib/ when missing or older than its sources,
 * then records the class-data archive. A lock directory keeps two processes (say a test
 * run and `albatross opensearch`) from running Maven on the same target/ at once.
 */
export async function ensureLauncherBuilt(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<void> {
  if (await launcherIsReady()) return;
  await withBuildLock(LAUNCHER_DIR, async () => {
    if (await launcherIsReady()) return; // another process built it while we waited
    if (!(await launcherIsCurrent())) await buildLauncher(log);
    await trainClassArchive(log);
  });
}

/**
 * Runs `build` holding a lock directory for `dir`, so two processes (say a test run and
 * `albatross opensearch`) never run Maven on the same target/ at once.
 */
export async function withBuildLock(dir: string, build: () => Promise<void>): Promise<void> {
  const lock = join(tmpdir(), `albatross-opensearch-build-${Buffer.from(dir).toString('hex').slice(-32)}.lock`);
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
    await build();
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

async function buildLauncher(log: (message: string) => void): Promise<void> {
  // An archive of the previous build's classes would be refused (or worse, stale).
  await rm(CLASS_ARCHIVE, { force: true });
  await rm(CLASS_ARCHIVE_FAILED, { force: true });
  log(
    'Building the embedded OpenSearch launcher (scripts/opensearch-local, mvn -B -q package). ' +
      'The first build downloads about 90 MB from Maven Central into ~/.m2 and takes a minute or two…',
  );
  const started = Date.now();
  const result = await capture('mvn', ['-B', '-q', 'package'], LAUNCHER_DIR);
  if (!result) {
    throw new OpenSearchEngineError(
      'Cannot build the embedded OpenSearch launcher: no `mvn` (Maven) on PATH. ' +
        `Install Maven (Debian: apt-get install maven). ${OPENSEARCH_URL_HINT}`,
    );
  }
  if (result.code !== 0 || !(await launcherIsCurrent())) {
    throw new OpenSearchEngineError(
      `Building the embedded OpenSearch launcher failed (mvn exit code ${result.code}). ` +
        `Maven Central must be reachable for the first build. ${OPENSEARCH_URL_HINT}\n` +
        result.output.slice(-STDERR_TAIL_CHARS),
    );
  }
  log(`Built the launcher in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

/**
 * One start that indexes, searches and aggregates a little, with the JVM dumping the
 * classes it loaded into CLASS_ARCHIVE at exit; later starts map them instead of
 * loading ~75 jars' classes again. A failure only costs speed, so it is logged, not thrown.
 */
async function trainClassArchive(log: (message: string) => void): Promise<void> {
  const java = javaExecutable();
  await rm(CLASS_ARCHIVE_FAILED, { force: true });
  const partial = `${CLASS_ARCHIVE}.${process.pid}.tmp`;
  log('Recording the class-data archive for fast starts (one start and stop of the engine)…');
  const started = Date.now();
  try {
    const engine = await launchEngine(java, { jvmArgs: [`-XX:ArchiveClassesAtExit=${partial}`, '-jar', LAUNCHER_JAR] }, {});
    try {
      await exerciseEngine(engine.url);
    } finally {
      await engine.stop();
    }
    if (!(await exists(partial))) throw new Error(`the JVM wrote no archive\n${engine.logTail().slice(-2000)}`);
    await rename(partial, CLASS_ARCHIVE);
    log(`Recorded it in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } catch (error) {
    await rm(partial, { force: true });
    await writeFile(CLASS_ARCHIVE_FAILED, String(error));
    log(`Warning: no class-data archive, starts will be slower: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Requests like the tests' (template, bulk, search, aggregations), so their classes are in the archive. */
async function exerciseEngine(url: string): Promise<void> {
  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };
  await call('PUT', '/_index_template/training', {
    index_patterns: ['training-*'],
    template: {
      mappings: {
        properties: {
          '@timestamp': { type: 'date_nanos' },
          ip: { type: 'ip' },
          bytes: { type: 'long' },
          name: { type: 'keyword', fields: { text: { type: 'text' } } },
        },
      },
    },
  });
  const lines = [0, 1, 2, 3].flatMap((i) => [
    JSON.stringify({ create: { _index: `training-2026-01-0${1 + (i % 2)}` } }),
    JSON.stringify({ '@timestamp': `2026-01-0${1 + (i % 2)}T00:00:00.12345678${i}Z`, ip: `10.0.0.${i}`, bytes: i * 10, name: `n${i}` }),
  ]);
  await call('POST', '/_bulk?refresh=true', `${lines.join('\n')}\n`, 'application/x-ndjson');
  await call('POST', '/training-*/_search', {
    query: { bool: { filter: [{ range: { '@timestamp': { gte: '2026-01-01' } } }, { term: { ip: '10.0.0.0/8' } }] } },
    sort: [{ '@timestamp': 'desc' }],
    aggs: {
      names: { terms: { field: 'name' } },
      bytes: { percentiles: { field: 'bytes' } },
      days: { date_histogram: { field: '@timestamp', calendar_interval: 'day' } },
    },
  });
  await call('DELETE', '/training-*');
  await call('DELETE', '/_index_template/training');
}

async function waitForReady(
  child: ChildProcess,
  exited: Promise<ExitStatus>,
  logTail: () => string,
  timeoutMs: number,
): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      const fail = (reason: string) =>
        reject(new OpenSearchEngineError(`The embedded OpenSearch did not start: ${reason}\n--- JVM log (tail) ---\n${logTail()}`));
      lines.on('line', (line) => {
        if (line.startsWith('OPENSEARCH_READY ')) resolve(line.slice('OPENSEARCH_READY '.length).trim());
        else if (line.startsWith('OPENSEARCH_FAILED ')) fail(explainFailure(line.slice('OPENSEARCH_FAILED '.length)));
      });
      child.once('error', (error) => fail(error.message));
      void exited.then(({ code, signal }) => fail(`the JVM exited (code ${code}, signal ${signal}) before it was ready`));
      timer = setTimeout(() => fail(`not ready after ${timeoutMs / 1000} s`), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    // Keep draining stdout: a full pipe would block the JVM.
    lines.close();
    child.stdout!.resume();
  }
}

async function terminate(
  child: ChildProcess,
  exited: Promise<ExitStatus>,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM'); // the launcher's shutdown hook closes the node
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

// Children still running when this process ends or is signalled. Their stdin pipe closing
// already ends them; the handlers below make it immediate.
const running = new Set<ChildProcess>();
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAll(): void {
  for (const child of running) child.kill('SIGTERM');
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // Alone on this signal, we must not swallow it: restore the default action and re-raise.
  if (process.listenerCount(signal) === 1) {
    removeHandlers();
    process.kill(process.pid, signal);
  }
}

function installHandlers(): void {
  process.on('exit', killAll);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
}

function removeHandlers(): void {
  process.off('exit', killAll);
  for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
}

function trackChild(child: ChildProcess): void {
  if (running.size === 0) installHandlers();
  running.add(child);
  child.once('exit', () => untrackChild(child));
}

function untrackChild(child: ChildProcess): void {
  if (running.delete(child) && running.size === 0) removeHandlers();
}
