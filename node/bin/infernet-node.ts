#!/usr/bin/env node
// infernet-node: see node/src/cli.ts (`infernet-node --help`).
import { main } from "../src/cli.ts";

const code = await main(process.argv.slice(2));
// Exit once both streams have drained, so a component that leaves a handle open cannot keep a stopped node alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
