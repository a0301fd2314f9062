// Builds the project's own models into containers/diffusion/models/ (or the directory given): `procedural`,
// `synthetic-image`, `synthetic-video`. Usage: node src/bin/build-models.ts [outDir]
import { join } from "node:path";
import { modelDirectoryDigest } from "../layout.ts";
import { ensureProceduralModel, PROCEDURAL_MODEL_DIR } from "../models/procedural/build.ts";
import { ensureSyntheticModel, syntheticModelDir } from "../models/synthetic.ts";

const out = process.argv[2];
const dirs = {
  procedural: out === undefined ? PROCEDURAL_MODEL_DIR : join(out, "procedural"),
  "synthetic-image": out === undefined ? syntheticModelDir("image") : join(out, "synthetic-image"),
  "synthetic-video": out === undefined ? syntheticModelDir("video") : join(out, "synthetic-video"),
};
await ensureProceduralModel(dirs.procedural);
await ensureSyntheticModel("image", dirs["synthetic-image"]);
await ensureSyntheticModel("video", dirs["synthetic-video"]);
for (const [name, dir] of Object.entries(dirs))
  console.log(`${name}\t${await modelDirectoryDigest(dir)}\t${dir}`);
