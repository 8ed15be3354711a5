/** The parts of ml-regression (which ships no types) that core/capacity.ts uses. */
declare module 'ml-regression' {
  interface Regression {
    predict(x: number): number;
  }
  export class SimpleLinearRegression implements Regression {
    constructor(x: number[], y: number[]);
    slope: number;
    intercept: number;
    predict(x: number): number;
  }
  export class PolynomialRegression implements Regression {
    constructor(x: number[], y: number[], degree: number);
    /** The fitted polynomial's coefficients, constant term first. */
    coefficients: number[];
    predict(x: number): number;
  }
  export class ExponentialRegression implements Regression {
    constructor(x: number[], y: number[]);
    predict(x: number): number;
  }
}
