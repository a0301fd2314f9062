// The node's configuration: schema, defaults, env overrides, path resolution and the error naming the key.
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../node/src/config/errors.ts";
import { applyEnvOverrides, loadConfig, loadWalletKey, snakeToCamel } from "../node/src/config/load.ts";
import { REDACTED, redactConfig, redactUrl } from "../node/src/config/redact.ts";

const KEY = `0x${"ab".repeat(32)}`;
const COORDINATOR = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";
const NODE_REGISTRY = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const POI = "0x0165878A594ca255338adfa4d48449f69242Eb8F";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

type Json = Record<string, unknown>;

/** A minimal valid config: explicit contracts, key file next to it. */
function minimal(): Json {
  return {
    chain: {
      rpcUrl: "http://127.0.0.1:8545",
      contracts: { coordinator: COORDINATOR, nodeRegistry: NODE_REGISTRY, proofOfInference: POI },
      wallet: { keyFile: "./node.key" },
    },
  };
}

/** Writes `config` (and a valid node.key) into a fresh directory; returns the config file's path. */
async function write(config: unknown, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infernet-config-"));
  dirs.push(dir);
  await writeFile(join(dir, "node.key"), `${KEY}\n`);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  const path = join(dir, "node.json");
  await writeFile(path, typeof config === "string" ? config : JSON.stringify(config));
  return path;
}

/** Loads and expects a ConfigError on exactly `key`. */
async function rejects(
  config: unknown,
  key: string,
  reason?: RegExp,
  env: NodeJS.ProcessEnv = {},
  files: Record<string, string> = {},
): Promise<ConfigError> {
  const path = await write(config, files);
  try {
    await loadConfig({ path, env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.key, key, err.message);
    assert.equal(err.message, `config: ${err.key}: ${err.reason}`);
    if (reason !== undefined) assert.match(err.reason, reason);
    return err;
  }
  assert.fail(`expected the config to be refused on ${key}`);
}

function edit(mutate: (c: Json & { chain: Json & { wallet: Json } }) => void): Json {
  const c = minimal() as Json & { chain: Json & { wallet: Json } };
  mutate(c);
  return c;
}

describe("node config: defaults and resolution", () => {
  it("fills every default", async () => {
    const path = await write(minimal());
    const config = await loadConfig({ path, env: {} });
    assert.deepEqual(config.roles, ["provider"]);
    assert.equal(config.chain.confirmations, 1);
    assert.equal(config.chain.pollIntervalMs, 500);
    assert.equal(config.chain.logRangeBlocks, 2000);
    assert.equal(config.chain.startBlock, undefined);
    assert.deepEqual(config.chain.wallet, {
      keyFile: join(path, "..", "node.key"),
      maxFeePerGasGwei: 200,
      maxPriorityFeePerGasGwei: 2,
      replaceAfterMs: 30_000,
    });
    assert.equal(config.store.path, join(path, "..", "data", "node.sqlite"));
    assert.deepEqual(config.queue, {
      backend: "embedded",
      concurrency: 2,
      attempts: 3,
      backoffMs: 1000,
      maxStalls: 10,
      redis: { host: "127.0.0.1", port: 6379, prefix: "infernet" },
    });
    assert.deepEqual(config.validator, {
      models: {},
      outputCheckProbability: 0.25,
      lookbackBlocks: 10_000,
      graphOptimizationLevel: "all",
      intraOpNumThreads: 1,
    });
    assert.deepEqual(config.docker, {});
    assert.deepEqual(config.containers, []);
    assert.deepEqual(config.server, { port: 4000, host: "127.0.0.1" });
    assert.deepEqual(config.log, { level: "info" });
    assert.equal(config.chain.contracts.coordinator, COORDINATOR);
  });

  it("fills container defaults per runtime", async () => {
    const path = await write(
      edit((c) => {
        c.containers = [
          { id: "a", runtime: "docker", image: "hello:1" },
          { id: "b", runtime: "process", command: ["node", "server.ts"] },
          { id: "c", runtime: "external", url: "https://svc.example/", bearer: "t0k3n" },
        ];
      }),
    );
    const [a, b, c] = (await loadConfig({ path, env: {} })).containers;
    assert.deepEqual(a, {
      id: "a",
      runtime: "docker",
      image: "hello:1",
      network: "none",
      readOnly: true,
      memoryMb: 1024,
      cpus: 1,
      pidsLimit: 256,
      gpu: false,
      port: 3000,
      timeoutMs: 60_000,
    });
    assert.equal(b?.cwd, join(path, ".."), "process cwd defaults to the config file's directory");
    assert.equal(c?.url, "https://svc.example/");
  });

  it("resolves relative paths against the config file's directory", async () => {
    const deployment = {
      network: "localhost",
      chainId: 31337,
      blockNumber: "13",
      contracts: {
        coordinator: COORDINATOR,
        nodeRegistry: NODE_REGISTRY,
        proofOfInference: POI,
        containerRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      },
    };
    const path = await write(
      {
        chain: {
          rpcUrl: "ws://127.0.0.1:8545",
          deployment: "deployments/localhost.json",
          wallet: { keyFile: "keys/../node.key" },
        },
        store: { path: "state/db.sqlite" },
        docker: { socketPath: "./docker.sock" },
        containers: [
          {
            id: "a",
            runtime: "docker",
            image: "hello:1",
            build: { context: "../ctx" },
            volumes: ["./models:/models:ro", "/abs:/abs", "named:/data"],
          },
          { id: "b", runtime: "process", command: ["node", "x.ts"], cwd: "svc" },
        ],
      },
      { "deployments/localhost.json": JSON.stringify(deployment) },
    );
    const dir = join(path, "..");
    // loaded from another working directory: paths still follow the file
    const cwd = process.cwd();
    process.chdir(tmpdir());
    let config;
    try {
      config = await loadConfig({ path, env: {} });
    } finally {
      process.chdir(cwd);
    }
    assert.equal(config.chain.deployment, join(dir, "deployments", "localhost.json"));
    assert.equal(config.chain.wallet.keyFile, join(dir, "node.key"));
    assert.equal(config.store.path, join(dir, "state", "db.sqlite"));
    assert.equal(config.docker.socketPath, join(dir, "docker.sock"));
    assert.equal(config.containers[0]?.build?.context, join(dir, "..", "ctx"));
    assert.deepEqual(config.containers[0]?.volumes, [
      `${join(dir, "models")}:/models:ro`,
      "/abs:/abs",
      "named:/data",
    ]);
    assert.equal(config.containers[1]?.cwd, join(dir, "svc"));
    // the deployment file fills contracts, chainId and startBlock
    assert.equal(config.chain.contracts.coordinator, COORDINATOR);
    assert.equal(config.chain.contracts.containerRegistry, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    assert.equal(config.chain.chainId, 31337);
    assert.equal(config.chain.startBlock, 13);
  });

  it("reads the key from the variable named by privateKeyEnv", async () => {
    const path = await write(
      edit((c) => {
        c.chain.wallet = { privateKeyEnv: "NODE_KEY" };
      }),
    );
    const config = await loadConfig({ path, env: { NODE_KEY: KEY } });
    assert.equal(await loadWalletKey(config.chain.wallet, { NODE_KEY: KEY }), KEY);
    await rejects(
      edit((c) => {
        c.chain.wallet = { privateKeyEnv: "NODE_KEY" };
      }),
      "chain.wallet.privateKeyEnv",
      /NODE_KEY is not set/,
    );
  });

  it("validates the example config (node/config.example.json)", async () => {
    const deployment = await write({
      chainId: 31337,
      contracts: { coordinator: COORDINATOR, nodeRegistry: NODE_REGISTRY, proofOfInference: POI },
    });
    const config = await loadConfig({
      path: "node/config.example.json",
      env: { INFERNET_PRIVATE_KEY: KEY, INFERNET__CHAIN__DEPLOYMENT: deployment },
    });
    assert.equal(config.chain.chainId, 31337);
    assert.ok(config.containers.length > 0);
  });
});

describe("node config: environment overrides", () => {
  it("converts INFERNET__A__B_C to a.bC and parses JSON values", () => {
    assert.equal(snakeToCamel("RPC_URL"), "rpcUrl");
    assert.equal(snakeToCamel("MAX_FEE_PER_GAS_GWEI"), "maxFeePerGasGwei");
    const raw: Json = { containers: [{ id: "a", env: { HF_TOKEN: "x" } }] };
    applyEnvOverrides(raw, {
      INFERNET__CHAIN__RPC_URL: "http://rpc:8545",
      INFERNET__QUEUE__CONCURRENCY: "8",
      INFERNET__ROLES: '["provider","validator"]',
      INFERNET__CONTAINERS__0__ENV__HF_TOKEN: "y",
      INFERNET__CONTAINERS__0__GPU: "true",
      OTHER: "ignored",
    });
    assert.deepEqual(raw, {
      chain: { rpcUrl: "http://rpc:8545" },
      queue: { concurrency: 8 },
      roles: ["provider", "validator"],
      containers: [{ id: "a", env: { HF_TOKEN: "y" }, gpu: true }],
    });
  });

  it("applies overrides over the file", async () => {
    const path = await write(minimal());
    const config = await loadConfig({
      path,
      env: {
        INFERNET__CHAIN__RPC_URL: "https://rpc.example/",
        INFERNET__CHAIN__WALLET__MAX_FEE_PER_GAS_GWEI: "50",
        INFERNET__QUEUE__BACKEND: "bullmq",
        INFERNET__QUEUE__REDIS__PASSWORD: "1234", // JSON-parses as a number; the key wants a string
        INFERNET__ROLES: '["validator"]',
      },
    });
    assert.equal(config.chain.rpcUrl, "https://rpc.example/");
    assert.equal(config.chain.wallet.maxFeePerGasGwei, 50);
    assert.equal(config.queue.backend, "bullmq");
    assert.equal(config.queue.redis.password, "1234");
    assert.deepEqual(config.roles, ["validator"]);
  });

  it("names the key (and the variable) when an override has the wrong type", async () => {
    const err = await rejects(minimal(), "queue.concurrency", /^expected number, got string/, {
      INFERNET__QUEUE__CONCURRENCY: "lots",
    });
    assert.match(err.message, /\(from INFERNET__QUEUE__CONCURRENCY\)$/);
    assert.equal(
      err.message,
      "config: queue.concurrency: expected number, got string (from INFERNET__QUEUE__CONCURRENCY)",
    );
  });

  it("names an unknown key set by an override", async () => {
    await rejects(minimal(), "chain.rpcUrll", /^unknown key/, { INFERNET__CHAIN__RPC_URLL: "x" });
  });
});

describe("node config: refusals name the key", () => {
  it("wrong type", async () => {
    const err = await rejects(
      edit((c) => {
        c.queue = { concurrency: "2" };
      }),
      "queue.concurrency",
    );
    assert.equal(err.message, "config: queue.concurrency: expected number, got string");
    await rejects(
      edit((c) => {
        c.chain.confirmations = 1.5;
      }),
      "chain.confirmations",
      /^expected integer, got 1.5$/,
    );
    await rejects(
      edit((c) => {
        c.containers = [{ id: "a", runtime: "docker", image: "x", readOnly: "yes" }];
      }),
      "containers.0.readOnly",
      /^expected boolean, got string$/,
    );
    await rejects(
      edit((c) => {
        c.roles = ["miner"];
      }),
      "roles.0",
      /^expected one of "provider" \| "validator", got "miner"$/,
    );
    await rejects(
      edit((c) => {
        c.queue = { backend: "redis" };
      }),
      "queue.backend",
      /expected one of "embedded" \| "bullmq"/,
    );
    await rejects(
      edit((c) => {
        c.server = { port: 70000 };
      }),
      "server.port",
      /^must be <= 65535$/,
    );
  });

  it("unknown key at the top level", async () => {
    const err = await rejects(
      edit((c) => {
        c.chains = {};
      }),
      "chains",
    );
    assert.equal(err.message, "config: chains: unknown key");
  });

  it("unknown key nested", async () => {
    const err = await rejects(
      edit((c) => {
        c.chain.foo = 1;
      }),
      "chain.foo",
    );
    assert.equal(err.message, "config: chain.foo: unknown key");
    await rejects(
      edit((c) => {
        c.chain.wallet.maxFee = 1;
      }),
      "chain.wallet.maxFee",
      /^unknown key$/,
    );
    await rejects(
      edit((c) => {
        c.containers = [{ id: "a", runtime: "docker", image: "x", memory: 512 }];
      }),
      "containers.0.memory",
      /^unknown key$/,
    );
    await rejects(
      edit((c) => {
        c.queue = { redis: { hots: "x" } };
      }),
      "queue.redis.hots",
      /^unknown key$/,
    );
  });

  it("missing rpcUrl", async () => {
    const err = await rejects(
      edit((c) => {
        delete c.chain.rpcUrl;
      }),
      "chain.rpcUrl",
    );
    assert.equal(err.message, "config: chain.rpcUrl: required");
    await rejects(
      edit((c) => {
        c.chain.rpcUrl = "ftp://x";
      }),
      "chain.rpcUrl",
      /^expected a URL starting with http:\/\/, https:\/\/, ws:\/\/, wss:\/\//,
    );
    await rejects({}, "chain", /^required$/);
  });

  it("unreadable key file", async () => {
    const err = await rejects(
      edit((c) => {
        c.chain.wallet.keyFile = "./missing.key";
      }),
      "chain.wallet.keyFile",
      /cannot read .*missing\.key \(ENOENT\)/,
    );
    assert.match(err.message, /^config: chain\.wallet\.keyFile: /);
    if (process.getuid?.() !== 0) {
      // root reads anything; elsewhere a file without read permission is refused too
      const path = await write(minimal());
      await chmod(join(path, "..", "node.key"), 0o000);
      await assert.rejects(loadConfig({ path, env: {} }), { key: "chain.wallet.keyFile" });
    }
  });

  it("malformed key file", async () => {
    for (const content of ["ab".repeat(32), `0x${"ab".repeat(31)}`, `0x${"zz".repeat(32)}`, ""]) {
      await rejects(
        edit((c) => {
          c.chain.wallet.keyFile = "./bad.key";
        }),
        "chain.wallet.keyFile",
        /does not hold a private key \(expected 0x followed by 64 hex digits\)/,
        {},
        { "bad.key": content },
      );
    }
  });

  it("wallet without a key source, or with two", async () => {
    await rejects(
      edit((c) => {
        c.chain.wallet = {};
      }),
      "chain.wallet.keyFile",
      /^required \(or chain\.wallet\.privateKeyEnv\)$/,
    );
    await rejects(
      edit((c) => {
        c.chain.wallet.privateKeyEnv = "K";
      }),
      "chain.wallet.privateKeyEnv",
      /not both/,
    );
    await rejects(
      edit((c) => {
        c.chain.wallet.maxPriorityFeePerGasGwei = 300;
      }),
      "chain.wallet.maxPriorityFeePerGasGwei",
      /must not exceed/,
    );
  });

  it("docker container without image, and the other runtime requirements", async () => {
    const err = await rejects(
      edit((c) => {
        c.containers = [{ id: "a", runtime: "docker" }];
      }),
      "containers.0.image",
    );
    assert.equal(err.message, 'config: containers.0.image: required with runtime "docker"');
    await rejects(
      edit((c) => {
        c.containers = [
          { id: "a", runtime: "docker", image: "x" },
          { id: "b", runtime: "process" },
        ];
      }),
      "containers.1.command",
      /^required with runtime "process"$/,
    );
    await rejects(
      edit((c) => {
        c.containers = [{ id: "a", runtime: "external" }];
      }),
      "containers.0.url",
      /^required with runtime "external"$/,
    );
    await rejects(
      edit((c) => {
        c.containers = [{ id: "a", runtime: "process", command: ["x"], image: "x" }];
      }),
      "containers.0.image",
      /^only valid with runtime "docker"/,
    );
    await rejects(
      edit((c) => {
        c.containers = [
          { id: "a", runtime: "docker", image: "x" },
          { id: "a", runtime: "docker", image: "y" },
        ];
      }),
      "containers.1.id",
      /duplicate container id/,
    );
    await rejects(
      edit((c) => {
        c.containers = [{ id: "a", runtime: "docker", image: "x", volumes: ["relative"] }];
      }),
      "containers.0.volumes.0",
      /host:\/container/,
    );
    await rejects(
      edit((c) => {
        c.containers = [
          { id: "a", runtime: "docker", image: "x", acceptedPayments: { [COORDINATOR]: "1e18" } },
        ];
      }),
      `containers.0.acceptedPayments.${COORDINATOR}`,
      /decimal integer string/,
    );
  });

  it("contracts: neither, both, bad address, bad deployment file, chain id mismatch", async () => {
    await rejects(
      edit((c) => {
        delete c.chain.contracts;
      }),
      "chain.deployment",
      /^required \(or chain\.contracts\)$/,
    );
    await rejects(
      edit((c) => {
        c.chain.deployment = "./d.json";
      }),
      "chain.contracts",
      /not both/,
    );
    await rejects(
      edit((c) => {
        c.chain.contracts = { coordinator: "0x12", nodeRegistry: NODE_REGISTRY, proofOfInference: POI };
      }),
      "chain.contracts.coordinator",
      /address/,
    );
    const noDeployment = edit((c) => {
      delete c.chain.contracts;
      c.chain.deployment = "./d.json";
    });
    await rejects(noDeployment, "chain.deployment", /cannot read .*d\.json \(ENOENT\)/);
    await rejects(noDeployment, "chain.deployment", /not valid JSON/, {}, { "d.json": "{" });
    await rejects(
      noDeployment,
      "chain.deployment",
      /contracts\.proofOfInference must be an address/,
      {},
      {
        "d.json": JSON.stringify({
          chainId: 1,
          contracts: { coordinator: COORDINATOR, nodeRegistry: NODE_REGISTRY },
        }),
      },
    );
    await rejects(
      { ...noDeployment, chain: { ...(noDeployment.chain as Json), chainId: 5 } },
      "chain.chainId",
      /does not match/,
      {},
      {
        "d.json": JSON.stringify({
          chainId: 31337,
          contracts: { coordinator: COORDINATOR, nodeRegistry: NODE_REGISTRY, proofOfInference: POI },
        }),
      },
    );
  });

  it("file-level problems name the file", async () => {
    const path = await write("{ not json");
    await assert.rejects(loadConfig({ path, env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.key, path);
      assert.match(err.reason, /not valid JSON/);
      return true;
    });
    await assert.rejects(loadConfig({ path: join(tmpdir(), "no-such-infernet.json"), env: {} }), /ENOENT/);
    await assert.rejects(loadConfig({ path: await write("[]"), env: {} }), /does not hold a JSON object/);
  });

  it("lists every problem, the first one in the message", async () => {
    const path = await write({ chain: { rpcUrl: 1, foo: 2 }, bogus: true });
    const err = await loadConfig({ path, env: {} }).catch((e: unknown) => e);
    assert.ok(err instanceof ConfigError);
    const keys = err.problems.map((p) => p.key);
    for (const key of ["chain.rpcUrl", "chain.foo", "chain.wallet", "bogus"])
      assert.ok(keys.includes(key), key);
    assert.equal(err.lines()[0], err.message);
  });
});

describe("node config: redaction", () => {
  it("redacts secrets and key-bearing URL parts", async () => {
    const path = await write(
      edit((c) => {
        c.chain.rpcUrl = "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef";
        c.chain.wsUrl = "wss://user:pw@rpc.example/ws?apikey=zzz";
        c.queue = { redis: { password: "hunter2" } };
        c.docker = { registryAuth: { username: "me", password: "s3cret", serveraddress: "ghcr.io" } };
        c.containers = [
          { id: "a", runtime: "docker", image: "x", env: { HF_TOKEN: "hf_x", MODE: "fast" } },
          { id: "b", runtime: "external", url: "https://svc.example/", bearer: "tok" },
        ];
      }),
    );
    const config = await loadConfig({ path, env: {} });
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    for (const secret of [
      "0123456789abcdef0123456789abcdef",
      "pw@",
      "zzz",
      "hunter2",
      "s3cret",
      "hf_x",
      '"tok"',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(redacted.containers[0]?.env?.MODE, "fast");
    assert.equal(redacted.containers[0]?.env?.HF_TOKEN, REDACTED);
    assert.equal(config.queue.redis.password, "hunter2", "the original is untouched");
    assert.equal(redactUrl("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
  });
});
