/**
 * What the `granary` commands that talk to a running server share: their shape, the exit codes
 * scripts rely on, and the small parsers and printers every command uses. Imports only the typed
 * client and node builtins, so the commands run against a remote server without the server code.
 */
import type { ParseArgsConfig } from 'node:util';
import type { GranaryAdminClient } from '../client/admin.ts';

/** Exit codes, documented in every command's --help and in README.md. */
export const EXIT = {
  OK: 0,
  /** The operation failed (the server refused it; a followed execution ended FAILED or KILLED). */
  FAILED: 1,
  /** Unknown command or option, missing or bad argument, unreadable local file. */
  USAGE: 2,
  /** The server cannot be reached, or the key is missing, unknown, expired or revoked. */
  UNREACHABLE: 3,
  /** The feature group, job, execution or key does not exist. */
  NOT_FOUND: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the operation failed (for run --follow: the execution ended FAILED or KILLED)
  2  usage error: unknown command or option, missing or bad argument, unreadable file
  3  cannot reach the server, or not authenticated (no key; unknown, expired or revoked key)
  4  not found (feature group, job, execution or key)
`;

export const COMMON_OPTIONS_HELP = `Options of every command:
  --url URL            the server's base URL (default: $GRANARY_URL, else http://127.0.0.1:4000)
  --api-key-file FILE  read the API key from FILE (default: the key in $GRANARY_API_KEY)
  --json               print one JSON document on stdout instead of tables
  -h, --help           print this help
`;

/** A failure the command explains itself: one line on stderr, and its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.USAGE);

/** Where a command writes: standard output and error, and whether stderr is a terminal. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly errIsTTY: boolean;
  readonly errColumns: number;
}

export interface CommandContext {
  readonly client: GranaryAdminClient;
  /** The server's base URL, as given. */
  readonly url: string;
  /** Whether an API key was given (`status` runs without one). */
  readonly hasKey: boolean;
  readonly positionals: readonly string[];
  /** Values of the command's own options (strings, booleans, or arrays of strings for `multiple`). */
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  /** --json: one JSON document on stdout. */
  readonly json: boolean;
  readonly io: Io;
}

export interface Command {
  /** As typed: `groups`, `keys create`. */
  readonly name: string;
  /** One line for `granary --help`. */
  readonly summary: string;
  /** `Usage: …` and what it does; options and exit codes are added to it. */
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Names of the positional arguments, all required. */
  readonly positionals: readonly string[];
  /** Runs without an API key (checks what it can, then exits 3). */
  readonly keyless?: boolean;
  run(context: CommandContext): Promise<number>;
}

/** Prints `value` as the command's one JSON document. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** A string option's value, when given. */
export function stringOption(context: CommandContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A positive integer option (`--version 2`), or undefined when not given; a usage error otherwise. */
export function positiveIntOption(context: CommandContext, name: string): number | undefined {
  const text = stringOption(context, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) throw usageError(`--${name} must be a positive integer (got "${text}")`);
  return value;
}

/** An ISO 8601 time without its milliseconds (`2024-05-01T12:00:01Z`), or `-`. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `ref` as a user writes it: `name` or `name v2`. */
export function refText(name: string, version: number | null | undefined): string {
  return version == null ? `"${name}"` : `"${name}" version ${version}`;
}
