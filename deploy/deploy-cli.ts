/**
 * `npm run deploy -- --rpc <url> --network <name> [--key-file <path>]`: deploys the system to any chain and writes
 * deployments/<name>.json. The deployer key comes from --key-file (a file holding a 0x-prefixed private key) or the
 * DEPLOYER_PRIVATE_KEY env var.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import { deployAndPublish } from "./publish.ts";

function fail(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    rpc: { type: "string" },
    network: { type: "string" },
    "key-file": { type: "string" },
  },
});
if (!values.rpc) fail("--rpc <url> is required");
if (!values.network || !/^[a-z0-9_-]+$/i.test(values.network))
  fail("--network <name> is required (letters, digits, - and _)");
let key = process.env.DEPLOYER_PRIVATE_KEY;
if (values["key-file"]) {
  try {
    key = readFileSync(values["key-file"], "utf8").trim();
  } catch (err) {
    fail(`--key-file ${values["key-file"]} is not readable: ${(err as Error).message}`);
  }
}
if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key))
  fail("a deployer key (0x + 64 hex) is required via --key-file or DEPLOYER_PRIVATE_KEY");

const { deployment, file } = await deployAndPublish({
  rpcUrl: values.rpc,
  account: privateKeyToAccount(key as `0x${string}`),
  network: values.network,
  log: (line) => console.log(`  deployed ${line}`),
});
console.log(`chain ${deployment.chainId}: addresses written to ${file}`);
