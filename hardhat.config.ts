import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";

const require = createRequire(import.meta.url);

// Compile offline with the wasm solc shipped in the `solc` npm package; its version must equal `version`.
const SOLC_VERSION = "0.8.28";

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    profiles: {
      default: {
        compilers: [
          {
            version: SOLC_VERSION,
            path: require.resolve("solc/soljson.js"),
            settings: {
              optimizer: { enabled: true, runs: 1_000 },
              viaIR: true,
              evmVersion: "cancun",
            },
          },
        ],
        // The verifier is the largest contract: optimise it for size to stay under the 24 KiB code limit.
        overrides: {
          "contracts/poi/ProofOfInference.sol": {
            version: SOLC_VERSION,
            path: require.resolve("solc/soljson.js"),
            settings: {
              optimizer: { enabled: true, runs: 200 },
              viaIR: true,
              evmVersion: "cancun",
            },
          },
        },
      },
    },
  },
  paths: {
    sources: "./contracts",
    tests: { nodejs: "./test" },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
  },
});
