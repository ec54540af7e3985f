/** Ingress schema validation and message transformation (decision 0013). */
export {
  createIngress,
  withFrom,
  type Ingress,
  type IngressConfig,
  type IngressDeps,
  type IngressIssue,
  type IngressMetrics,
  type ValidationConfig,
  type TransformationConfig,
} from './ingress.js';
export { variformToSql, type VariformError } from './variform.js';
export { schemaValidationSpec, messageTransformationSpec } from './spec.js';
export { IngressErrors } from './errors.js';
