/** `granary keys`, `keys create`, `keys revoke`: the project's API keys. */
import type { ApiKey } from '../../client/admin.ts';
import { type Command, type CommandContext, EXIT, printJson, stringOption, time, usageError } from '../command.ts';
import { formatTable } from '../table.ts';

const SCOPES = ['READ', 'WRITE', 'ADMIN'] as const;
type Scope = (typeof SCOPES)[number];

function scopesOf(context: CommandContext): Scope[] {
  const given = context.values.scope;
  const values = (Array.isArray(given) ? given : [given]).filter((v): v is string => typeof v === 'string').flatMap((v) => v.split(','));
  if (values.length === 0) throw usageError(`--scope is required: ${SCOPES.join(', ')}`);
  return values.map((value) => {
    const scope = value.trim().toUpperCase() as Scope;
    if (!SCOPES.includes(scope)) throw usageError(`--scope must be one of ${SCOPES.join(', ')} (got "${value}")`);
    return scope;
  });
}

function expiresOf(context: CommandContext): string | null {
  const text = stringOption(context, 'expires');
  if (text === undefined) return null;
  const date = new Date(text);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(date.getTime()))
    throw usageError(`--expires must be an ISO 8601 time such as 2030-01-31T00:00:00Z (got "${text}")`);
  return date.toISOString();
}

const keyRow = (k: ApiKey) => [k.id, k.name, `${k.prefix}…`, k.scopes.join(', '), time(k.createdAt), time(k.expiresAt), time(k.lastUsedAt), time(k.revokedAt)];

export const keys: Command = {
  name: 'keys',
  summary: 'List the project’s API keys (needs ADMIN); keys create, keys revoke',
  usage: `Usage: granary keys [--all]
       granary keys create <name> --scope READ|WRITE|ADMIN [--expires ISO]
       granary keys revoke <id>

Lists the project's API keys, newest first (needs an ADMIN key): id, name, the secret's public
prefix, scopes, when created, expiring, last used and revoked. Secrets are never shown again.
  --all   revoked keys too
`,
  options: { all: { type: 'boolean' } },
  positionals: [],
  async run({ client, io, json, values }: CommandContext): Promise<number> {
    const list = await client.apiKeys({ includeRevoked: values.all === true });
    if (json) printJson(io, list);
    else io.out(formatTable(['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'], list.map(keyRow)));
    return EXIT.OK;
  },
};

export const keysCreate: Command = {
  name: 'keys create',
  summary: 'Mint an API key and print its secret once',
  usage: `Usage: granary keys create <name> --scope READ|WRITE|ADMIN [--expires ISO]

Mints an API key of the project with at most the caller's scopes and prints its secret on
stdout, alone on its line (KEY=$(granary keys create pipeline --scope WRITE)); the key's details
go to stderr. The secret is shown only this once.
  --scope SCOPE   READ (queries), WRITE (and mutations) or ADMIN (and keys, jobs running programs)
  --expires ISO   when the key stops working (default: never)
`,
  options: { scope: { type: 'string', multiple: true }, expires: { type: 'string' } },
  positionals: ['name'],
  async run(context: CommandContext): Promise<number> {
    const { client, io, json } = context;
    const input = { name: context.positionals[0]!, scopes: scopesOf(context), expiresAt: expiresOf(context) };
    const created = await client.createApiKey(input);
    if (json) {
      printJson(io, created);
    } else {
      io.out(`${created.secret}\n`);
      const k = created.apiKey;
      io.err(
        `created key "${k.name}" (id ${k.id}, scopes ${k.scopes.join(', ')}, expires ${k.expiresAt ? time(k.expiresAt) : 'never'}); its secret is shown only this once\n`,
      );
    }
    return EXIT.OK;
  },
};

export const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'Revoke an API key by id',
  usage: `Usage: granary keys revoke <id>

Revokes an API key at once (its id as \`granary keys\` lists it): requests and open subscriptions
with it are refused from then on. Revoking another key than the caller's needs ADMIN. Exits 4
when there is no such key.
`,
  options: {},
  positionals: ['id'],
  async run({ client, io, json, positionals }: CommandContext): Promise<number> {
    const revoked = await client.revokeApiKey(positionals[0]!);
    if (json) printJson(io, revoked);
    else io.out(`revoked key "${revoked.name}" (id ${revoked.id})\n`);
    return EXIT.OK;
  },
};
