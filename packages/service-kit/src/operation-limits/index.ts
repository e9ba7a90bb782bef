export {
  useOperationLimits,
  createOperationLimiter,
  shapeRefusal,
  OPERATION_BATCH,
  type OperationLimiter,
  type OperationLimitsOptions,
  type CostArgs,
} from './plugin.js';
export { costTableFromSdl, type CostTable, type FieldCost, type ListSize, type TypeCost } from './cost-table.js';
export { analyseShape, operationCost, type Shape, type CostOptions } from './analysis.js';
export { countTokens, withTokenLimit } from './token-limit.js';
export {
  callerClass,
  costLimitFor,
  DEFAULT_PAGE_SIZE,
  MUTATION_ROOT_WEIGHT,
  type CallerClass,
  type OperationLimitsConfig,
} from './settings.js';
export type { LimitReason } from './refusals.js';
