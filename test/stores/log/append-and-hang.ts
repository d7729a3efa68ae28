/** Child of sqlite.test.ts: appends one message to the log file in argv, prints its sequence, then hangs until killed. */
import { SqliteStreamLog } from '../../../src/stores/log/sqlite.ts';

const log = new SqliteStreamLog({ file: process.argv[2]! });
await log.ensure('killed', 'k');
const { sequence } = await log.append('killed', 'k.x', new TextEncoder().encode('survives'));
process.stdout.write(`${sequence}\n`);
setInterval(() => {}, 60_000);
