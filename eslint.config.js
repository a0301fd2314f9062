// ESLint 9 flat config: typescript-eslint "recommended" (no type-aware rules, so it stays fast and needs no
// tsconfig project wiring) plus a few correctness rules. Formatting is prettier's job (`prettier --check .`).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

// Node globals for plain .js/.mjs/.cjs files (TS files get these from @types/node; no-undef is off for TS).
const nodeGlobals = Object.fromEntries(
  [
    "process",
    "console",
    "Buffer",
    "URL",
    "URLSearchParams",
    "TextEncoder",
    "TextDecoder",
    "AbortController",
    "AbortSignal",
    "fetch",
    "setTimeout",
    "clearTimeout",
    "setInterval",
    "clearInterval",
    "setImmediate",
    "clearImmediate",
    "queueMicrotask",
    "structuredClone",
    "globalThis",
  ].map((name) => [name, "readonly"]),
);

export default defineConfig(
  {
    ignores: [
      "**/node_modules/**",
      "artifacts/**",
      "cache/**",
      "types/**",
      "sdk/dist/**",
      "bench/out/**",
      "out/**",
      "coverage/**",
      ".ci-state/**",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: nodeGlobals,
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error",
    },
    rules: {
      // `_`-prefixed names are intentionally unused (callback params, destructuring rests).
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      // Visible but not blocking: ABI/RPC plumbing sometimes needs it.
      "@typescript-eslint/no-explicit-any": "warn",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
      "no-throw-literal": "error",
    },
  },
);
