/** `granary insert <group> <file>`: one atomic commit of a CSV, Parquet or JSON-lines file. */
import { statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { DataFormat } from '../../client/client.ts';
import { type Command, type CommandContext, CliError, EXIT, positiveIntOption, printJson, refText, stringOption, usageError } from '../command.ts';
import { openCounted, ProgressBar } from '../progress.ts';

/** The format of a file by its extension, as the server reads it. */
const EXTENSIONS: Readonly<Record<string, DataFormat>> = {
  '.csv': 'CSV',
  '.parquet': 'PARQUET',
  '.pq': 'PARQUET',
  '.ndjson': 'NDJSON',
  '.jsonl': 'NDJSON',
  '.json': 'NDJSON',
};
const FORMATS: readonly DataFormat[] = ['CSV', 'PARQUET', 'NDJSON'];

/** Files smaller than this upload too fast for a bar to say anything. */
const BAR_FROM_BYTES = 1 << 20;

function formatOf(context: CommandContext, file: string): DataFormat {
  const given = stringOption(context, 'format');
  if (given !== undefined) {
    const format = given.toUpperCase() as DataFormat;
    if (!FORMATS.includes(format)) throw usageError(`--format must be one of ${FORMATS.join(', ')} (got "${given}")`);
    return format;
  }
  const format = EXTENSIONS[extname(file).toLowerCase()];
  if (!format) throw usageError(`cannot tell the format of ${file} from its extension: give --format ${FORMATS.join('|')}`);
  return format;
}

/** The file's size; a usage error naming it when it is not a readable regular file. */
function sizeOf(file: string): number {
  try {
    const stats = statSync(file);
    if (!stats.isFile()) throw usageError(`${file} is not a file`);
    return stats.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw usageError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export const insert: Command = {
  name: 'insert',
  summary: 'Insert a CSV, Parquet or JSON-lines file into a feature group',
  usage: `Usage: granary insert <group> <file> [--version N] [--format CSV|PARQUET|NDJSON] [--fill-missing]

Inserts the rows of a file into a feature group as one atomic commit (rows whose identity exists
are superseded). The format follows the extension: .csv, .parquet or .pq, .jsonl, .ndjson or .json
(one JSON object a line). The file is streamed to the server; on a terminal, a progress bar on
stderr follows the upload of a large file. Exits 4 when the group does not exist, 1 when the rows
are refused (the message says which rows and columns).
  --version N      the group's version N (default: the latest)
  --format FORMAT  the file's format, whatever its extension
  --fill-missing   insert null for features the file lacks (default: refuse the file)
`,
  options: { version: { type: 'string' }, format: { type: 'string' }, 'fill-missing': { type: 'boolean' } },
  positionals: ['group', 'file'],
  async run(context: CommandContext): Promise<number> {
    const { client, io, json } = context;
    const [name, file] = context.positionals as [string, string];
    const version = positiveIntOption(context, 'version');
    const format = formatOf(context, file);
    const size = sizeOf(file);
    // Before uploading what may be gigabytes: is there such a group?
    if (!(await client.featureGroup(name, version))) throw new CliError(`feature group ${refText(name, version)} not found`, EXIT.NOT_FOUND);
    const bar = io.errIsTTY && size >= BAR_FROM_BYTES ? new ProgressBar(io.err, io.errColumns) : undefined;
    const data = await openCounted(file, (read, total) => bar?.update(read, total));
    let result: Awaited<ReturnType<typeof client.insert>>;
    try {
      result = await client.insert({ name, version: version ?? null }, data, {
        format,
        fileName: basename(file),
        fillMissing: context.values['fill-missing'] === true,
      });
    } finally {
      bar?.clear();
    }
    if (json) {
      printJson(io, result);
    } else {
      const { commit, featureGroup } = result;
      io.out(
        `inserted ${commit.rowCount} rows into ${refText(featureGroup.name, featureGroup.version)}: commit ${commit.id} ` +
          `(${commit.rowsInserted} new, ${commit.rowsUpdated} updated; ${featureGroup.rowCount} rows in the group)\n`,
      );
    }
    return EXIT.OK;
  },
};
