// devnet, deploy, node (→ infernet-node), keys (→ infernet-node keys).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import { ROOT, runChild, type Command } from "../command.ts";
import { CHAIN_OPTIONS, accountFrom, deploymentPath, int, parse, rpcUrl } from "../context.ts";
import { EXIT_OK, UsageError, toJson, withProgress, type CliIo } from "../io.ts";

const NODE_BIN = join(ROOT, "node", "bin", "infernet-node.ts");

export const devnet: Command = {
  name: "devnet",
  summary: "start a local chain with the system deployed (deployments/localhost.json)",
  usage: `Usage: infernet devnet [--port <n>]

Starts \`hardhat node\` on 127.0.0.1:<port> (default 8545), deploys the system with the default parameters, writes
deployments/localhost.json and stays up until Ctrl-C. Its accounts are Hardhat's development accounts: use
--dev-account <n> with the other commands.

Options:
  --port <n>    TCP port (default 8545)
  -h, --help    show this help
`,
  async run(args, io) {
    const { values } = parse(args, { port: { type: "string" }, help: { type: "boolean", short: "h" } });
    const port = values.port === undefined ? 8545 : int("--port", values.port, 1);
    if (port > 65535) throw new UsageError("--port must be a TCP port");
    return runChild(join(ROOT, "deploy", "devnet.ts"), [], io, { ...io.env, DEVNET_PORT: String(port) });
  },
};

export const deploy: Command = {
  name: "deploy",
  summary: "deploy the contracts to a chain and write <deployments>/<network>.json",
  usage: `Usage: infernet deploy --rpc <url> --network <name> (--key-file <file> | --dev-account <n>) [--deployments <dir>]

Deploys the whole system (randomness, registries, Coordinator, Proof-of-Inference, trust model) with the default
parameters, wires its permissions and writes the addresses to <deployments>/<network>.json, which every other
command reads (--network). Needs the compiled contracts (npx hardhat build).

${CHAIN_OPTIONS_HELP()}`,
  async run(args, io) {
    const { values } = parse(args, CHAIN_OPTIONS);
    if (values.network === undefined) throw new UsageError("--network <name> is required");
    const account = accountFrom(values, io);
    if (!account)
      throw new UsageError(
        "a deployer account is required: --key-file, --dev-account or INFERNET_PRIVATE_KEY",
      );
    const url = rpcUrl(values, io);
    const file = deploymentPath(values, io);
    const { deploySystem } = await import("../../../deploy/system.ts");
    const deployment = await withProgress(io, `deploying to ${url}`, async (p) => {
      const probe = createPublicClient({ transport: http(url) });
      const chainId = await probe.getChainId();
      const chain = defineChain({
        id: chainId,
        name: values.network!,
        nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        rpcUrls: { default: { http: [url] } },
      });
      return deploySystem({
        wallet: createWalletClient({ chain, transport: http(url), account }),
        publicClient: createPublicClient({ chain, transport: http(url) }),
        log: (line) => p.update(`deployed ${line}`),
      });
    });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ network: values.network, ...deployment }, null, 2)}\n`);
    if (values.json) io.stdout(`${toJson({ file, ...deployment })}\n`);
    else {
      for (const [name, address] of Object.entries(deployment.contracts))
        io.stdout(`${name.padEnd(18)} ${address}\n`);
      io.stderr(`chain ${deployment.chainId}: addresses written to ${file}\n`);
    }
    return EXIT_OK;
  },
};

function CHAIN_OPTIONS_HELP(): string {
  return `Options:
  --rpc <url>            JSON-RPC endpoint (env INFERNET_RPC_URL; default http://127.0.0.1:8545)
  --network <name>       the deployment's name: the file is <deployments>/<name>.json
  --deployments <dir>    where to write it (default ./deployments)
  --key-file <file>      file holding the deployer's 0x-prefixed private key (env INFERNET_PRIVATE_KEY)
  --dev-account <n>      account n of Hardhat's development mnemonic (dev chains only)
  --json                 machine-readable output
  -h, --help             show this help
`;
}

export const node: Command = {
  name: "node",
  summary: "run the node (infernet-node start|config check|keys …)",
  usage: "",
  delegatesHelp: true,
  async run(args, io) {
    if (args.length === 0 || args.includes("--help") || args.includes("-h") || args[0] === "help") {
      io.stdout("infernet node <args>: runs infernet-node with the same arguments.\n\n");
      return runChild(NODE_BIN, ["--help"], io);
    }
    return runChild(NODE_BIN, args, io);
  },
};

export const keys: Command = {
  name: "keys",
  summary: "manage the node's REST API keys (infernet-node keys create|list|revoke)",
  usage: "",
  delegatesHelp: true,
  async run(args, io: CliIo) {
    if (args.length === 0 || args.includes("--help") || args.includes("-h")) {
      io.stdout(
        "infernet keys <create|list|revoke> --config <file> [options]: runs infernet-node keys with the same arguments.\n\n",
      );
      return runChild(NODE_BIN, ["--help"], io);
    }
    return runChild(NODE_BIN, ["keys", ...args], io);
  },
};
