export { ConfigError, type ConfigProblem } from "./errors.ts";
export {
  ENV_PREFIX,
  PRIVATE_KEY,
  applyEnvOverrides,
  loadConfig,
  loadWalletKey,
  type LoadConfigOptions,
} from "./load.ts";
export { REDACTED, redactConfig, redactUrl } from "./redact.ts";
export {
  LOG_LEVELS,
  ROLES,
  configSchema,
  type ChainConfig,
  type Config,
  type ConfigInput,
  type ContainerConfig,
  type Contracts,
  type LogLevel,
  type ParsedConfig,
  type Role,
  type WalletConfig,
} from "./schema.ts";
