/**
 * The `granary` commands that talk to a running server through the typed client: the server's
 * URL and API key from the environment or flags, each command's options checked before anything
 * is sent, and every failure turned into one line on stderr and an exit code scripts can rely on
 * (see {@link EXIT}). Imports only the typed client and node builtins, never the server code.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GranaryAdminClient, reachError } from '../client/admin.ts';
import { GranaryError, GranaryNotFoundError, GranaryRequestError, GranaryUnauthenticatedError } from '../client/errors.ts';
import { type Command, CliError, COMMON_OPTIONS_HELP, EXIT, EXIT_CODES_HELP, type ExitCode, type Io, usageError } from './command.ts';
import { group, groups } from './commands/groups.ts';
import { insert } from './commands/insert.ts';
import { jobs, run } from './commands/jobs.ts';
import { keys, keysCreate, keysRevoke } from './commands/keys.ts';
import { status } from './commands/status.ts';

export const REMOTE_COMMANDS: readonly Command[] = [status, groups, group, insert, jobs, run, keys, keysCreate, keysRevoke];

const DEFAULT_URL = 'http://127.0.0.1:4000';
const COMMON_OPTIONS = {
  url: { type: 'string' },
  'api-key-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Whether `name` is a command of this module (`keys create` is reached through `keys`). */
export function isRemoteCommand(name: string): boolean {
  return REMOTE_COMMANDS.some((c) => c.name === name);
}

/** A command's --help: its usage, the common options and the exit codes. */
export function helpOf(command: Command): string {
  return `${command.usage}\n${COMMON_OPTIONS_HELP}\n${EXIT_CODES_HELP}`;
}

export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTTY: process.stderr.isTTY === true,
    errColumns: process.stderr.columns || 80,
  };
}

/** The command `args` name, `keys create` and `keys revoke` being commands of their own. */
function resolve(name: string, args: readonly string[]): { command: Command; rest: readonly string[] } {
  if (name === 'keys' && (args[0] === 'create' || args[0] === 'revoke')) {
    return { command: REMOTE_COMMANDS.find((c) => c.name === `keys ${args[0]}`)!, rest: args.slice(1) };
  }
  const command = REMOTE_COMMANDS.find((c) => c.name === name);
  if (!command) throw usageError(`unknown command "${name}"`);
  return { command, rest: args };
}

function parse(command: Command, args: readonly string[]) {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof COMMON_OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: { ...COMMON_OPTIONS, ...command.options } as typeof COMMON_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's messages go on with advice about `--`: the first sentence names the option.
    throw usageError(`${(error as Error).message.split(/\.\s/)[0]}; see granary ${command.name} --help`);
  }
  const { positionals } = parsed;
  if (positionals.length < command.positionals.length) {
    throw usageError(`missing <${command.positionals[positionals.length]}>; usage: ${command.usage.split('\n')[0]!.replace(/^Usage: /, '')}`);
  }
  if (positionals.length > command.positionals.length) {
    const extra = positionals[command.positionals.length]!;
    throw usageError(command.name === 'keys' ? `unknown subcommand "${extra}" of keys (create, revoke)` : `unexpected argument "${extra}"`);
  }
  return parsed;
}

/** The server's URL: --url, else GRANARY_URL, else the local default; a usage error when it is not an http(s) URL. */
function urlOf(given: string | undefined, env: Record<string, string | undefined>): string {
  const text = given ?? (env.GRANARY_URL || DEFAULT_URL);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${given === undefined ? 'GRANARY_URL' : '--url'} is not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`${given === undefined ? 'GRANARY_URL' : '--url'} must be http:// or https:// (got "${text}")`);
  return text.replace(/\/+$/, '');
}

/** The API key: the content of --api-key-file, else GRANARY_API_KEY; undefined when neither is given. */
function keyOf(file: string | undefined, env: Record<string, string | undefined>): string | undefined {
  if (file === undefined) return env.GRANARY_API_KEY?.trim() || undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read --api-key-file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!text.trim()) throw new CliError(`--api-key-file ${file} is empty`, EXIT.UNREACHABLE);
  return text.trim();
}

/** The exit code and the one line a failure is reported with. */
export function explain(error: unknown, url: string): { code: ExitCode; message: string } {
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  const unreachable = reachError(error);
  if (unreachable) return { code: EXIT.UNREACHABLE, message: `cannot reach the server at ${url} (${unreachable})` };
  const request = error instanceof GranaryRequestError ? error : undefined;
  if (error instanceof GranaryUnauthenticatedError || request?.status === 401 || request?.code === 'UNAUTHENTICATED') {
    return { code: EXIT.UNREACHABLE, message: `not authenticated at ${url}: ${oneLine((error as Error).message)}` };
  }
  // A 404 without a GraphQL answer: the URL is not a Granary server's.
  if (request && request.errors.length === 0 && request.status === 404) {
    return { code: EXIT.UNREACHABLE, message: `no Granary server at ${url} (HTTP 404)` };
  }
  if (error instanceof GranaryNotFoundError || request?.code === 'NOT_FOUND') return { code: EXIT.NOT_FOUND, message: oneLine((error as Error).message) };
  if (error instanceof GranaryError) return { code: EXIT.FAILED, message: oneLine(error.message) };
  return { code: EXIT.FAILED, message: `unexpected error: ${oneLine(error instanceof Error ? error.message : String(error))}` };
}

/** A message of several lines (a validation error's issues) as one. */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
}

/**
 * Runs a command against the server; resolves to its exit code. `name` is the command as typed
 * (`keys`), `args` what follows it.
 */
export async function runRemote(
  name: string,
  args: readonly string[],
  env: Record<string, string | undefined> = process.env,
  io: Io = processIo(),
): Promise<number> {
  let label = name;
  let url = DEFAULT_URL;
  let client: GranaryAdminClient | undefined;
  try {
    const { command, rest } = resolve(name, args);
    label = command.name;
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(helpOf(command));
      return EXIT.OK;
    }
    const { values, positionals } = parse(command, rest);
    url = urlOf(values.url, env);
    const apiKey = keyOf(values['api-key-file'], env);
    if (!apiKey && !command.keyless) throw new CliError('no API key: set GRANARY_API_KEY or pass --api-key-file FILE', EXIT.UNREACHABLE);
    client = new GranaryAdminClient({ url, apiKey: apiKey ?? '' });
    return await command.run({ client, url, hasKey: apiKey !== undefined, positionals, values, json: values.json === true, io });
  } catch (error) {
    const { code, message } = explain(error, url);
    io.err(`granary ${label}: ${message}\n`);
    return code;
  } finally {
    await client?.close();
  }
}
