/**
 * The `infernet` CLI: `--help` of every subcommand, usage errors, and docs/cli.md's walkthrough run as written
 * against a `hardhat node` (deploy, container and node registration, stake, API key, the node started through
 * `infernet node start`, on-chain and off-chain jobs submitted, watched and read back, funding, cancelling,
 * withdrawing, unbonding, and the documented failures with their exit codes). Plus `infernet devnet` on a spare port.
 *
 * The walkthrough is read from the ```sh blocks of docs/cli.md and interpreted by a tiny shell: `export V=value`,
 * `V=$(infernet …)` (stdout captured, trimmed), `infernet … &` (started in the background, ready when its output has
 * the text after `# ready when it logs`), `# exits N` (the expected exit code, default 0), `$V` expanded outside
 * single quotes. `infernet` runs in-process through cli/src/main.ts; background commands run cli/bin/infernet.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { COMMANDS, EXIT_OK, EXIT_USAGE, main } from "../cli/src/main.ts";
import { freePort, startHardhatNode } from "./helpers/chain.ts";
import { DEV_MNEMONIC, ROOT, nodeAccount, writeNodeConfig, type World } from "./helpers/node-e2e.ts";

const BIN = join(ROOT, "cli", "bin", "infernet.ts");

interface Ran {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  let out = "";
  let err = "";
  const code = await main(args, {
    io: {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: opts.env ?? { PATH: process.env.PATH },
      interactive: false,
      cwd: opts.cwd ?? ROOT,
    },
  });
  return { code, out, err };
}

/** Splits a command line into words: single quotes literal, double quotes with $VAR expansion. */
function words(line: string, vars: Record<string, string>): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  const expand = (s: string) =>
    s.replace(/\$([A-Z_][A-Z0-9_]*)/g, (_m, name: string) => {
      const v = vars[name];
      assert.ok(v !== undefined, `$${name} is not set (in: ${line})`);
      return v;
    });
  for (let i = 0; i < line.length;) {
    const c = line[i]!;
    if (c === " ") {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur = (cur ?? "") + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      cur = (cur ?? "") + expand(line.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < line.length && !" '\"".includes(line[j]!)) j++;
      cur = (cur ?? "") + expand(line.slice(i, j));
      i = j;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** The ```sh blocks of a markdown file, as lines. */
function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g))
    lines.push(...block[1]!.split("\n").filter(Boolean));
  return lines;
}

describe("infernet CLI", () => {
  it("prints --help for every subcommand (exit 0) and the command list", async () => {
    const top = await cli(["--help"]);
    assert.equal(top.code, EXIT_OK);
    for (const c of COMMANDS) {
      assert.ok(top.out.includes(c.name), `the command list names ${c.name}`);
      const r = await cli([...c.name.split(" "), "--help"]);
      assert.equal(r.code, EXIT_OK, `${c.name} --help: ${r.err}`);
      if (c.delegatesHelp)
        assert.match(r.out, /infernet-node/, `${c.name} --help shows infernet-node's commands`);
      else assert.match(r.out, new RegExp(`^Usage: infernet ${c.name}`), `${c.name} --help`);
    }
    const group = await cli(["wallet", "--help"]);
    assert.equal(group.code, EXIT_OK);
    assert.match(group.out, /wallet fund/);
  });

  it("reports usage errors with exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: infernet/],
      [["frobnicate"], /unknown command: frobnicate/],
      [["job", "frobnicate"], /unknown command: job frobnicate/],
      [["job", "submit", "--container", "hello"], /either --input <hex> or --prompt <text>/],
      [
        ["job", "submit", "--container", "hello", "--input", "0x01", "--payment", "lots"],
        /--payment must be an amount/,
      ],
      [["register", "--containers", "hello"], /--stake is required/],
      [["unbond", "--dev-account", "2"], /either --amount <amount> or --withdraw/],
      [["deploy", "--network", "x"], /a deployer account is required/],
      [["job", "status", "abc"], /must be a positive integer/],
      [["stake", "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, EXIT_USAGE, `${args.join(" ")}: ${r.err}`);
      assert.match(r.out + r.err, message, args.join(" "));
    }
  });

  describe("docs/cli.md walkthrough against a hardhat node", () => {
    let chain: Awaited<ReturnType<typeof startHardhatNode>>;
    const background: { child: ChildProcess; output: () => string }[] = [];
    before(async () => {
      chain = await startHardhatNode();
    });
    after(async () => {
      for (const b of background) {
        if (b.child.exitCode === null) {
          b.child.kill("SIGTERM");
          await new Promise((r) => b.child.once("exit", r));
        }
      }
      await chain?.stop();
    });

    it("runs every command of the walkthrough as documented", async () => {
      const cwd = mkdtempSync(join(tmpdir(), "infernet-cli-"));
      const apiPort = await freePort();
      const vars: Record<string, string> = { RPC: chain.url, API: `http://127.0.0.1:${apiPort}` };
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
      const results: { line: string; ran: Ran }[] = [];
      // $CONFIG: the node's configuration for the deployment the walkthrough made (written on first use).
      const config = () => {
        const deployment = JSON.parse(readFileSync(join(cwd, "deployments", "localhost.json"), "utf8"));
        return writeNodeConfig({ rpcUrl: chain.url, deployment } as World, {
          overrides: { api: { enabled: true }, server: { host: "127.0.0.1", port: apiPort } },
        });
      };
      const lines = shellLines(readFileSync(join(ROOT, "docs", "cli.md"), "utf8"));
      assert.ok(lines.length >= 20, "the walkthrough has its commands");
      for (const raw of lines) {
        if (raw.includes("$CONFIG") && vars.CONFIG === undefined) vars.CONFIG = config();
        const [command, comment = ""] = raw.split(/ # /);
        let line = command!.trim();
        const exported = /^export ([A-Z_]+)=(.*)$/.exec(line);
        if (exported) {
          env[exported[1]!] = words(exported[2]!, vars).join(" ");
          continue;
        }
        const captured = /^([A-Z_][A-Z0-9_]*)=\$\((.*)\)$/.exec(line);
        if (captured) line = captured[2]!;
        const inBackground = line.endsWith("&");
        if (inBackground) line = line.slice(0, -1).trim();
        const argv = words(line, vars);
        assert.equal(argv.shift(), "infernet", raw);
        if (inBackground) {
          const ready = /ready when it logs "(.*)"/.exec(comment)?.[1];
          assert.ok(ready, `a background command says when it is ready: ${raw}`);
          const child = spawn(process.execPath, [BIN, ...argv], {
            cwd,
            env,
            stdio: ["ignore", "pipe", "pipe"],
          });
          let output = "";
          child.stdout.on("data", (d: Buffer) => (output += d.toString()));
          child.stderr.on("data", (d: Buffer) => (output += d.toString()));
          background.push({ child, output: () => output });
          const deadline = Date.now() + 60_000;
          while (!output.includes(ready)) {
            assert.ok(child.exitCode === null, `${raw} exited:\n${output}`);
            assert.ok(Date.now() < deadline, `${raw} not ready:\n${output}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          continue;
        }
        const ran = await cli(argv, { env, cwd });
        const expected = Number(/exits (\d+)/.exec(comment)?.[1] ?? 0);
        assert.equal(ran.code, expected, `${raw}\nstdout: ${ran.out}\nstderr: ${ran.err}`);
        if (expected !== 0) assert.ok(ran.err.trim().length > 0, `${raw} says why`);
        if (captured) vars[captured[1]!] = ran.out.trim();
        results.push({ line: raw, ran });
      }

      const out = (prefix: string) => results.find((r) => r.line.startsWith(prefix))!.ran;
      assert.match(vars.SUB!, /^[0-9]+$/);
      assert.match(vars.KEY!, /^\S{20,}$/);
      assert.match(out("infernet stake").out, /staked\s+2 \(free 2/);
      // hello echoes its input: the delivered output is abi.encode(input, input).
      const watched = out("infernet job watch $SUB").out;
      assert.match(watched, new RegExp(`delivered by ${nodeAccount.address}`, "i"));
      assert.match(watched, /1234abcd0{56}.*1234abcd/);
      assert.match(watched, /matches the output/);
      assert.match(out("infernet job status $SUB").out, /slot 0: Paid/);
      assert.match(out("infernet job watch --api").out, /success/);
      assert.match(out("infernet job status --api").out, /result \{"echo":\{"prompt":"a red fox"\}\}/);
      assert.match(out("infernet job cancel").out, /refunded 0\.01 /);
      assert.match(out("infernet wallet withdraw --dev-account 1").out, /withdrew 0\.01/);
      assert.match(out("infernet wallet balance").out, /credits 0\.0099/, "0.01 less the 1 % fee");
      assert.match(out("infernet wallet withdraw --dev-account 2").out, /withdrew 0\.0099/);
      assert.match(out("infernet unbond").out, /unbonding 0\.5; withdrawable from/);
      assert.match(out("infernet job status 999").err, /subscription 999 does not exist/);
      assert.match(out("infernet job watch $NOBODY").err, /timed out after 1000 ms/);

      // The node runs under `infernet node start`: SIGTERM reaches it and it exits cleanly, and so does the CLI.
      const nodeProcess = background[0]!;
      nodeProcess.child.kill("SIGTERM");
      const code = await new Promise<number | null>((r) => nodeProcess.child.once("exit", (c) => r(c)));
      assert.equal(code, 0, nodeProcess.output().slice(-2000));
    });
  });

  it("infernet devnet starts a chain with the system deployed and stops on SIGINT", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, "devnet", "--port", String(port)], {
      cwd: ROOT,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes("ready; Ctrl-C to stop")) {
        assert.equal(child.exitCode, null, `devnet exited:\n${output}`);
        assert.ok(Date.now() < deadline, `devnet not ready:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`) });
      assert.equal(await client.getChainId(), 31337);
      // An account from a key file (as on a real chain).
      const user = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 });
      const keyFile = join(mkdtempSync(join(tmpdir(), "infernet-key-")), "user.key");
      writeFileSync(keyFile, `${toHex(user.getHdKey().privateKey!)}\n`);
      const rpc = `http://127.0.0.1:${port}`;
      const status = await cli(["wallet", "balance", "--rpc", rpc, "--key-file", keyFile]);
      assert.equal(status.code, 0, status.err);
      assert.match(status.out, new RegExp(`^${user.address}\\n  balance \\d+`));
    } finally {
      child.kill("SIGINT");
    }
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    assert.equal(code, 0, output.slice(-2000));
  });
});
