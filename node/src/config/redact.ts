import type { Config } from "./schema.ts";

export const REDACTED = "[redacted]";

/** Env entries whose name suggests a secret have their value redacted. */
const SECRET_NAME = /(key|token|secret|pass|auth|credential|bearer|cookie|session)/i;
/** A URL path segment or query value that looks like an API key (Infura /v3/<key>, Alchemy /v2/<key>). */
const KEY_LIKE = /^[A-Za-z0-9_-]{16,}$/;

/** A URL with its password, key-like path segments and query values replaced by [redacted]. */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return REDACTED;
  }
  if (url.password === "" && url.search === "" && !url.pathname.split("/").some((s) => KEY_LIKE.test(s))) {
    return value;
  }
  const auth = url.username === "" ? "" : `${url.username}${url.password === "" ? "" : `:${REDACTED}`}@`;
  const path = url.pathname
    .split("/")
    .map((segment) => (KEY_LIKE.test(segment) ? REDACTED : segment))
    .join("/");
  const query = [...url.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join("&");
  return `${url.protocol}//${auth}${url.host}${path}${query === "" ? "" : `?${query}`}`;
}

/**
 * A deep copy of the config safe to print or log: secrets (Redis and registry passwords, bearer tokens,
 * secret-looking container env values) and the key-bearing parts of RPC URLs are replaced by [redacted].
 * The wallet key itself is never in the config (only the path or variable name that holds it).
 */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  copy.chain.rpcUrl = redactUrl(copy.chain.rpcUrl);
  if (copy.chain.wsUrl !== undefined) copy.chain.wsUrl = redactUrl(copy.chain.wsUrl);
  if (copy.queue.redis.password !== undefined) copy.queue.redis.password = REDACTED;
  if (copy.docker.registryAuth !== undefined) copy.docker.registryAuth.password = REDACTED;
  for (const c of copy.containers) {
    if (c.bearer !== undefined) c.bearer = REDACTED;
    if (c.url !== undefined) c.url = redactUrl(c.url);
    for (const name of Object.keys(c.env ?? {})) {
      if (c.env !== undefined && SECRET_NAME.test(name)) c.env[name] = REDACTED;
    }
    for (const name of Object.keys(c.build?.args ?? {})) {
      if (c.build?.args !== undefined && SECRET_NAME.test(name)) c.build.args[name] = REDACTED;
    }
  }
  return copy;
}
