#!/usr/bin/env node
// The `jibe` CLI entry point; everything else lives in run-cli.ts and commands/.
import { nodeIo } from "./node-io.ts";
import { runCli } from "./run-cli.ts";

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
