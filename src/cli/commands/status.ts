/** `granary status`: is the server up and ready, who is the key, what does the project hold. */
import type { Count, Probe } from '../../client/admin.ts';
import { type Command, type CommandContext, CliError, EXIT, printJson } from '../command.ts';
import { formatFields } from '../table.ts';

interface Health {
  readonly status: number | null;
  /** ok, unavailable, unknown (the server has no such endpoint) or unreachable. */
  readonly state: 'ok' | 'unavailable' | 'unknown' | 'unreachable';
  readonly error: string | null;
}

function health(probe: Probe): Health {
  if (probe.status === null) return { status: null, state: 'unreachable', error: probe.error };
  // A server without /readyz answers 404: that says nothing about readiness.
  const state = probe.status === 200 ? 'ok' : probe.status === 404 ? 'unknown' : 'unavailable';
  return { status: probe.status, state, error: null };
}

function healthText(h: Health): string {
  if (h.state === 'unreachable') return `unreachable (${h.error ?? 'no answer'})`;
  return h.state === 'ok' ? 'ok' : `${h.state} (HTTP ${h.status})`;
}

const countText = (c: Count) => (c.exact ? String(c.count) : `${c.count}+`);

export const status: Command = {
  name: 'status',
  summary: 'Server health and readiness, the key’s project and scopes, object counts',
  usage: `Usage: granary status

Prints the server's URL, whether /healthz and /readyz answer (readyz "unknown" when the server
has no such endpoint), the API key's project, name and scopes, and how many feature groups,
feature views and models (versions) and jobs the project has. Exits 1 when the server answers
but is not healthy.
`,
  options: {},
  positionals: [],
  keyless: true,
  async run(context: CommandContext): Promise<number> {
    const { client, io } = context;
    const [healthz, readyz] = (await Promise.all([client.probe('/healthz'), client.probe('/readyz')])).map(health) as [Health, Health];
    const report: Record<string, unknown> = { url: context.url, healthz, readyz };
    const print = () => {
      if (context.json) return printJson(io, report);
      const viewer = report.viewer as { project: string; key: string; scopes: string[] } | undefined;
      const counts = report.counts as Record<string, Count> | undefined;
      io.out(
        formatFields([
          ['server', context.url],
          ['healthz', healthText(healthz)],
          ['readyz', healthText(readyz)],
          ...(viewer
            ? ([
                ['project', viewer.project],
                ['key', `${viewer.key} (${viewer.scopes.join(', ')})`],
              ] as const)
            : []),
          ...(counts
            ? ([
                ['feature groups', countText(counts.featureGroups!)],
                ['feature views', countText(counts.featureViews!)],
                ['models', countText(counts.models!)],
                ['jobs', countText(counts.jobs!)],
              ] as const)
            : []),
        ]),
      );
    };
    if (healthz.state === 'unreachable') {
      print();
      throw new CliError(`cannot reach the server at ${context.url} (${healthz.error ?? 'no answer'})`, EXIT.UNREACHABLE);
    }
    if (!context.hasKey) {
      print();
      throw new CliError('no API key: set GRANARY_API_KEY or pass --api-key-file FILE', EXIT.UNREACHABLE);
    }
    let viewer: Awaited<ReturnType<typeof client.viewer>>;
    let counts: Awaited<ReturnType<typeof client.counts>>;
    try {
      [viewer, counts] = await Promise.all([client.viewer(), client.counts()]);
    } catch (error) {
      // What was learnt before the failure is still worth showing.
      print();
      throw error;
    }
    report.viewer = { project: viewer.project.name, key: viewer.apiKey.name, scopes: viewer.scopes };
    report.counts = counts;
    print();
    return healthz.state === 'ok' ? EXIT.OK : EXIT.FAILED;
  },
};
