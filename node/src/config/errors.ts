import type { z } from "zod";

/** One problem in a configuration: the dotted key it concerns and why it is wrong. */
export interface ConfigProblem {
  /** Dotted path of the offending key, e.g. `chain.rpcUrl` or `containers.0.image`; the file path for file-level errors. */
  key: string;
  /** Why it is wrong, e.g. `required`, `expected number, got string`, `unknown key`. */
  reason: string;
}

/**
 * A configuration the node refuses. `message` is one line naming the key (`config: chain.rpcUrl: required`);
 * `problems` lists every problem found (the first is the one in `message`).
 */
export class ConfigError extends Error {
  readonly key: string;
  readonly reason: string;
  readonly problems: readonly ConfigProblem[];

  constructor(key: string, reason: string, problems?: readonly ConfigProblem[]) {
    super(`config: ${key}: ${reason}`);
    this.name = "ConfigError";
    this.key = key;
    this.reason = reason;
    this.problems = problems && problems.length > 0 ? problems : [{ key, reason }];
  }

  /** One line per problem, in the same format as `message`. */
  lines(): string[] {
    return this.problems.map((p) => `config: ${p.key}: ${p.reason}`);
  }
}

/** Dotted form of a zod path: `["containers", 0, "image"]` → `containers.0.image`. */
export function dottedPath(path: readonly PropertyKey[]): string {
  return path.map((segment) => String(segment)).join(".");
}

/** The JSON type name of a value, as used in `expected X, got Y`. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isNaN(value)) return "NaN";
  return typeof value;
}

function describeValue(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) return typeName(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function expectedName(expected: string): string {
  switch (expected) {
    case "int":
      return "integer";
    case "record":
    case "object":
      return "object";
    default:
      return expected;
  }
}

function sizeOf(origin: string): string {
  switch (origin) {
    case "string":
      return "characters";
    case "array":
    case "set":
      return "items";
    default:
      return "";
  }
}

/** Maps one zod issue to problems (an `unrecognized_keys` issue yields one problem per unknown key). */
export function problemsFromIssue(issue: z.core.$ZodIssue): ConfigProblem[] {
  const key = dottedPath(issue.path);
  const join = (k: string): string => (key === "" ? k : `${key}.${k}`);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ key: join(k), reason: "unknown key" }));
    case "invalid_type": {
      if (input === undefined) return [{ key, reason: "required" }];
      const expected = expectedName(issue.expected);
      if (expected === "integer" && typeof input === "number") {
        return [{ key, reason: `expected integer, got ${describeValue(input)}` }];
      }
      return [{ key, reason: `expected ${expected}, got ${typeName(input)}` }];
    }
    case "invalid_value":
      return [
        {
          key,
          reason: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}, got ${describeValue(input)}`,
        },
      ];
    case "too_small": {
      const unit = sizeOf(issue.origin);
      if (unit !== "") {
        return [{ key, reason: `must have at least ${String(issue.minimum)} ${unit}` }];
      }
      return [{ key, reason: `must be ${issue.inclusive ? ">=" : ">"} ${String(issue.minimum)}` }];
    }
    case "too_big": {
      const unit = sizeOf(issue.origin);
      if (unit !== "") {
        return [{ key, reason: `must have at most ${String(issue.maximum)} ${unit}` }];
      }
      return [{ key, reason: `must be ${issue.inclusive ? "<=" : "<"} ${String(issue.maximum)}` }];
    }
    case "invalid_union":
      return [{ key, reason: `invalid value ${describeValue(input)}` }];
    case "invalid_key":
      return [{ key, reason: `invalid key ${describeValue(input)}` }];
    case "invalid_element":
      return [{ key, reason: `invalid element ${describeValue(input)}` }];
    case "invalid_format": {
      // Schema-supplied messages ("expected a 0x-prefixed 20-byte hex address") read better than zod's defaults.
      const custom = issue.message !== "" && !issue.message.startsWith("Invalid");
      const expected = custom ? issue.message : `expected ${issue.format}`;
      return [{ key, reason: `${expected}, got ${describeValue(input)}` }];
    }
    case "not_multiple_of":
      return [{ key, reason: `must be a multiple of ${String(issue.divisor)}` }];
    case "custom":
    default:
      return [{ key, reason: issue.message }];
  }
}

/** A ConfigError from zod's issues: the message names the first problem, `problems` holds all of them. */
export function configErrorFromIssues(issues: readonly z.core.$ZodIssue[]): ConfigError {
  const problems = issues.flatMap(problemsFromIssue);
  const first = problems[0] ?? { key: "(config)", reason: "invalid" };
  return new ConfigError(first.key, first.reason, problems);
}
