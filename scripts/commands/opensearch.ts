// `albatross opensearch`: a real single-node OpenSearch on loopback until Ctrl-C.
// stdout carries only the URL, so `URL=$(albatross opensearch | head -1)`-style use works;
// everything else goes to stderr.
import { Command } from 'commander';
import { port } from './option-values.ts';
import { ensureLauncherBuilt, OpenSearchEngineError, startOpenSearch, type EmbeddedEngine } from '../opensearch-local/engine.ts';

interface OpenSearchOptions {
  data?: string;
  port: number;
  verbose?: boolean;
  buildOnly?: boolean;
}

export function register(program: Command): void {
  program
    .command('opensearch')
    .description('start an embedded single-node OpenSearch 2.19 on 127.0.0.1, print its URL, run until Ctrl-C')
    .option('--data <dir>', 'keep the data in this directory (default: a fresh temporary one, deleted on exit)')
    .option('--port <n>', 'HTTP port (0 = any free port)', port, 0)
    .option('--verbose', "copy the engine's log to stderr")
    .option('--build-only', 'only build the launcher (Maven) and its class-data archive, then exit')
    .action(async (options: OpenSearchOptions) => {
      if (options.buildOnly) {
        await ensureLauncherBuilt();
        return;
      }
      const started = Date.now();
      let engine: EmbeddedEngine;
      try {
        engine = await startOpenSearch({
          dataDir: options.data,
          port: options.port,
          onLog: options.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
        });
      } catch (error) {
        // Our own errors already say what to do; anything else keeps its stack trace.
        if (!(error instanceof OpenSearchEngineError)) throw error;
        process.stderr.write(`albatross opensearch: ${error.message}\n`);
        process.exit(1);
      }
      process.stdout.write(`${engine.url}\n`);
      process.stderr.write(
        `OpenSearch ready in ${((Date.now() - started) / 1000).toFixed(1)} s (java pid ${engine.pid}, data in ${engine.home}` +
          `${options.data ? '' : ', deleted on exit'}). Ctrl-C to stop.\n`,
      );

      let stopping = false;
      const shutdown = async (signal: NodeJS.Signals) => {
        stopping = true;
        process.stderr.write(`${signal}: stopping OpenSearch…\n`);
        await engine.stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);

      const { code, signal } = await engine.exited;
      if (stopping) return; // shutdown() exits once the data directory is cleaned up
      process.stderr.write(`OpenSearch exited unexpectedly (code ${code}, signal ${signal}).\n${engine.logTail().slice(-4000)}\n`);
      process.exit(1);
    });
}
