import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';

const USAGE = `Usage: granary [command] [options]

Commands:
  serve          Start the server (default). Migrates the metadata store first.
  migrate        Apply, create or check metadata migrations (granary migrate --help).
  print-schema   Print the GraphQL schema, sorted (granary print-schema --help).

Commands against a running server, through the typed client: the server's base URL from
GRANARY_URL or --url (default http://127.0.0.1:4000), the API key from GRANARY_API_KEY or
--api-key-file FILE; tables by default, --json for one JSON document (granary <command> --help):
  status         Server health and readiness, the key's project and scopes, object counts.
  groups         List the project's feature groups.
  group          Show a feature group and its features (group <name> [--version N]).
  insert         Insert a CSV, Parquet or JSON-lines file into a feature group (insert <group> <file>).
  jobs           List the project's jobs with their schedules and last runs.
  run            Run a job; with --follow, print its states and log lines live (run <job> --follow).
  keys           List API keys; keys create <name> --scope READ|WRITE|ADMIN; keys revoke <id>.
  Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 server unreachable or not
  authenticated, 4 not found.

Configuration of serve comes from the environment: PORT, HOST, GRANARY_DATA_DIR, DATABASE_URL,
PUBSUB_URL, NODE_ENV, LOG_LEVEL (see README.md).
`;

/** Commands of src/cli/remote.ts, loaded only when one runs (they need the client, not the server). */
const REMOTE_COMMANDS = new Set(['status', 'groups', 'group', 'insert', 'jobs', 'run', 'keys']);

const SERVE_USAGE = `Usage: granary serve

Starts the GraphQL server (HTTP, SSE and graphql-ws on one port) on the configured
data directory, applying metadata migrations first. On the first start it creates project
"default" and an admin API key, written to <GRANARY_DATA_DIR>/admin.key.
Stops gracefully on SIGTERM or SIGINT.
`;

const PRINT_SCHEMA_USAGE = `Usage: granary print-schema [--output FILE]

Prints the GraphQL schema in SDL, types sorted by name: what schema.graphql holds.
  --output FILE   write to FILE instead of standard output
`;

/** Runs one CLI command; resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  const command = first === undefined || first.startsWith('-') ? 'serve' : first;
  const args = first === undefined || first.startsWith('-') ? argv : rest;
  const help = args.includes('--help') || args.includes('-h');
  try {
    switch (command) {
      case 'serve': {
        if (help) return print(first === undefined || first.startsWith('-') ? USAGE + '\n' + SERVE_USAGE : SERVE_USAGE);
        // A mistyped option must not start a server that ignores it.
        if (args.length > 0) return fail(`serve takes no arguments (got ${args.join(' ')}); configure it through the environment\n\n${SERVE_USAGE}`);
        const { serve } = await import('./serve.ts');
        await serve(loadConfig());
        return 0;
      }
      case 'migrate': {
        const { runMigrateCommand } = await import('./stores/metadata/migrate-command.ts');
        return await runMigrateCommand([...args], process.env);
      }
      case 'print-schema': {
        if (help) return print(PRINT_SCHEMA_USAGE);
        let file: string | undefined;
        try {
          file = parseArgs({ args: [...args], options: { output: { type: 'string' } } }).values.output;
        } catch (error) {
          return fail(`${(error as Error).message}\n\n${PRINT_SCHEMA_USAGE}`);
        }
        const { printSortedSchema } = await import('./schema/index.ts');
        if (file !== undefined) {
          if (!file) return fail('--output needs a file name');
          writeFileSync(file, printSortedSchema());
        } else {
          process.stdout.write(printSortedSchema());
        }
        return 0;
      }
      case 'help':
        return print(USAGE);
      default:
        if (REMOTE_COMMANDS.has(command)) {
          const { runRemote } = await import('./cli/remote.ts');
          return await runRemote(command, args);
        }
        return fail(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    const { syscall, code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
    if (syscall === 'listen') {
      // An operator's mistake, not a crash: say what to change instead of printing a stack trace.
      process.stderr.write(`granary: cannot listen on ${address}${port === undefined ? '' : `:${port}`} (${code}); set PORT or HOST to another value\n`);
      return 1;
    }
    throw error;
  }
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`granary: ${message}\n`);
  return 2;
}
