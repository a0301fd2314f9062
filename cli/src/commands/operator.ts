// Operators: container register, register, stake, unbond.
import { formatEther, type Hex } from "viem";
import {
  addStake,
  getNode,
  registerContainer,
  registerNode,
  requestUnbond,
  withdrawStake,
  accountOf,
} from "@infernet/sdk";
import type { Command } from "../command.ts";
import { CHAIN_HELP, CHAIN_OPTIONS, address, amount, clientFrom, parse, requireOption } from "../context.ts";
import { EXIT_OK, UsageError, toJson, withProgress, type CliIo } from "../io.ts";

export const containerRegister: Command = {
  name: "container register",
  summary: "register a container name in the ContainerRegistry",
  usage: `Usage: infernet container register <name> [--image-digest <bytes32>] [chain options]

Registers <name> (its id is keccak256(name)); nodes and subscriptions can then name it. --image-digest pins the
image (sha256 of its manifest). Prints the container id.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...CHAIN_OPTIONS, "image-digest": { type: "string" } }, 1);
    const name = requireOption("<name>", positionals[0]);
    const digest = values["image-digest"];
    if (digest !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(digest))
      throw new UsageError("--image-digest must be 0x followed by 64 hex digits");
    const client = await clientFrom(values, io, true);
    const r = await withProgress(io, `registering container ${name}`, () =>
      registerContainer(client, { name, ...(digest ? { imageDigest: digest as Hex } : {}) }),
    );
    io.stdout(values.json ? `${toJson(r)}\n` : `${r.containerId}\n`);
    return EXIT_OK;
  },
};

export const register: Command = {
  name: "register",
  summary: "register a node with its containers and initial stake",
  usage: `Usage: infernet register --containers <a,b,…> --stake <amount> [--endpoint <url>] [--node <address>] [chain options]

Registers a node under your account (the operator). --node is the node's signing address (default: your account);
--stake is at least the registry's minimum (1 ETH on the default parameters), in ether or wei (1000wei).

${CHAIN_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CHAIN_OPTIONS,
      containers: { type: "string" },
      stake: { type: "string" },
      endpoint: { type: "string" },
      node: { type: "string" },
    });
    const containers = requireOption("--containers", values.containers)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (containers.length === 0) throw new UsageError("--containers names at least one container");
    const stake = amount("--stake", requireOption("--stake", values.stake));
    const client = await clientFrom(values, io, true);
    const nodeAddress = values.node ? address("--node", values.node) : accountOf(client);
    const r = await withProgress(io, `registering node ${nodeAddress}`, () =>
      registerNode(client, {
        node: nodeAddress,
        endpoint: values.endpoint ?? "http://127.0.0.1:4000",
        containers,
        stake,
      }),
    );
    io.stdout(values.json ? `${toJson(r)}\n` : `${r.node}\n`);
    return EXIT_OK;
  },
};

async function showNode(io: CliIo, json: boolean | undefined, info: Awaited<ReturnType<typeof getNode>>) {
  if (json) {
    io.stdout(`${toJson(info)}\n`);
    return;
  }
  const unlock = info.unlockAt === 0 ? "-" : new Date(info.unlockAt * 1000).toISOString();
  io.stdout(
    [
      `operator   ${info.operator}`,
      `staked     ${formatEther(info.staked)} (free ${formatEther(info.freeStake)}, bonded ${formatEther(info.bonded)})`,
      `unbonding  ${formatEther(info.unbonding)} (withdrawable from ${unlock})`,
      `jailed     ${info.jailed}`,
      `endpoint   ${info.endpoint}`,
      `containers ${info.containers.length}`,
    ].join("\n") + "\n",
  );
}

export const stake: Command = {
  name: "stake",
  summary: "show a node's stake, or add to it (--amount)",
  usage: `Usage: infernet stake [--amount <amount>] [--node <address>] [chain options]

Without --amount, shows the node's stake (staked, free, bonded, unbonding). With --amount, adds that much stake
(operator only) first. --node defaults to your account.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CHAIN_OPTIONS,
      amount: { type: "string" },
      node: { type: "string" },
    });
    const add = values.amount === undefined ? undefined : amount("--amount", values.amount);
    const client = await clientFrom(values, io, add !== undefined);
    const nodeAddress = values.node
      ? address("--node", values.node)
      : accountOf(client, "stake without --node");
    if (add !== undefined) {
      await withProgress(io, `adding ${formatEther(add)} stake to ${nodeAddress}`, () =>
        addStake(client, { node: nodeAddress, amount: add }),
      );
    }
    const info = await getNode(client, nodeAddress);
    if (!info.registered) throw new UsageError(`${nodeAddress} is not a registered node`);
    await showNode(io, values.json, info);
    return EXIT_OK;
  },
};

export const unbond: Command = {
  name: "unbond",
  summary: "start unbonding stake (--amount), or withdraw unbonded stake (--withdraw)",
  usage: `Usage: infernet unbond --amount <amount> [--node <address>] [chain options]
       infernet unbond --withdraw [--node <address>] [chain options]

--amount starts the unbonding delay for that much free stake (bonded stake cannot be unbonded); --withdraw sends the
unbonded stake to the operator once the delay has passed. --node defaults to your account.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CHAIN_OPTIONS,
      amount: { type: "string" },
      withdraw: { type: "boolean" },
      node: { type: "string" },
    });
    if ((values.amount === undefined) === (values.withdraw !== true))
      throw new UsageError("give either --amount <amount> or --withdraw");
    const client = await clientFrom(values, io, true);
    const nodeAddress = values.node ? address("--node", values.node) : accountOf(client);
    if (values.withdraw) {
      const r = await withProgress(io, `withdrawing unbonded stake of ${nodeAddress}`, () =>
        withdrawStake(client, { node: nodeAddress }),
      );
      io.stdout(values.json ? `${toJson(r)}\n` : `withdrew ${formatEther(r.amount)}\n`);
      return EXIT_OK;
    }
    const value = amount("--amount", values.amount!);
    const r = await withProgress(io, `unbonding ${formatEther(value)} of ${nodeAddress}`, () =>
      requestUnbond(client, { node: nodeAddress, amount: value }),
    );
    io.stdout(
      values.json
        ? `${toJson(r)}\n`
        : `unbonding ${formatEther(value)}; withdrawable from ${new Date(Number(r.unlockAt) * 1000).toISOString()}\n`,
    );
    return EXIT_OK;
  },
};
