// Container runtimes against real parts: containers/hello as a local process and as a Docker container built from
// its Dockerfile (offline, on the locally made base image), plus crashing, slow, GPU and unreachable-engine cases.
// Needs the Docker engine that `npm run services` starts (CI does); fails, not skips, when it is not there.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { decodeAbiParameters, hexToString, stringToHex, type Hex } from "viem";
import {
  ContainerCallError,
  ContainerCrashedError,
  ContainerTimeoutError,
  Destination,
  DockerUnavailableError,
  GpuUnavailableError,
  ImagePullError,
  MalformedReplyError,
  Source,
  UnknownContainerError,
  checkDocker,
  createRuntime,
  defaultDockerHost,
  dockerClient,
  encodeOnchainReply,
  onchainRequest,
  removeContainers,
  runPipeline,
  validateReply,
  type ContainerRequest,
  type ContainerRuntime,
  type RuntimeContainerConfig,
  type RuntimeOptions,
} from "../node/src/runtime/index.ts";
import { followStream } from "../node/src/runtime/docker.ts";
import { demuxDockerLogs, splitCommand } from "../node/src/runtime/util.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const HELLO_DIR = path.join(ROOT, "containers/hello");
const HELLO_CMD = ["node", "containers/hello/src/server.ts"];
const RUN_ID = `rt-${process.pid}-${Date.now().toString(36)}`;
const LABELS = { "org.infernet.test": RUN_ID };
const BASE_IMAGE = process.env.INFERNET_NODE_IMAGE || "local/node:22";
const BUSYBOX_IMAGE = process.env.INFERNET_BUSYBOX_IMAGE || "local/busybox:latest";
const HELLO_IMAGE = `infernet-test/hello:${RUN_ID}`;

const PROC_OPTS: RuntimeOptions = { cwd: ROOT, startTimeoutMs: 15_000, stopGraceSeconds: 2 };
const DOCKER_OPTS: RuntimeOptions = { labels: LABELS, startTimeoutMs: 30_000, stopGraceSeconds: 2 };

const INPUT: Hex = "0xdeadbeef0001";

function decodePair(encoded: Hex): readonly [Hex, Hex] {
  return decodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], encoded);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `fn` with a started runtime and always stops it. */
async function withRuntime<T>(rt: ContainerRuntime, fn: (rt: ContainerRuntime) => Promise<T>): Promise<T> {
  await rt.start();
  try {
    return await fn(rt);
  } finally {
    await rt.stop();
  }
}

/** A script for `node -e`: serves the contract on INFERNET_SOCKET (or PORT) with `handler` as the body. */
function nodeServer(handler: string): string {
  return (
    `const http=require("http");const s=http.createServer((q,r)=>{if(q.url==="/health"){r.end("ok");return}` +
    `let b="";q.on("data",c=>b+=c);q.on("end",()=>{${handler}})});` +
    `if(process.env.INFERNET_SOCKET)s.listen(process.env.INFERNET_SOCKET);else s.listen(+process.env.PORT,"127.0.0.1");`
  );
}

async function expectOnchainEcho(rt: ContainerRuntime): Promise<void> {
  const reply = await rt.call(onchainRequest(INPUT));
  const hex = INPUT.slice(2);
  assert.deepEqual(reply, {
    raw_input: hex,
    processed_input: hex,
    raw_output: hex,
    processed_output: hex,
    proof: "",
  });
  const delivery = encodeOnchainReply(reply);
  assert.deepEqual(decodePair(delivery.input), [INPUT, INPUT]);
  assert.deepEqual(decodePair(delivery.output), [INPUT, INPUT]);
  assert.equal(delivery.proof, "0x");
}

async function expectOffchainEcho(rt: ContainerRuntime): Promise<void> {
  const data = { prompt: "a cat on a skateboard", steps: 30, nested: [1, "two", null] };
  const reply = await rt.call({
    source: Source.OFFCHAIN,
    destination: Destination.OFFCHAIN,
    data,
    requires_proof: false,
  });
  assert.deepEqual(reply, { echo: data });
}

describe("container contract", () => {
  it("encodes the five-field reply as abi.encode(bytes, bytes) pairs, with null as empty and 0x tolerated", () => {
    const d = encodeOnchainReply({
      raw_input: "01ff",
      processed_input: null,
      raw_output: "0xABCD",
      processed_output: "",
      proof: "beef",
    });
    assert.deepEqual(decodePair(d.input), ["0x01ff", "0x"]);
    assert.deepEqual(decodePair(d.output), ["0xabcd", "0x"]);
    assert.equal(d.proof, "0xbeef");
  });

  it("rejects malformed replies with MalformedReplyError naming the field", () => {
    assert.throws(
      () => validateReply("c", Destination.ONCHAIN, { raw_input: "zz", processed_input: "", raw_output: "" }),
      (e: unknown) =>
        e instanceof MalformedReplyError &&
        e.containerId === "c" &&
        /raw_input/.test(e.message) &&
        /processed_output/.test(e.message),
    );
    assert.throws(() => validateReply("c", Destination.OFFCHAIN, [1, 2]), MalformedReplyError);
    assert.throws(() => validateReply("c", Destination.OFFCHAIN, "text"), MalformedReplyError);
    assert.throws(() => encodeOnchainReply({ raw_input: "abc" }), MalformedReplyError); // odd length, missing keys
    assert.deepEqual(validateReply("c", Destination.OFFCHAIN, { any: ["json"] }), { any: ["json"] });
  });

  it("splits command strings like a shell (without one) and demuxes docker's framed logs", () => {
    assert.deepEqual(splitCommand(`node -e "console.log('a b')" x\\ y ''`), [
      "node",
      "-e",
      "console.log('a b')",
      "x y",
      "",
    ]);
    assert.deepEqual(splitCommand(["a b", "c"]), ["a b", "c"]);
    const frame = (stream: number, s: string) => {
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(Buffer.byteLength(s), 4);
      return Buffer.concat([head, Buffer.from(s)]);
    };
    assert.equal(demuxDockerLogs(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")])), "out\nerr\n");
    assert.equal(demuxDockerLogs(Buffer.from("tty text\n")), "tty text\n");
  });
});

describe("process runtime (containers/hello as a local process)", () => {
  const hello = (extra: Partial<RuntimeContainerConfig> = {}): RuntimeContainerConfig => ({
    id: "hello",
    runtime: "process",
    command: HELLO_CMD,
    ...extra,
  });

  it("round-trips on-chain (five fields → abi-encoded input/output), off-chain and stream requests over a unix socket", async () => {
    const rt = createRuntime(hello(), PROC_OPTS);
    const t0 = performance.now();
    await withRuntime(rt, async () => {
      const startMs = performance.now() - t0;
      await expectOnchainEcho(rt);
      await expectOffchainEcho(rt);
      const stream = await rt.call({ source: 1, destination: 2, data: "hi", requires_proof: false });
      assert.deepEqual(stream, { output: JSON.stringify({ echo: "hi" }) });
      const t1 = performance.now();
      const n = 20;
      for (let i = 0; i < n; i++) await rt.call(onchainRequest(INPUT));
      console.log(
        `process runtime: start ${startMs.toFixed(0)} ms, on-chain round trip ${((performance.now() - t1) / n).toFixed(2)} ms`,
      );
      assert.match(await rt.logs(), /hello: listening on unix:/);
    });
  });

  it("serves over TCP 127.0.0.1:<port> with network host, and stops the process on stop()", async () => {
    const port = await freePort();
    const rt = createRuntime(hello({ network: "host", port }), PROC_OPTS);
    await withRuntime(rt, async () => {
      await expectOffchainEcho(rt);
      assert.match(await rt.logs(), new RegExp(`listening on http://127.0.0.1:${port}`));
    });
    await assert.rejects(
      new Promise((resolve, reject) => http.get({ port, path: "/health" }, resolve).on("error", reject)),
    );
    assert.match(await rt.logs(), /SIGTERM, shutting down/);
  });

  it("runs the pipeline hello,hello: each hop's JSON output is the next hop's data", async () => {
    const rt = createRuntime(hello(), PROC_OPTS);
    await withRuntime(rt, async () => {
      const result = await runPipeline({ hello: rt }, "hello,hello", onchainRequest(INPUT));
      assert.equal(result.hops.length, 2);
      const [h1, h2] = result.hops;
      assert.deepEqual(h1?.request, {
        source: 0,
        destination: 1,
        data: INPUT.slice(2),
        requires_proof: false,
      });
      assert.deepEqual(h1?.output, { echo: INPUT.slice(2) });
      assert.deepEqual(h2?.request, {
        source: 1,
        destination: 0,
        data: { echo: INPUT.slice(2) },
        requires_proof: false,
      });
      // The second hop's input bytes are the UTF-8 of the first hop's JSON reply.
      const delivery = encodeOnchainReply(result.output);
      const [raw] = decodePair(delivery.output);
      assert.equal(hexToString(raw), JSON.stringify({ echo: INPUT.slice(2) }));
      assert.equal(raw, stringToHex(JSON.stringify(h1?.output)));
      // Three hops, off-chain all the way.
      const three = await runPipeline(new Map([["hello", rt]]), ["hello", "hello", "hello"], {
        source: 1,
        destination: 1,
        data: "x",
        requires_proof: true,
      });
      assert.deepEqual(three.output, { echo: { echo: { echo: "x" } } });
      await assert.rejects(
        runPipeline({ hello: rt }, "hello,nope", onchainRequest(INPUT)),
        UnknownContainerError,
      );
    });
  });

  it("a process that exits at start → ContainerCrashedError with its exit code and logs", async () => {
    const rt = createRuntime(
      {
        id: "crasher",
        runtime: "process",
        command: ["node", "-e", "console.error('boom: bad weights'); process.exit(3)"],
      },
      PROC_OPTS,
    );
    await assert.rejects(rt.start(), (e: unknown) => {
      assert.ok(e instanceof ContainerCrashedError, String(e));
      assert.equal(e.exitCode, 3);
      assert.equal(e.containerId, "crasher");
      assert.match(e.logs, /boom: bad weights/);
      assert.match(e.message, /exited with code 3[\s\S]*boom/);
      return true;
    });
  });

  it("a process that dies during a call → ContainerCrashedError; a missing binary → ContainerCrashedError", async () => {
    const rt = createRuntime(
      {
        id: "dies",
        runtime: "process",
        command: ["node", "-e", nodeServer(`console.error("dying on request");process.exit(7)`)],
      },
      PROC_OPTS,
    );
    await withRuntime(rt, async () => {
      await assert.rejects(rt.call(onchainRequest(INPUT)), (e: unknown) => {
        assert.ok(e instanceof ContainerCrashedError, String(e));
        assert.equal(e.exitCode, 7);
        assert.match(e.logs, /dying on request/);
        return true;
      });
    });
    const missing = createRuntime(
      { id: "missing", runtime: "process", command: "/nonexistent/bin/serve" },
      PROC_OPTS,
    );
    await assert.rejects(
      missing.start(),
      (e: unknown) => e instanceof ContainerCrashedError && /ENOENT/.test(e.logs),
    );
  });

  it("slower than timeoutMs → ContainerTimeoutError (call), never ready → ContainerTimeoutError (start)", async () => {
    const rt = createRuntime(hello({ env: { HELLO_DELAY_MS: "3000" }, timeoutMs: 250 }), PROC_OPTS);
    await withRuntime(rt, async () => {
      const t0 = performance.now();
      await assert.rejects(rt.call(onchainRequest(INPUT)), (e: unknown) => {
        assert.ok(e instanceof ContainerTimeoutError, String(e));
        assert.equal(e.phase, "call");
        assert.equal(e.timeoutMs, 250);
        return true;
      });
      assert.ok(performance.now() - t0 < 2000);
      // An abort signal cuts a call too.
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("job cancelled")), 50);
      await assert.rejects(
        rt.call(onchainRequest(INPUT), { timeoutMs: 10_000, signal: ac.signal }),
        /job cancelled/,
      );
    });
    const silent = createRuntime(
      {
        id: "silent",
        runtime: "process",
        command: ["node", "-e", "console.log('loading…'); setInterval(() => {}, 1000)"],
      },
      { ...PROC_OPTS, startTimeoutMs: 600 },
    );
    await assert.rejects(silent.start(), (e: unknown) => {
      assert.ok(e instanceof ContainerTimeoutError, String(e));
      assert.equal(e.phase, "start");
      assert.match(e.logs, /loading…/);
      return true;
    });
  });

  it("stop() during start() ends the readiness wait and kills the process", async () => {
    const rt = createRuntime(
      { id: "sleeper", runtime: "process", command: ["node", "-e", "setInterval(() => {}, 1000)"] },
      PROC_OPTS,
    );
    const starting = rt.start();
    await new Promise((r) => setTimeout(r, 200));
    const pid = (rt as unknown as { pid: number }).pid;
    assert.ok(pid > 0);
    await rt.stop();
    await assert.rejects(starting, /stopped while starting/);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });

  it("bad replies: malformed five fields / non-JSON → MalformedReplyError, HTTP 500 and code≠200 → ContainerCallError", async () => {
    const rt = createRuntime(
      {
        id: "bad",
        runtime: "process",
        command: [
          "node",
          "-e",
          nodeServer(
            `const d=JSON.parse(b).data;` +
              `if(d==="half"){r.end(JSON.stringify({raw_input:"0g",proof:""}))}` +
              `else if(d==="text"){r.end("not json")}` +
              `else if(d==="code"){r.end(JSON.stringify({code:"500",error:"model failed"}))}` +
              `else{r.statusCode=500;r.end("internal")}`,
          ),
        ],
      },
      PROC_OPTS,
    );
    const req = (data: string): ContainerRequest => ({
      source: 1,
      destination: 0,
      data,
      requires_proof: false,
    });
    await withRuntime(rt, async () => {
      await assert.rejects(
        rt.call(req("half")),
        (e: unknown) => e instanceof MalformedReplyError && /raw_input/.test(e.message),
      );
      await assert.rejects(
        rt.call(req("text")),
        (e: unknown) => e instanceof MalformedReplyError && e.body === "not json",
      );
      await assert.rejects(
        rt.call(req("code")),
        (e: unknown) => e instanceof ContainerCallError && e.status === "500",
      );
      await assert.rejects(
        rt.call(req("http")),
        (e: unknown) => e instanceof ContainerCallError && e.status === 500,
      );
    });
  });
});

describe("external runtime", () => {
  it("calls a running service at its URL with the bearer token", async () => {
    const server = http.createServer((req, res) => {
      if (req.headers.authorization !== "Bearer s3cret") {
        res.statusCode = 401;
        res.end("unauthorized");
        return;
      }
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ path: req.url, echo: JSON.parse(body || "null")?.data ?? null }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const url = `http://127.0.0.1:${port}/v1/`;
      const rt = createRuntime(
        { id: "ext", runtime: "external", url, bearer: "s3cret" },
        { startTimeoutMs: 2000 },
      );
      await rt.start();
      assert.deepEqual(await rt.call({ source: 1, destination: 1, data: 42, requires_proof: false }), {
        path: "/v1/service_output",
        echo: 42,
      });
      const wrong = createRuntime({ id: "ext", runtime: "external", url, bearer: "nope" });
      await assert.rejects(
        wrong.call({ source: 1, destination: 1, data: 42, requires_proof: false }),
        (e: unknown) => e instanceof ContainerCallError && e.status === 401 && !e.retryable,
      );
      const down = createRuntime({ id: "down", runtime: "external", url: "http://127.0.0.1:1" });
      await assert.rejects(down.call(onchainRequest(INPUT)), ContainerCallError);
    } finally {
      server.close();
    }
  });
});

describe("docker runtime (containers/hello built from its Dockerfile)", () => {
  let docker: Docker;
  let engine = "";

  before(async () => {
    docker = dockerClient();
    try {
      const v = await checkDocker("test", defaultDockerHost(), 5000, docker);
      engine = `${v.version} (API ${v.apiVersion})`;
    } catch (e) {
      throw new Error(
        `The Docker engine is not reachable at DOCKER_HOST=${defaultDockerHost()}: run \`npm run services\` ` +
          `(then \`source .ci-state/env\`); CI brings it up. (${(e as Error).message})`,
      );
    }
    for (const image of [BASE_IMAGE, BUSYBOX_IMAGE]) {
      await docker
        .getImage(image)
        .inspect()
        .catch(() => {
          throw new Error(
            `base image ${image} is missing: run \`npm run services\` (INFERNET_NEED_NODE_IMAGE=1)`,
          );
        });
    }
    const t0 = performance.now();
    // Files, not folders: dockerode filters the context with .dockerignore, but for a folder's children it
    // matches absolute paths (so `*` + `!src/**` would drop them).
    const files = readdirSync(HELLO_DIR, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => path.relative(HELLO_DIR, path.join(d.parentPath, d.name)));
    const stream = await docker.buildImage(
      { context: HELLO_DIR, src: files },
      {
        t: HELLO_IMAGE,
        buildargs: { BASE_IMAGE },
        labels: LABELS,
        networkmode: "none",
        rm: true,
        forcerm: true,
      },
    );
    await followStream(stream);
    console.log(
      `docker engine ${engine}; built ${HELLO_IMAGE} on ${BASE_IMAGE} in ${(performance.now() - t0).toFixed(0)} ms`,
    );
  });

  after(async () => {
    if (!docker) return;
    await removeContainers(LABELS, docker).catch(() => 0);
    await docker
      .getImage(HELLO_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  });

  const hello = (extra: Partial<RuntimeContainerConfig> = {}): RuntimeContainerConfig => ({
    id: "hello",
    runtime: "docker",
    image: HELLO_IMAGE,
    memoryMb: 256,
    cpus: 1,
    pidsLimit: 64,
    ...extra,
  });

  it("runs hello with no network, read-only root and limits, and round-trips over the unix socket", async () => {
    const rt = createRuntime(hello({ env: { GREETING: "hi" } }), DOCKER_OPTS);
    assert.equal(rt.constructor.name, "DockerRuntime");
    const t0 = performance.now();
    await rt.start();
    const startMs = performance.now() - t0;
    const engineId = (rt as unknown as { containerId: string }).containerId;
    const socketPath = (rt as unknown as { endpoint: { socketPath: string } }).endpoint.socketPath;
    try {
      const info = await docker.getContainer(engineId).inspect();
      assert.equal(info.HostConfig.NetworkMode, "none");
      assert.equal(info.HostConfig.ReadonlyRootfs, true);
      assert.equal(info.HostConfig.Memory, 256 * 1024 * 1024);
      assert.equal(info.HostConfig.PidsLimit, 64);
      assert.equal(info.HostConfig.NanoCpus, 1e9);
      assert.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
      assert.deepEqual(info.HostConfig.SecurityOpt, ["no-new-privileges"]);
      assert.equal(
        (info.HostConfig as { Tmpfs?: Record<string, string> }).Tmpfs?.["/tmp"]?.includes("size=64m"),
        true,
      );
      assert.equal(info.Config.User, "node");
      assert.equal(info.Config.Labels["org.infernet.test"], RUN_ID);
      assert.ok(info.Config.Env.includes("INFERNET_SOCKET=/run/infernet/service.sock"));
      assert.ok(info.Config.Env.includes("GREETING=hi"));
      assert.ok(existsSync(socketPath));

      await expectOnchainEcho(rt);
      await expectOffchainEcho(rt);
      const t1 = performance.now();
      const n = 20;
      for (let i = 0; i < n; i++) await rt.call(onchainRequest(INPUT));
      const rtt = (performance.now() - t1) / n;
      console.log(`docker runtime: start ${startMs.toFixed(0)} ms, on-chain round trip ${rtt.toFixed(2)} ms`);
      assert.match(await rt.logs(), /hello: listening on unix:\/run\/infernet\/service.sock/);
    } finally {
      const t2 = performance.now();
      await rt.stop();
      console.log(`docker runtime: stop + remove ${(performance.now() - t2).toFixed(0)} ms`);
    }
    await assert.rejects(
      docker.getContainer(engineId).inspect(),
      (e: unknown) => (e as { statusCode?: number }).statusCode === 404,
    );
    assert.equal(existsSync(path.dirname(socketPath)), false);
  });

  it("network host: Ritual-style TCP on 127.0.0.1:<port>", async () => {
    const port = await freePort();
    await withRuntime(createRuntime(hello({ network: "host", port }), DOCKER_OPTS), async (rt) => {
      await expectOnchainEcho(rt);
    });
  });

  it("a container that exits at start → ContainerCrashedError with its logs, and it is removed", async () => {
    const rt = createRuntime(
      {
        id: "crasher",
        runtime: "docker",
        image: BUSYBOX_IMAGE,
        command: `sh -c "echo 'loading model'; echo 'boom: out of weights' >&2; exit 3"`,
      },
      DOCKER_OPTS,
    );
    await assert.rejects(rt.start(), (e: unknown) => {
      assert.ok(e instanceof ContainerCrashedError, String(e));
      assert.equal(e.exitCode, 3);
      // stdout and stderr are separate pipes: the engine does not keep their relative order.
      assert.match(e.logs, /loading model/);
      assert.match(e.logs, /boom: out of weights/);
      return true;
    });
    assert.match(await rt.logs(), /boom: out of weights/);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`org.infernet.test=${RUN_ID}`, "org.infernet.container-id=crasher"] },
    });
    assert.equal(left.length, 0);
  });

  it("stop() during start() ends the readiness wait and removes the container", async () => {
    const rt = createRuntime(
      { id: "sleeper", runtime: "docker", image: BUSYBOX_IMAGE, command: "sleep 60" },
      DOCKER_OPTS,
    );
    const starting = rt.start();
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    await rt.stop();
    assert.ok(performance.now() - t0 < 5000);
    await assert.rejects(starting, /stopped while starting/);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`org.infernet.test=${RUN_ID}`, "org.infernet.container-id=sleeper"] },
    });
    assert.equal(left.length, 0);
  });

  it("a container over its memory limit → ContainerCrashedError saying so", async () => {
    const rt = createRuntime(
      {
        id: "hog",
        runtime: "docker",
        image: BUSYBOX_IMAGE,
        memoryMb: 20,
        command: ["sh", "-c", 'echo allocating; x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo never'],
      },
      DOCKER_OPTS,
    );
    await assert.rejects(rt.start(), (e: unknown) => {
      assert.ok(e instanceof ContainerCrashedError, String(e));
      assert.equal(e.exitCode, 137);
      assert.match(e.logs, /allocating\n[\s\S]*out of memory \(limit 20 MiB/);
      return true;
    });
  });

  it("a container that dies during a call → ContainerCrashedError with its logs", async () => {
    const rt = createRuntime(
      hello({
        id: "dies",
        command: ["node", "-e", nodeServer(`console.error("dying on request");process.exit(7)`)],
      }),
      DOCKER_OPTS,
    );
    await withRuntime(rt, async () => {
      await assert.rejects(rt.call(onchainRequest(INPUT)), (e: unknown) => {
        assert.ok(e instanceof ContainerCrashedError, String(e));
        assert.equal(e.exitCode, 7);
        assert.match(e.logs, /dying on request/);
        return true;
      });
    });
  });

  it("a container slower than timeoutMs → ContainerTimeoutError", async () => {
    const rt = createRuntime(hello({ env: { HELLO_DELAY_MS: "5000" }, timeoutMs: 300 }), DOCKER_OPTS);
    await withRuntime(rt, async () => {
      const t0 = performance.now();
      await assert.rejects(
        rt.call(onchainRequest(INPUT)),
        (e: unknown) => e instanceof ContainerTimeoutError && e.phase === "call" && e.timeoutMs === 300,
      );
      assert.ok(performance.now() - t0 < 3000);
    });
  });

  it("gpu: true on a host without the NVIDIA runtime → GpuUnavailableError, nothing left behind", async () => {
    const rt = createRuntime(hello({ id: "gpu", gpu: true }), DOCKER_OPTS);
    await assert.rejects(rt.start(), (e: unknown) => {
      assert.ok(e instanceof GpuUnavailableError, String(e));
      assert.match(
        e.message,
        /this host has no NVIDIA runtime; set gpu: false or install nvidia-container-toolkit/,
      );
      return true;
    });
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`org.infernet.test=${RUN_ID}`, "org.infernet.container-id=gpu"] },
    });
    assert.equal(left.length, 0);
  });

  it("an unreachable DOCKER_HOST → DockerUnavailableError naming it; an image that cannot be pulled → ImagePullError", async () => {
    const host = "unix:///nonexistent.sock";
    const rt = createRuntime(hello(), { ...DOCKER_OPTS, dockerHost: host });
    await assert.rejects(rt.start(), (e: unknown) => {
      assert.ok(e instanceof DockerUnavailableError, String(e));
      assert.equal(e.dockerHost, host);
      assert.match(e.message, /DOCKER_HOST=unix:\/\/\/nonexistent\.sock/);
      assert.match(e.message, /npm run services/);
      return true;
    });
    await assert.rejects(checkDocker("x", host), DockerUnavailableError);

    const image = "registry.invalid/infernet/nope:1";
    const pull = createRuntime(hello({ id: "pull", image }), {
      ...DOCKER_OPTS,
      pullTimeoutMs: 20_000,
      registryAuth: { username: "u", password: "p", serveraddress: "registry.invalid" },
    });
    await assert.rejects(pull.start(), (e: unknown) => {
      assert.ok(e instanceof ImagePullError, String(e));
      assert.equal(e.image, image);
      assert.match(e.message, /not present locally and pulling it failed/);
      return true;
    });
  });
});
