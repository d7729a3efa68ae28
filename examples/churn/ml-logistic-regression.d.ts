// Types of ml-logistic-regression 2.x (the package ships none): the parts the churn example uses.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  /** One binary one-vs-all classifier: class `i` against the rest. */
  interface LogisticRegressionTwoClasses {
    readonly weights: Matrix;
    /** Per row: the probability that the row is NOT of this classifier's class. */
    testScores(features: Matrix): number[];
  }

  interface LogisticRegressionJSON {
    readonly name: 'LogisticRegression';
    readonly numSteps: number;
    readonly learningRate: number;
    readonly numberClasses: number;
    readonly classifiers: readonly { numSteps: number; learningRate: number; weights: number[][] | Matrix }[];
  }

  /** Multinomial logistic regression, one-vs-all, trained by batch gradient descent. */
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    readonly numberClasses: number;
    readonly classifiers: LogisticRegressionTwoClasses[];
    /** Trains on rows of features and a column vector of classes 0…k−1. */
    train(features: Matrix, classes: Matrix): void;
    /** The class of each row. */
    predict(features: Matrix): number[];
    toJSON(): LogisticRegressionJSON;
    static load(model: LogisticRegressionJSON): LogisticRegression;
  }
}
