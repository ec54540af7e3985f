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
export {
  schemaValidationSpec,
  messageTransformationSpec,
  validationEntrySpec,
  transformationEntrySpec,
} from './spec.js';
export {
  createIngressStore,
  type IngressEntryInfo,
  type IngressKind,
  type IngressSections,
  type IngressStore,
  type IngressStoreDeps,
} from './api-store.js';
export { IngressErrors } from './errors.js';
