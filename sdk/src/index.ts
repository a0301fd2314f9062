export { currentInterval, intervalStart } from "./intervals.ts";
export { BPS, MAX_FEE_BPS, MAX_QUALITY_BPS, qualityPayBps, splitFee, splitSettlement } from "./fees.ts";
export type { SubscriptionParams } from "./subscriptions.ts";
export {
  parseDeployment,
  readDeployment,
  InvalidDeploymentFileError,
  type DeploymentFile,
} from "./deployments.ts";
export * from "./poi/index.ts";
export * from "./economics/index.ts";
export {
  DIFFUSION_INPUTS_ABI,
  MAX_PROMPT_BYTES,
  InvalidDiffusionInputsError,
  encodeDiffusionInputs,
  decodeDiffusionInputs,
  type DiffusionRequest,
} from "./diffusion-inputs.ts";
export * from "./abis/index.ts";
export * from "./client/index.ts";
