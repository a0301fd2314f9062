// `infernet-node keys create|list|revoke --config <file>`: the operator manages the API keys in the node's store
// (store.path), whether the node is running or not (SQLite handles the concurrent access).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/schema.ts";
import { Store } from "../store/sqlite.ts";
import { ApiKeyError, createApiKey, listApiKeys, revokeApiKey } from "./keys.ts";

export interface KeysCommand {
  /** create, list or revoke. */
  action: string;
  /** revoke: the key id (or the whole key). */
  args: string[];
  name?: string | undefined;
  rateLimit?: string | undefined;
  json: boolean;
}

export interface KeysIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Thrown for a usage mistake (the CLI prints it with the usage hint, exit 2). */
export class KeysUsageError extends Error {
  override readonly name = "KeysUsageError";
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

/** Runs the command; resolves with the exit code. */
export function runKeysCommand(command: KeysCommand, config: Config, io: KeysIo): number {
  const { action, args } = command;
  if (!["create", "list", "revoke"].includes(action)) {
    throw new KeysUsageError(`unknown keys command: ${action || "(none)"} (use create, list or revoke)`);
  }
  if (action === "revoke" ? args.length !== 1 : args.length !== 0) {
    throw new KeysUsageError(
      action === "revoke" ? "keys revoke takes one key id" : `keys ${action} takes no arguments`,
    );
  }
  let rateLimit: number | undefined;
  if (command.rateLimit !== undefined) {
    if (action !== "create") throw new KeysUsageError("--rate-limit only goes with keys create");
    rateLimit = Number(command.rateLimit);
    if (!/^[1-9][0-9]*$/.test(command.rateLimit) || !Number.isSafeInteger(rateLimit)) {
      throw new KeysUsageError("--rate-limit: a whole number of requests per api.rateLimit.windowMs");
    }
  }
  if (command.name !== undefined && action !== "create")
    throw new KeysUsageError("--name only goes with keys create");

  mkdirSync(dirname(config.store.path), { recursive: true });
  const store = new Store(config.store.path);
  try {
    if (action === "create") {
      let created;
      try {
        created = createApiKey(store, {
          ...(command.name !== undefined ? { name: command.name } : {}),
          ...(rateLimit !== undefined ? { rateLimit } : {}),
        });
      } catch (err) {
        if (err instanceof ApiKeyError) throw new KeysUsageError(err.message);
        throw err;
      }
      if (command.json) io.stdout(`${JSON.stringify(created)}\n`);
      else {
        io.stderr(
          `API key ${created.id}${created.name ? ` (${created.name})` : ""} created. It is shown only now: store it.\n`,
        );
        io.stdout(`${created.key}\n`);
      }
      return 0;
    }
    if (action === "list") {
      const keys = listApiKeys(store);
      if (command.json) io.stdout(`${JSON.stringify(keys)}\n`);
      else {
        const rows = [["id", "name", "rate limit", "created", "revoked"]];
        for (const k of keys) {
          rows.push([
            k.id,
            k.name || "-",
            k.rateLimit === null ? "default" : String(k.rateLimit),
            iso(k.createdAt),
            iso(k.revokedAt),
          ]);
        }
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        io.stdout(
          rows
            .map((r) =>
              r
                .map((c, i) => c.padEnd(widths[i]!))
                .join("  ")
                .trimEnd(),
            )
            .join("\n") + "\n",
        );
      }
      return 0;
    }
    const id = args[0]!;
    if (!revokeApiKey(store, id)) {
      io.stderr(`infernet-node: no active API key ${id}\n`);
      return 1;
    }
    if (command.json) io.stdout(`${JSON.stringify({ revoked: id })}\n`);
    else io.stdout(`revoked ${id}\n`);
    return 0;
  } finally {
    store.close();
  }
}
