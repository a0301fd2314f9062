/** Base class of every error the diffusion pipeline throws. */
export class DiffusionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiffusionError";
  }
}

/** `scheduler_config.json` asks for something this DDIM implementation does not do (or is malformed). */
export class SchedulerConfigError extends DiffusionError {
  constructor(reason: string) {
    super(`scheduler config: ${reason}`);
    this.name = "SchedulerConfigError";
  }
}

/** `vocab.json` / `merges.txt` are missing or malformed. */
export class TokenizerError extends DiffusionError {
  constructor(reason: string) {
    super(`tokenizer: ${reason}`);
    this.name = "TokenizerError";
  }
}

/** An ONNX model lacks an input or output of the expected name, element type or rank. */
export class ModelSignatureError extends DiffusionError {
  readonly model: string;
  constructor(model: string, reason: string) {
    super(`${model}: ${reason}`);
    this.name = "ModelSignatureError";
    this.model = model;
  }
}

/** Job parameters that cannot be run (size not a multiple of the latent factor, zero steps, …). */
export class InvalidJobParamsError extends DiffusionError {
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = "InvalidJobParamsError";
    this.field = field;
  }
}

/** A tensor has the wrong number of elements for its shape, or two tensors that must match do not. */
export class LatentShapeError extends DiffusionError {
  constructor(reason: string) {
    super(reason);
    this.name = "LatentShapeError";
  }
}

/** The runtime profile asks for a different onnxruntime version, or something this build cannot provide. */
export class RuntimeProfileError extends DiffusionError {
  constructor(reason: string) {
    super(`runtime profile: ${reason}`);
    this.name = "RuntimeProfileError";
  }
}

/** Frames handed to an image encoder are empty, of mixed sizes, or not width × height × 3 bytes. */
export class FrameFormatError extends DiffusionError {
  constructor(reason: string) {
    super(reason);
    this.name = "FrameFormatError";
  }
}
