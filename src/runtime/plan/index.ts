export type * from './types.js';
export { buildPlan, diagnostic } from './build.js';
export type { PlanOptions } from './build.js';
export { explainPlan, exprText } from './explain.js';
