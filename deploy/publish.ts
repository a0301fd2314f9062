import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, defineChain, http, type Account } from "viem";
import { deploySystem, type Deployment } from "./system.ts";
import type { ParamOverrides } from "./system.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface PublishOptions {
  rpcUrl: string;
  account: Account;
  /** Name of the file under deployments/, e.g. "localhost". */
  network: string;
  params?: ParamOverrides;
  log?: (line: string) => void;
}

/** Deploys the system to `rpcUrl` and writes deployments/<network>.json. */
export async function deployAndPublish(
  options: PublishOptions,
): Promise<{ deployment: Deployment; file: string }> {
  const probe = createPublicClient({ transport: http(options.rpcUrl) });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: options.network,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(options.rpcUrl) });
  const wallet = createWalletClient({ chain, transport: http(options.rpcUrl), account: options.account });
  const deployment = await deploySystem({
    wallet,
    publicClient,
    ...(options.params ? { params: options.params } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const file = join(ROOT, "deployments", `${options.network}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ network: options.network, ...deployment }, null, 2)}\n`);
  return { deployment, file };
}
