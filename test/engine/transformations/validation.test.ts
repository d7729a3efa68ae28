import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.ts';
import { validateTransformationSpec, validateTransformationSpecs } from '../../../src/engine/transformations/index.ts';

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('validateTransformationSpec', () => {
  it('rejects an unknown function, naming it and the feature', () => {
    const error = thrown(() => validateTransformationSpec({ function: 'zscore', feature: 'tenure' }, 'BIGINT'));
    expect(error.message).toContain('"zscore"');
    expect(error.message).toContain('"tenure"');
    expect(error.message).toContain('min_max_scaler');
    expect(error.issues[0]!.path).toEqual(['function']);
  });

  it('rejects an incompatible type: min_max_scaler on STRING', () => {
    const error = thrown(() => validateTransformationSpec({ function: 'min_max_scaler', feature: 'contract' }, 'string', ['transformations', 3]));
    expect(error.message).toMatch(/min_max_scaler.*contract.*STRING is not accepted/);
    expect(error.message).toContain('BIGINT');
    expect(error.issues[0]!.path).toEqual(['transformations', 3, 'feature']);
  });

  it.each([
    ['label_encoder', 'DOUBLE'],
    ['one_hot_encoder', 'DECIMAL(10,2)'],
    ['label_encoder', 'TIMESTAMP'],
    ['standard_scaler', 'BOOLEAN'],
    ['log_transform', 'DATE'],
    ['impute_mode', 'ARRAY<DOUBLE>'],
    ['impute_mean', 'BINARY'],
    ['impute_constant', 'TIMESTAMP'],
  ])('rejects %s on %s', (fn, type) => {
    const error = thrown(() => validateTransformationSpec({ function: fn, feature: 'x' }, type));
    expect(error.message).toContain(fn);
    expect(error.message).toContain('"x"');
  });

  it('accepts every numeric type for scalers and every category type for encoders', () => {
    for (const type of ['INT', 'BIGINT', 'DOUBLE', 'FLOAT', 'DECIMAL(10,2)']) {
      expect(validateTransformationSpec({ function: 'robust_scaler', feature: 'x' }, type).inputType).toBe(type);
    }
    for (const type of ['STRING', 'INT', 'BIGINT', 'BOOLEAN', 'DATE']) {
      expect(validateTransformationSpec({ function: 'one_hot_encoder', feature: 'x' }, type).kind).toBeTruthy();
    }
  });

  it('fills in default arguments', () => {
    expect(validateTransformationSpec({ function: 'equal_width_binner', feature: 'x' }, 'DOUBLE').args).toEqual({ bins: 10 });
    expect(validateTransformationSpec({ function: 'equal_frequency_binner', feature: 'x' }, 'DOUBLE').args).toEqual({ bins: 4 });
    expect(validateTransformationSpec({ function: 'winsorize', feature: 'x' }, 'DOUBLE').args).toEqual({ lower: 0.05, upper: 0.95 });
    expect(validateTransformationSpec({ function: 'binarizer', feature: 'x' }, 'INT').args).toEqual({ threshold: 0 });
    expect((validateTransformationSpec({ function: 'quantile_binner', feature: 'x' }, 'INT').args.quantiles as number[]).length).toBe(9);
    expect(validateTransformationSpec({ function: 'impute_constant', feature: 'x', args: { value: '12' } }, 'BIGINT').args).toEqual({ value: 12 });
    expect(validateTransformationSpec({ function: 'impute_constant', feature: 'x', args: { value: 0.1 } }, 'FLOAT').args).toEqual({ value: 0.1 });
  });

  it.each([
    ['equal_width_binner', 'DOUBLE', { bins: 0 }, 'bins'],
    ['equal_width_binner', 'DOUBLE', { bins: 2.5 }, 'bins'],
    ['equal_frequency_binner', 'DOUBLE', { bins: '4' }, 'bins'],
    ['equal_width_binner', 'DOUBLE', { n_bins: 4 }, 'n_bins'],
    ['quantile_binner', 'DOUBLE', { quantiles: [0.5, 0.25] }, 'quantiles'],
    ['quantile_binner', 'DOUBLE', { quantiles: [0, 0.5] }, 'quantiles'],
    ['quantile_binner', 'DOUBLE', { quantiles: [] }, 'quantiles'],
    ['winsorize', 'DOUBLE', { lower: 0.9, upper: 0.1 }, 'lower'],
    ['winsorize', 'DOUBLE', { upper: 1.5 }, 'upper'],
    ['binarizer', 'DOUBLE', { threshold: 'high' }, 'threshold'],
    ['min_max_scaler', 'DOUBLE', { feature_range: [0, 1] }, 'feature_range'],
    ['impute_constant', 'INT', {}, 'value'],
    ['impute_constant', 'INT', { value: 'seven' }, 'value'],
    ['impute_constant', 'INT', { value: 2 ** 40 }, 'value'],
    ['impute_constant', 'STRING', { value: 7 }, 'value'],
    ['impute_constant', 'BOOLEAN', { value: 'yes' }, 'value'],
    ['impute_constant', 'DATE', { value: '31/12/2024' }, 'value'],
    ['impute_constant', 'DOUBLE', { value: 'NaN' }, 'value'],
  ])('rejects %s on %s with args %j', (fn, type, args, arg) => {
    const error = thrown(() => validateTransformationSpec({ function: fn, feature: 'amount', args }, type, ['input', 'transformations', 0]));
    expect(error.message).toContain(fn);
    expect(error.message).toContain('"amount"');
    expect(error.issues[0]!.path).toEqual(['input', 'transformations', 0, 'args', arg]);
  });

  it('rejects an empty feature name', () => {
    expect(thrown(() => validateTransformationSpec({ function: 'label_encoder', feature: '' }, 'STRING')).issues[0]!.path).toEqual(['feature']);
  });
});

describe('validateTransformationSpecs', () => {
  const types = { tenure: 'BIGINT', contract: 'STRING', charges: 'DOUBLE' };

  it('returns every spec resolved when all are valid', () => {
    const resolved = validateTransformationSpecs(
      [
        { function: 'label_encoder', feature: 'contract' },
        { function: 'min_max_scaler', feature: 'tenure' },
        { function: 'standard_scaler', feature: 'tenure' },
      ],
      new Map(Object.entries(types)),
    );
    expect(resolved.map((r) => `${r.function}(${r.feature}): ${r.inputType}`)).toEqual([
      'label_encoder(contract): STRING',
      'min_max_scaler(tenure): BIGINT',
      'standard_scaler(tenure): BIGINT',
    ]);
  });

  it('reports every problem with its index: unknown feature, unknown function, bad type, duplicate', () => {
    const error = thrown(() =>
      validateTransformationSpecs(
        [
          { function: 'min_max_scaler', feature: 'tenure' },
          { function: 'min_max_scaler', feature: 'missing_feature' },
          { function: 'no_such_function', feature: 'tenure' },
          { function: 'min_max_scaler', feature: 'contract' },
          { function: 'min_max_scaler', feature: 'tenure' },
        ],
        types,
        ['input', 'transformations'],
      ),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      ['input', 'transformations', 1, 'feature'],
      ['input', 'transformations', 2, 'function'],
      ['input', 'transformations', 3, 'feature'],
      ['input', 'transformations', 4],
    ]);
    expect(error.issues[0]!.message).toContain('missing_feature');
    expect(error.issues[3]!.message).toContain('twice');
    expect(error.message).toMatch(/^4 invalid transformations/);
  });
});
