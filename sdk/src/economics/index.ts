export * from "./errors.ts";
export * from "./rational.ts";
export * from "./hypergeometric.ts";
export * from "./cumulative.ts";
export * from "./bond.ts";
export * from "./table.ts";
