import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/**
 * Arguments that run Hardhat's CLI with the Node binary running this process (`spawn(process.execPath, [...])`), so
 * a child chain never falls back to an older `node` found first on PATH (Hardhat 3 needs Node ≥ 22.13).
 */
export function hardhatCommand(): string[] {
  const pkg = require.resolve("hardhat/package.json");
  return [join(dirname(pkg), "dist", "src", "cli.js")];
}
