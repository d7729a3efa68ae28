/** `granary groups` and `granary group <name>`: a project's feature groups and one group's schema. */
import { type Command, type CommandContext, CliError, EXIT, positiveIntOption, printJson, refText, time } from '../command.ts';
import { formatFields, formatTable } from '../table.ts';

export const groups: Command = {
  name: 'groups',
  summary: 'List the project’s feature groups',
  usage: `Usage: granary groups [--latest]

Lists the project's feature groups, by name then version: online or not, row count, primary key,
event time, creation time.
  --latest   only the latest version of each group
`,
  options: { latest: { type: 'boolean' } },
  positionals: [],
  async run({ client, io, json, values }: CommandContext): Promise<number> {
    const list = await client.featureGroups({ latestOnly: values.latest === true });
    if (json) printJson(io, list);
    else if (list.length === 0) io.out('no feature groups\n');
    else
      io.out(
        formatTable(
          ['NAME', 'VERSION', 'ONLINE', 'ROWS', 'PRIMARY KEY', 'EVENT TIME', 'CREATED'],
          list.map((g) => [g.name, g.version, g.onlineEnabled, g.rowCount, g.primaryKey.join(', '), g.eventTime, time(g.createdAt)]),
        ),
      );
    return EXIT.OK;
  },
};

export const group: Command = {
  name: 'group',
  summary: 'Show a feature group and its features',
  usage: `Usage: granary group <name> [--version N]

Shows a feature group (the latest version unless --version) and its features. Exits 4 when the
project has no such group.
  --version N   that version
`,
  options: { version: { type: 'string' } },
  positionals: ['name'],
  async run(context: CommandContext): Promise<number> {
    const { client, io, json, positionals } = context;
    const name = positionals[0]!;
    const version = positiveIntOption(context, 'version');
    const found = await client.featureGroup(name, version);
    if (!found) throw new CliError(`feature group ${refText(name, version)} not found`, EXIT.NOT_FOUND);
    if (json) {
      printJson(io, found);
      return EXIT.OK;
    }
    io.out(
      formatFields([
        ['name', found.name],
        ['version', found.version],
        ['description', found.description],
        ['primary key', found.primaryKey.join(', ')],
        ['event time', found.eventTime],
        ['online', found.onlineEnabled ? 'yes' : 'no'],
        ['rows', found.rowCount],
        ['created', time(found.createdAt)],
        ['updated', time(found.updatedAt)],
      ]),
    );
    io.out('\n');
    io.out(
      formatTable(
        ['FEATURE', 'TYPE', 'PRIMARY', 'EVENT TIME', 'DESCRIPTION'],
        found.features.map((f) => [f.name, f.type, f.primary, f.eventTime, f.description]),
      ),
    );
    return EXIT.OK;
  },
};
