// The sdk's typed ABIs (sdk/src/abis, written by scripts/gen-abis.ts) must be exactly what the Hardhat artifacts
// say: a contract change without `npm run gen:abis` fails here, naming the stale files.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import * as sdk from "@infernet/sdk";
import {
  SDK_CONTRACTS,
  abiConstName,
  readArtifactAbi,
  staleAbiFiles,
  type SdkContract,
} from "../scripts/gen-abis.ts";
import { ROOT } from "./helpers/node-e2e.ts";

describe("generated ABIs", () => {
  it("sdk/src/abis is what scripts/gen-abis.ts renders from artifacts/ (run npm run gen:abis)", async () => {
    const stale = (await staleAbiFiles()).map((f) => relative(ROOT, f));
    assert.deepEqual(stale, [], `stale generated ABIs: ${stale.join(", ")}; run npm run gen:abis`);
  });

  it("docs/sdk.md's `node scripts/gen-abis.ts --check` passes", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, "scripts", "gen-abis.ts"), "--check"],
      {
        cwd: ROOT,
      },
    );
    assert.match(stdout, /up to date/);
  });

  it("the built sdk exports each contract's artifact ABI", async () => {
    for (const name of Object.keys(SDK_CONTRACTS) as SdkContract[]) {
      const exported = (sdk as Record<string, unknown>)[abiConstName(name)];
      assert.ok(Array.isArray(exported), `@infernet/sdk exports ${abiConstName(name)}`);
      assert.deepEqual(
        exported,
        await readArtifactAbi(name),
        `${abiConstName(name)} matches ${name}'s artifact`,
      );
    }
  });
});
