// Latent (video) diffusion on onnxruntime-node: one implementation for the diffusion container (providers) and for
// validators re-running challenged steps. docs/diffusion.md describes the pipeline and the exact float32 sampler.
export {
  DiffusionError,
  SchedulerConfigError,
  TokenizerError,
  ModelSignatureError,
  InvalidJobParamsError,
  LatentShapeError,
  RuntimeProfileError,
  FrameFormatError,
} from "./errors.ts";
export { f32, sqrt32 } from "./float32.ts";
export {
  SD_SCHEDULER_CONFIG,
  parseSchedulerConfig,
  schedulerConfigJson,
  betas,
  alphasCumprod,
  ddimSchedule,
  ddimCoefficients,
  ddimStep,
  type SchedulerConfig,
  type DdimSchedule,
  type DdimCoefficients,
  type DdimStepParams,
} from "./scheduler.ts";
export { usesGuidance, guidanceScale, applyGuidance } from "./guidance.ts";
export {
  CONTEXT_LENGTH,
  BOS_TOKEN,
  EOS_TOKEN,
  WORD_END,
  bytesToUnicode,
  createTokenizer,
  loadTokenizer,
  normalizeText,
  pretokenize,
  bpe,
  tokenize,
  encodePrompt,
  type ClipTokenizer,
  type TokenizerSpec,
} from "./tokenizer.ts";
export {
  installedOrtVersion,
  defaultRuntimeProfile,
  checkRuntimeProfile,
  sameRuntimeProfile,
  profileKey,
  sessionOptions,
  openSession,
  type RuntimeProfile,
  type GraphOptimizationLevel,
  type CfgMode,
} from "./runtime.ts";
export { floatTensor, concatBatch, type FloatTensor } from "./tensor.ts";
export { describeTextEncoder, encodeIds, type TextEncoderModel } from "./text-encoder.ts";
export {
  describeUnet,
  runUnet,
  predictNoise,
  type UnetModel,
  type PromptEmbeddings,
  type PredictNoiseParams,
} from "./unet.ts";
export { describeVaeDecoder, decodeLatent, type VaeDecoderModel } from "./vae.ts";
export { LAYOUT, DIGESTED_FILES, modelDirectoryDigest } from "./layout.ts";
export {
  loadPipeline,
  closePipeline,
  latentDims,
  jobInitialLatent,
  jobSchedule,
  encodeJobPrompts,
  denoise,
  generate,
  decodeJobLatent,
  type Hex,
  type Pipeline,
  type LoadPipelineParams,
  type JobParams,
  type StepEvent,
  type Trajectory,
  type DenoiseParams,
  type GenerateParams,
  type GenerationResult,
} from "./pipeline.ts";
export { stepRecords, finalLatentDigest } from "./trajectory.ts";
export {
  transitionStep,
  reexecuteStep,
  relativeL2,
  sameBits,
  type StepInputs,
  type ReexecuteStepParams,
  type ReexecutedStep,
} from "./reexecute.ts";
export { toByte, framesFromPlanes, checkFrames, rawVideo, type Frame } from "./output/frame.ts";
export { encodePng } from "./output/png.ts";
export { encodeGif, lzwEncode, gifPalette, paletteIndex, type GifOptions } from "./output/gif.ts";
export { findFfmpeg, encodeMp4, type Mp4Params } from "./output/mp4.ts";
export { writeOutputs, type WriteOutputsParams, type WrittenOutputs } from "./output/write.ts";
export { writeModelFiles, type ModelFiles } from "./models/files.ts";
export { buildWordVocabulary, type BpeVocabulary } from "./models/vocab.ts";
export {
  SHAPES,
  COLOURS,
  COLOUR_NAMES,
  MOTIONS,
  LATENT as PROCEDURAL_LATENT,
  PIXEL_FACTOR as PROCEDURAL_PIXEL_FACTOR,
  bankClips,
  renderClip,
  placement,
  type ClipSpec,
  type Shape,
  type Colour,
  type Motion,
} from "./models/procedural/bank.ts";
export {
  ATTRIBUTES as PROCEDURAL_ATTRIBUTES,
  TEXT_BIAS as PROCEDURAL_TEXT_BIAS,
  PROCEDURAL_MODEL_DIR,
  buildProceduralModel,
  ensureProceduralModel,
} from "./models/procedural/build.ts";
export {
  buildSyntheticModel,
  ensureSyntheticModel,
  syntheticModelDir,
  type SyntheticKind,
} from "./models/synthetic.ts";
export { decodeGif, type DecodedGif } from "./quality/gif.ts";
export {
  QUALITY_MAX_BPS,
  CombinedScorer,
  clamp01,
  ramp,
  qualityBps,
  combineScores,
  qualityOf,
  type QualityInput,
  type QualityScore,
  type QualityScorer,
} from "./quality/scorer.ts";
export {
  REFERENCE_FREE_THRESHOLDS,
  ReferenceFreeScorer,
  spatialStructure,
  type ReferenceFreeThresholds,
} from "./quality/reference-free.ts";
export {
  CLIP_IMAGE_SIZE,
  CLIP_MEAN,
  CLIP_STD,
  CLIP_SCORE_WEIGHT,
  ClipScorer,
  clipModelFiles,
  clipPixelValues,
  cosine,
  type ClipModelFiles,
  type ClipScorerOptions,
} from "./quality/clip.ts";
export {
  SYNTHETIC_CLIP_DIM,
  SYNTHETIC_CLIP_COLOURS,
  buildSyntheticClip,
  ensureSyntheticClip,
  syntheticClipDir,
} from "./quality/synthetic-clip.ts";
export {
  STEP_BANDS,
  CALIBRATION,
  classifyStep,
  classifySteps,
  type StepBands,
  type StepVerdict,
} from "./quality/bands.ts";
export {
  schedulerHashOf,
  videoDigest,
  outputHashOf,
  jobParamsHash,
  type JobParamsHashParams,
} from "./service/hashes.ts";
