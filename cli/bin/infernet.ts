#!/usr/bin/env node
// infernet: see cli/src/main.ts (`infernet --help`).
import { main } from "../src/main.ts";

const code = await main(process.argv.slice(2));
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
