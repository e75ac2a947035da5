// Root of the `albatross` CLI: each sub-command lives in its own module under
// scripts/commands/ and is loaded only when it runs, so `albatross parse` does
// not pay for the CDK or OpenSearch client imports.
import { Command } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  opensearch: () => import('./commands/opensearch.ts'),
  parse: () => import('./commands/parse.ts'),
  'setup-templates': () => import('./commands/setup-templates.ts'),
  generate: () => import('./commands/generate.ts'),
  demo: () => import('./commands/demo.ts'),
  backfill: () => import('./commands/backfill.ts'),
  bench: () => import('./bench/index.ts'),
  cost: () => import('./commands/cost.ts'),
};

async function main(argv: string[]): Promise<void> {
  const program = new Command('albatross')
    .description('ALB access logs into OpenSearch')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode));
  const requested = argv[2];
  const names = requested && requested in COMMANDS ? [requested] : Object.keys(COMMANDS);
  for (const name of names) {
    const load = COMMANDS[name]!;
    (await load()).register(program);
  }
  await program.parseAsync(argv);
}

try {
  await main(process.argv);
} catch (error) {
  // Commands explain the failures they expect; anything else still gets one readable line, not a stack trace.
  const command = process.argv[2] && process.argv[2] in COMMANDS ? ` ${process.argv[2]}` : '';
  process.stderr.write(`albatross${command} failed: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env.ALBATROSS_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  else process.stderr.write('(ALBATROSS_DEBUG=1 shows the stack trace)\n');
  process.exitCode = 1;
}
