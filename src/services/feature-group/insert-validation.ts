import { DataValidationError } from '../../errors.ts';
import type { ValidationReport } from '../../engine/validation/evaluate.ts';
import type { ExpectationSuite, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { StagedCommit } from '../../stores/offline/offline-store.ts';
import type { AlertSink } from '../alert/alert-event.ts';
import { validateStaged } from '../expectation/expectation-suite.service.ts';
import type { Viewer } from '../viewer.ts';

/** What validating an insert's staged rows against its group's expectation suite decided. */
export interface InsertValidation {
  /** The report, stored with the commit; null when the group has no suite. */
  readonly report: ValidationReport | null;
  /**
   * Under ALWAYS, after a failed validation: raises its VALIDATION_FAILED alert naming the
   * recorded commit (with its final id, so only once the commit is recorded); else null.
   */
  readonly raiseCommitted: ((commitId: string) => void) | null;
}

/** An insert into a group without an expectation suite. */
export const NOT_VALIDATED: InsertValidation = { report: null, raiseCommitted: null };

/**
 * Validates an insert's staged rows against the group's suite, before anything is published. A
 * failure raises a VALIDATION_FAILED alert and, under STRICT, throws DataValidationError; under
 * ALWAYS the alert waits for the commit (`raiseCommitted`). Whenever this throws, the staged files
 * have been discarded.
 */
export async function validateInsert(
  alerts: AlertSink,
  viewer: Viewer,
  group: FeatureGroup,
  suite: ExpectationSuite,
  staged: StagedCommit,
): Promise<InsertValidation> {
  try {
    const { report, failures } = await validateStaged(suite, group, staged);
    if (report.success) return { report, raiseCommitted: null };
    const strict = suite.ingestionPolicy === 'STRICT';
    const message =
      `insert into feature group ${group.name} version ${group.version} ${strict ? 'rejected' : 'committed'}: ` +
      `${report.statistics.unsuccessful} of ${report.statistics.evaluated} expectations of suite ${suite.name} failed: ${failures.join('; ')}`;
    const raise = (committed: string | null) =>
      alerts.raise(viewer.projectId, {
        type: 'VALIDATION_FAILED',
        subject: { kind: 'FeatureGroup', name: group.name, version: group.version },
        message,
        details: {
          suiteName: suite.name,
          ingestionPolicy: suite.ingestionPolicy,
          rejected: strict,
          commitId: committed,
          statistics: report.statistics,
          failures,
        },
      });
    if (strict) {
      raise(null);
      throw new DataValidationError(message, report);
    }
    return { report, raiseCommitted: raise };
  } catch (error) {
    await staged.discard();
    throw error;
  }
}
