/** `granary jobs` and `granary run <job> [--follow]`: a project's jobs, and running one live. */
import { type Execution, type ExecutionChange, executionEnded } from '../../client/admin.ts';
import { type Command, type CommandContext, CliError, EXIT, type Io, printJson, stringOption, time, usageError } from '../command.ts';
import { formatTable } from '../table.ts';

export const jobs: Command = {
  name: 'jobs',
  summary: 'List the project’s jobs with their schedules and last runs',
  usage: `Usage: granary jobs

Lists the project's jobs by name: type, schedule (cron, paused or not), next scheduled run, the
state of the latest run and when it ended, and the key that created the job.
`,
  options: {},
  positionals: [],
  async run({ client, io, json }: CommandContext): Promise<number> {
    const list = await client.jobs();
    if (json) printJson(io, list);
    else if (list.length === 0) io.out('no jobs\n');
    else
      io.out(
        formatTable(
          ['NAME', 'TYPE', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'ENDED', 'CREATED BY'],
          list.map((j) => {
            const last = j.executions.edges[0]?.node;
            const schedule = j.schedule ? `${j.schedule.cron}${j.schedule.paused ? ' (paused)' : ''}` : null;
            return [j.name, j.type, schedule, time(j.nextRunAt), last?.state, time(last?.finishedAt), j.createdBy];
          }),
        ),
      );
    return EXIT.OK;
  },
};

function parseArgsOption(context: CommandContext): unknown {
  const text = stringOption(context, 'args');
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw usageError(`--args is not JSON: ${(error as Error).message}`);
  }
}

/** `  45% message` of a running execution, or nothing before it reports progress. */
function progressText(execution: Execution): string {
  if (execution.progress <= 0 && !execution.progressMessage) return '';
  return ` ${Math.round(execution.progress * 100)}%${execution.progressMessage ? ` ${execution.progressMessage}` : ''}`;
}

/**
 * Writes one step of a followed execution: a state line (`== RUNNING`), progress, log lines as
 * they are. The lines come before the final state, which is the last line.
 */
function printChange(write: (text: string) => void, change: ExecutionChange): void {
  const { execution, lines, stateChanged, progressChanged } = change;
  const ended = executionEnded(execution.state);
  if (stateChanged && execution.state === 'INITIALIZING') write(`== INITIALIZING execution ${execution.id} of job ${execution.job.name}\n`);
  else if (stateChanged && !ended) write(`== ${execution.state}${progressText(execution)}\n`);
  if (lines.length > 0) write(`${lines.join('\n')}\n`);
  if (!stateChanged && progressChanged && !ended) write(`== ${execution.state}${progressText(execution)}\n`);
  if (stateChanged && ended) write(`== ${execution.state}${execution.duration == null ? '' : ` after ${execution.duration.toFixed(1)} s`}\n`);
}

async function follow(context: CommandContext, name: string, args: unknown): Promise<number> {
  const { client, io, json } = context;
  // With --json, stdout holds only the final document: the live output goes to stderr.
  const write: Io['out'] = json ? io.err : io.out;
  let last: Execution | undefined;
  for await (const change of client.runJobAndFollow(name, args)) {
    last = change.execution;
    printChange(write, change);
  }
  if (!last) throw new CliError(`job "${name}": the execution was not seen to end`, EXIT.FAILED);
  if (json) printJson(io, last);
  if (last.state !== 'SUCCEEDED') throw new CliError(`execution ${last.id} of job "${name}" ended ${last.state}`, EXIT.FAILED);
  return EXIT.OK;
}

export const run: Command = {
  name: 'run',
  summary: 'Run a job; with --follow, print its states and log lines live',
  usage: `Usage: granary run <job> [--args JSON] [--follow]

Starts a run of a job now and prints its execution's id. With --follow, prints the execution's
states (lines starting "== ") and log lines as they happen, until it ends; exits 0 when it
SUCCEEDED, 1 when it ended FAILED or KILLED. Stopping the CLI (Ctrl-C) does not stop the run.
With --json, the live output goes to stderr and the final execution to stdout. Exits 4 when the
job does not exist.
  --args JSON   arguments of this run, as the job's type takes them (COMMAND: an array of strings
                is appended to the command's arguments; all is in GRANARY_JOB_ARGS)
  --follow      follow the execution until it ends
`,
  options: { args: { type: 'string' }, follow: { type: 'boolean' } },
  positionals: ['job'],
  async run(context: CommandContext): Promise<number> {
    const name = context.positionals[0]!;
    const args = parseArgsOption(context);
    if (context.values.follow === true) return await follow(context, name, args);
    const execution = await context.client.runJob(name, args);
    if (context.json) printJson(context.io, execution);
    else context.io.out(`started execution ${execution.id} of job "${name}" (${execution.state})\n`);
    return EXIT.OK;
  },
};
