/**
 * Thin adapter from the diffusion pipeline (`containers/diffusion`) to the validator core: the `reexecute` callback
 * and the job's schedule and latent size, so a node can judge a job with its pinned pipeline in one call.
 */
import {
  encodeJobPrompts,
  jobSchedule,
  latentDims,
  predictNoise,
  type JobParams,
  type Pipeline,
  type PromptEmbeddings,
} from "../../../containers/diffusion/src/index.ts";
import { InvalidRevealError } from "./errors.ts";
import { verifyReveal, type Reexecute, type Verdict, type VerifyRevealParams } from "./verify.ts";

/** Elements of the job's latent (and of each noise prediction): the product of `latentDims`. */
export function jobElements(pipeline: Pipeline, job: JobParams): number {
  return latentDims(pipeline, job).reduce((a, b) => a * b, 1);
}

/**
 * A `reexecute` that runs the pipeline's guided UNet on a committed latent: the noise prediction of the pipeline's
 * `reexecuteStep` (the same `predictNoise` call, bit for bit), with the latent shape and the prompts' embeddings
 * computed once instead of per step, and without the DDIM step `reexecuteStep` adds (the transition check uses the
 * committed ε). Prompts are encoded on the first call unless `embeddings` are given; `job.seed` is not used.
 */
export function pipelineReexecutor(p: {
  pipeline: Pipeline;
  job: JobParams;
  embeddings?: PromptEmbeddings;
}): Reexecute {
  const dims = latentDims(p.pipeline, p.job);
  const steps = p.job.steps;
  let embeddings: Promise<PromptEmbeddings> | undefined =
    p.embeddings === undefined ? undefined : Promise.resolve(p.embeddings);
  return async (step) => {
    if (!Number.isSafeInteger(step.index) || step.index < 0 || step.index >= steps) {
      throw new InvalidRevealError(`step ${step.index} is not in a job of ${steps} steps`);
    }
    embeddings ??= encodeJobPrompts(p.pipeline, p.job);
    return predictNoise({
      unet: p.pipeline.unet,
      latent: step.latent,
      dims,
      timestep: step.timestep,
      embeddings: await embeddings,
      guidanceMilli: p.job.guidanceMilli,
      cfgMode: p.pipeline.profile.cfgMode,
    });
  };
}

export type VerifyJobRevealParams = Omit<
  VerifyRevealParams,
  "T" | "elements" | "schedule" | "seed" | "reexecute"
> & {
  pipeline: Pipeline;
  /** The job as the validator reconstructs it: prompts from the pinned inputs, `seed` = `jobSeed(jobId, R_req)`. */
  job: JobParams;
  embeddings?: PromptEmbeddings;
};

/** `verifyReveal` with T, the latent size, the schedule, the seed and the re-execution taken from the pipeline. */
export function verifyJobReveal(p: VerifyJobRevealParams): Promise<Verdict> {
  const { pipeline, job, embeddings, ...rest } = p;
  return verifyReveal({
    ...rest,
    T: job.steps,
    elements: jobElements(pipeline, job),
    schedule: jobSchedule(pipeline, job),
    seed: job.seed,
    reexecute: pipelineReexecutor(
      embeddings === undefined ? { pipeline, job } : { pipeline, job, embeddings },
    ),
  });
}
