/**
 * `npm run devnet`: starts `hardhat node` on 127.0.0.1:8545, deploys the system with the default parameters,
 * writes deployments/localhost.json, prints the addresses, and stays up until interrupted (Ctrl-C / SIGTERM).
 * Env: DEVNET_PORT (default 8545).
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mnemonicToAccount } from "viem/accounts";
import { deployAndPublish } from "./publish.ts";
import { hardhatCommand } from "./hardhat-bin.ts";

/** Hardhat's well-known development mnemonic: its accounts are funded on every dev chain. Never use elsewhere. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.DEVNET_PORT ?? 8545);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`DEVNET_PORT must be a TCP port, got ${process.env.DEVNET_PORT}`);
  process.exit(2);
}
const rpcUrl = `http://127.0.0.1:${port}`;

async function rpcReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

if (await rpcReady(rpcUrl)) {
  console.error(`something already answers JSON-RPC on ${rpcUrl}; stop it or set DEVNET_PORT`);
  process.exit(1);
}

const chain = spawn(
  process.execPath,
  [...hardhatCommand(), "node", "--hostname", "127.0.0.1", "--port", String(port)],
  {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  },
);
let chainLog = "";
chain.stdout.on("data", (d: Buffer) => (chainLog = (chainLog + d.toString()).slice(-4000)));
chain.stderr.on("data", (d: Buffer) => (chainLog = (chainLog + d.toString()).slice(-4000)));
chain.on("exit", (code) => {
  if (!stopping) {
    console.error(`hardhat node exited (code ${code}). Last output:\n${chainLog}`);
    process.exit(1);
  }
});

let stopping = false;
function stop(): void {
  stopping = true;
  chain.kill("SIGTERM");
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const started = Date.now();
while (!(await rpcReady(rpcUrl))) {
  if (Date.now() - started > 60_000) {
    console.error(`hardhat node did not answer on ${rpcUrl} within 60 s. Last output:\n${chainLog}`);
    stop();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}

const { deployment, file } = await deployAndPublish({
  rpcUrl,
  account: mnemonicToAccount(DEV_MNEMONIC),
  network: "localhost",
});
console.log(`InferNet devnet on ${rpcUrl} (chain id ${deployment.chainId})`);
for (const [name, address] of Object.entries(deployment.contracts))
  console.log(`  ${name.padEnd(18)} ${address}`);
console.log(`addresses written to ${file}`);
console.log("ready; Ctrl-C to stop");
