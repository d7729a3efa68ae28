import { z } from 'zod';
import { NotFoundError } from '../../errors.ts';
import { describeFailures, evaluateSuite, type IngestionPolicy, type ValidationReport } from '../../engine/validation/evaluate.ts';
import { parseExpectations } from '../../engine/validation/expectations.ts';
import type { ExpectationSuite, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { StagedCommit } from '../../stores/offline/offline-store.ts';
import type { RegistryChange, RegistryEventsService } from '../registry-events.service.ts';
import { groupSchema } from '../feature-group/definition.ts';
import { GroupRowsReader } from '../feature-group/group-rows.ts';
import type { ExternalGroupService } from '../external-group/external-group.service.ts';
import type { OfflineStore } from '../../stores/offline/offline-store.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import { jsonInput, readExpectations } from '../json-columns.ts';

const saveInput = z.object({
  name: z.string().trim().min(1, 'name must not be empty').max(200),
  ingestionPolicy: z.enum(['STRICT', 'ALWAYS']),
  expectations: z.array(z.object({ type: z.string().max(200), kwargs: z.unknown().optional() })).max(500, 'at most 500 expectations'),
});
export type SaveExpectationSuiteInput = z.input<typeof saveInput>;

/**
 * Expectation suites: at most one per feature group version, replaced as a whole when saved.
 * Every expectation is validated when saved (type, kwargs, and columns against the group's
 * schema when it is known), so an insert only ever evaluates a well-formed suite.
 */
/** What expectation suites need of feature groups: finding one by reference. */
export interface FeatureGroupLookup {
  get(viewer: Viewer, ref: FeatureGroupRef): Promise<FeatureGroup>;
}

/** A feature group by name, and version (the latest when omitted). */
export interface FeatureGroupRef {
  readonly name: string;
  readonly version?: number | null;
}

export class ExpectationSuiteService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly featureGroups: FeatureGroupLookup,
    private readonly offline: OfflineStore | null = null,
    private readonly external: ExternalGroupService | null = null,
  ) {}

  /**
   * Validates a group's rows now against its suite and returns the report (nothing is stored):
   * the visible committed rows, or for an external group the rows its source holds. NotFoundError
   * when the group has no suite.
   */
  async validateGroup(viewer: Viewer, ref: FeatureGroupRef): Promise<ValidationReport> {
    if (!this.offline) throw new Error('validateGroup needs the offline store');
    const offline = this.offline;
    const group = await this.featureGroups.get(viewer, ref);
    const suite = await this.prisma.expectationSuite.findUnique({ where: { featureGroupId: group.id } });
    if (!suite) throw new NotFoundError('ExpectationSuite', `of feature group ${group.name} version ${group.version}`);
    const evaluate = (rows: string) =>
      evaluateSuite(
        { name: suite.name, ingestionPolicy: suite.ingestionPolicy as IngestionPolicy, expectations: readExpectations(suite.expectations) },
        groupSchema(group),
        (build) => offline.queryRows(rows, build),
      );
    return new GroupRowsReader(this.prisma, offline, this.external).with(viewer.projectName, group, {}, (rows) => evaluate(rows.sql({ latest: true })));
  }

  /** Saves the group's suite, replacing any previous one. A bad suite is a ValidationError and saves nothing. */
  async save(viewer: Viewer, ref: FeatureGroupRef, raw: SaveExpectationSuiteInput): Promise<ExpectationSuite> {
    const input = parseInput(saveInput, raw);
    const group = await this.featureGroups.get(viewer, ref);
    const schema = (group.features as unknown[]).length > 0 ? groupSchema(group) : null;
    const expectations = parseExpectations(input.expectations, schema);
    const data = {
      name: input.name,
      ingestionPolicy: input.ingestionPolicy,
      expectations: jsonInput(expectations),
    };
    return this.events.change(viewer.projectId, async (tx) => {
      const existing = await tx.expectationSuite.findUnique({ where: { featureGroupId: group.id }, select: { id: true } });
      const value = await tx.expectationSuite.upsert({
        where: { featureGroupId: group.id },
        create: { featureGroupId: group.id, ...data },
        update: data,
      });
      return { value, change: suiteChange(value, group, existing ? 'UPDATED' : 'CREATED') };
    });
  }

  /** Deletes the group's suite; inserts are no longer validated. NotFoundError when it has none. */
  async delete(viewer: Viewer, ref: FeatureGroupRef): Promise<ExpectationSuite> {
    const group = await this.featureGroups.get(viewer, ref);
    const suite = await this.prisma.expectationSuite.findUnique({ where: { featureGroupId: group.id } });
    if (!suite) throw new NotFoundError('ExpectationSuite', `of feature group ${group.name} version ${group.version}`);
    return this.events.change(viewer.projectId, async (tx) => {
      await tx.expectationSuite.delete({ where: { id: suite.id } });
      return { value: suite, change: suiteChange(suite, group, 'DELETED') };
    });
  }
}

/**
 * Validates an insert's staged rows against a suite (two DuckDB statements at most): the report,
 * and a one-line summary of what failed (empty when it passed).
 */
export async function validateStaged(
  suite: ExpectationSuite,
  group: FeatureGroup,
  staged: StagedCommit,
): Promise<{ report: ValidationReport; failures: string[] }> {
  const report = await evaluateSuite(
    {
      name: suite.name,
      ingestionPolicy: suite.ingestionPolicy as IngestionPolicy,
      expectations: readExpectations(suite.expectations),
    },
    groupSchema(group),
    (build) => staged.query(build),
  );
  return { report, failures: describeFailures(report) };
}

function suiteChange(suite: ExpectationSuite, group: FeatureGroup, action: RegistryChange['action']): RegistryChange {
  return { kind: 'ExpectationSuite', objectId: suite.id, name: group.name, version: group.version, action };
}
