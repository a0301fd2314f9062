// wallet fund / withdraw / balance: prepayment of subscriptions and what the Coordinator credits to an account.
import { formatEther, zeroAddress } from "viem";
import { accountOf, fundSubscription, getCredits, withdrawCredits } from "@infernet/sdk";
import type { Command } from "../command.ts";
import { CHAIN_HELP, CHAIN_OPTIONS, address, amount, clientFrom, parse, requireOption } from "../context.ts";
import { EXIT_OK, UsageError, toJson, withProgress } from "../io.ts";

export const walletFund: Command = {
  name: "wallet fund",
  summary: "add prepayment to a subscription",
  usage: `Usage: infernet wallet fund <subscription-id> --amount <amount> [chain options]

Adds --amount (ether, or wei as 1000wei) to the subscription's escrow, in its payment token (an ERC-20 is approved
first). Anyone may fund any subscription.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...CHAIN_OPTIONS, amount: { type: "string" } }, 1);
    const id = requireOption("<subscription-id>", positionals[0]);
    if (!/^[1-9][0-9]*$/.test(id)) throw new UsageError("<subscription-id> must be a positive integer");
    const value = amount("--amount", requireOption("--amount", values.amount));
    const client = await clientFrom(values, io, true);
    const r = await withProgress(io, `funding subscription ${id} with ${formatEther(value)}`, () =>
      fundSubscription(client, { subscriptionId: BigInt(id), amount: value }),
    );
    io.stdout(values.json ? `${toJson(r)}\n` : `${r.transactionHash}\n`);
    return EXIT_OK;
  },
};

export const walletWithdraw: Command = {
  name: "wallet withdraw",
  summary: "withdraw what the Coordinator credits you (node payments, refunds)",
  usage: `Usage: infernet wallet withdraw [--token <address>] [chain options]

Withdraws everything credited to your account in --token (default ETH): a node's payments, a consumer's refunds.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values } = parse(args, { ...CHAIN_OPTIONS, token: { type: "string" } });
    const token = values.token ? address("--token", values.token) : zeroAddress;
    const client = await clientFrom(values, io, true);
    if ((await getCredits(client, { token })) === 0n) {
      io.stderr("nothing to withdraw\n");
      io.stdout(values.json ? `${toJson({ amount: 0n })}\n` : "withdrew 0\n");
      return EXIT_OK;
    }
    const r = await withProgress(io, "withdrawing credits", () => withdrawCredits(client, { token }));
    io.stdout(values.json ? `${toJson(r)}\n` : `withdrew ${formatEther(r.amount)}\n`);
    return EXIT_OK;
  },
};

export const walletBalance: Command = {
  name: "wallet balance",
  summary: "an account's ETH balance and Coordinator credits",
  usage: `Usage: infernet wallet balance [--address <address>] [--token <address>] [chain options]

--address defaults to your account.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CHAIN_OPTIONS,
      address: { type: "string" },
      token: { type: "string" },
    });
    const client = await clientFrom(values, io, false);
    const account = values.address
      ? address("--address", values.address)
      : accountOf(client, "wallet balance without --address");
    const token = values.token ? address("--token", values.token) : zeroAddress;
    const [balance, credits] = await Promise.all([
      client.publicClient.getBalance({ address: account }),
      getCredits(client, { account, token }),
    ]);
    io.stdout(
      values.json
        ? `${toJson({ account, balance, credits })}\n`
        : `${account}\n  balance ${formatEther(balance)} ETH\n  credits ${formatEther(credits)}\n`,
    );
    return EXIT_OK;
  },
};
