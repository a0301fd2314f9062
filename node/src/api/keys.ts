// API keys: `inet_<id>_<secret>`, id = 16 hex digits (public: jobs are owned by it, logs name it), secret = 32 random
// bytes in base64url. Only sha256(secret) is stored (table api_keys); the key itself is shown once, at creation.
// Verification looks the id up and compares the hashes in constant time. A revoked key fails at once (no cache).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Store } from "../store/sqlite.ts";

const KEY = /^inet_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** Requests per rate-limit window for this key (null: the configured api.rateLimit.max). */
  rateLimit: number | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The key to hand to the client; not stored, not shown again. */
  key: string;
}

/** Who a request acts for. */
export interface Principal {
  /** API key id, or "anonymous" when keys are not required and none was given. */
  id: string;
  rateLimit: number | null;
}

export class ApiKeyError extends Error {
  override readonly name = "ApiKeyError";
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

interface KeyRow {
  id: string;
  name: string;
  secret_hash: string;
  rate_limit: number | null;
  created_at: number;
  revoked_at: number | null;
}

function info(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    rateLimit: row.rate_limit === null ? null : Number(row.rate_limit),
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export function createApiKey(
  store: Store,
  options: { name?: string; rateLimit?: number } = {},
): CreatedApiKey {
  const name = options.name ?? "";
  if (name.length > 200) throw new ApiKeyError("key name: at most 200 characters");
  const rateLimit = options.rateLimit ?? null;
  if (rateLimit !== null && (!Number.isSafeInteger(rateLimit) || rateLimit < 1)) {
    throw new ApiKeyError("rate limit: an integer >= 1 (requests per window)");
  }
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const createdAt = store.now();
  store
    .statement("INSERT INTO api_keys (id, name, secret_hash, rate_limit, created_at) VALUES (?, ?, ?, ?, ?)")
    .run(id, name, sha256(secret).toString("hex"), rateLimit, createdAt);
  return { id, name, rateLimit, createdAt, revokedAt: null, key: `inet_${id}_${secret}` };
}

export function listApiKeys(store: Store): ApiKeyInfo[] {
  return (
    store
      .statement(
        "SELECT id, name, secret_hash, rate_limit, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
      )
      .all() as unknown as KeyRow[]
  ).map(info);
}

/** Revokes a key by id (or by the whole key). Returns false when there is no such active key. */
export function revokeApiKey(store: Store, idOrKey: string): boolean {
  const id = KEY.exec(idOrKey)?.[1] ?? idOrKey;
  const changes = store
    .statement("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
    .run(store.now(), id).changes;
  return Number(changes) === 1;
}

/** The principal of a presented key, or undefined when it is malformed, unknown or revoked. */
export function verifyApiKey(store: Store, presented: string): Principal | undefined {
  const match = KEY.exec(presented);
  if (!match) return undefined;
  const [, id, secret] = match as unknown as [string, string, string];
  const row = store
    .statement("SELECT id, name, secret_hash, rate_limit, created_at, revoked_at FROM api_keys WHERE id = ?")
    .get(id) as KeyRow | undefined;
  // Hash even for unknown ids, so timing does not tell unknown ids from wrong secrets.
  const presentedHash = sha256(secret);
  const storedHash = row ? Buffer.from(row.secret_hash, "hex") : Buffer.alloc(32);
  const equal = storedHash.length === 32 && timingSafeEqual(presentedHash, storedHash);
  if (!row || !equal || row.revoked_at !== null) return undefined;
  return { id: row.id, rateLimit: row.rate_limit === null ? null : Number(row.rate_limit) };
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = headers["x-api-key"];
  return typeof x === "string" && x.length > 0 ? x.trim() : undefined;
}
