import {
  binarizer,
  equalFrequencyBinner,
  equalWidthBinner,
  imputeMean,
  imputeMedian,
  logTransform,
  maxAbsScaler,
  minMaxScaler,
  quantileBinner,
  robustScaler,
  standardScaler,
  winsorize,
} from './numeric-functions.ts';
import type { TransformationFunction } from './transformation-function.ts';
import { imputeConstant, imputeMode, labelEncoder, oneHotEncoder } from './value-functions.ts';

export type { FeatureStats, Fitted, JsApply, JsInverse, Moment, StatisticsNeeds, TransformationFunction } from './transformation-function.ts';

/**
 * Every built-in transformation function by name. Output columns are `<function>_<feature>_`
 * (one_hot_encoder: `one_hot_encoder_<feature>_<i>`, one per category), as in Hopsworks.
 */
export const TRANSFORMATION_FUNCTIONS: Readonly<Record<string, TransformationFunction>> = Object.freeze(
  Object.fromEntries(
    [
      minMaxScaler,
      standardScaler,
      robustScaler,
      maxAbsScaler,
      labelEncoder,
      oneHotEncoder,
      logTransform,
      equalWidthBinner,
      equalFrequencyBinner,
      quantileBinner,
      winsorize,
      binarizer,
      imputeMean,
      imputeMedian,
      imputeMode,
      imputeConstant,
    ].map((f) => [f.name, f]),
  ),
);
