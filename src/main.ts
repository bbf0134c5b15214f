#!/usr/bin/env bun
/** Entry point: hands argv to the CLI and exits with its status. */
import { main } from "./cli/index.ts";

const code = await main(process.argv.slice(2));
process.exit(code);
