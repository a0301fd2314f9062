import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createPublicClient, http, isAddress } from "viem";

/** Runs the README's `npm run devnet` on a spare port and checks that it deploys, writes and prints addresses. */
describe("npm run devnet", () => {
  it("starts hardhat node, deploys, writes deployments/localhost.json, prints addresses, stops on SIGINT", async () => {
    const port = 18_545 + Math.floor(Math.random() * 1000);
    const child = spawn("npm", ["run", "devnet"], {
      env: { ...process.env, DEVNET_PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 90_000;
      while (!out.includes("ready; Ctrl-C to stop")) {
        assert.ok(Date.now() < deadline, `devnet did not become ready:\n${out}`);
        assert.equal(child.exitCode, null, `devnet exited early:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const file = JSON.parse(readFileSync("deployments/localhost.json", "utf8")) as {
        chainId: number;
        contracts: Record<string, string>;
      };
      assert.equal(file.chainId, 31337);
      for (const name of [
        "randomness",
        "containerRegistry",
        "nodeRegistry",
        "coordinator",
        "proofOfInference",
        "trustModel",
      ]) {
        const address = file.contracts[name];
        assert.ok(address && isAddress(address), `${name} address`);
        assert.ok(out.includes(address), `printed ${name}`);
      }
      const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`) });
      const code = await client.getCode({ address: file.contracts.coordinator as `0x${string}` });
      assert.ok(code && code.length > 2, "coordinator has code on the running chain");
    } finally {
      if (child.pid) process.kill(-child.pid, "SIGINT");
      await new Promise((r) => child.once("exit", r));
    }
    const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }) });
    await assert.rejects(client.getChainId(), "the chain stops with the devnet");
  });
});
