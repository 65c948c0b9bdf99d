import { type CommandSpec, stringOption } from "../command.ts";
import { formatProxyStatusDetail, formatProxyStatuses } from "../proxy-status-output.ts";

/**
 * `jibe proxy-status [proxy-id]`: per proxy (sidecars, gateways), the config revision and snapshot
 * hash it applied against the latest the control plane compiles for it: SYNCED, STALE, NOT SENT,
 * UNKNOWN (proxy predates the report field) or NOT REPORTING (seen before, silent now).
 */
export const proxyStatusCommand: CommandSpec = {
  name: "proxy-status",
  summary:
    "whether each proxy runs the latest config: SYNCED, STALE, NOT SENT, UNKNOWN or NOT REPORTING, with the last report's age",
  arguments: [
    {
      name: "proxy",
      required: false,
      description: "a proxy id (e.g. sidecar~reviews-v1~default): its detail and what changed since",
    },
  ],
  options: [
    {
      flags: "-o, --output <format>",
      description: "output format",
      default: "table",
      choices: ["table", "json"],
    },
  ],
  examples: [
    "jibe proxy-status",
    "jibe proxy-status sidecar~reviews-v1~default",
    "jibe proxy-status -o json",
  ],
  async run(ctx, [proxy], options) {
    const client = await ctx.client();
    const json = stringOption(options, "output") === "json";
    if (proxy !== undefined) {
      const detail = await client.proxyStatusOf(proxy);
      ctx.io.stdout.write(json ? `${JSON.stringify(detail, null, 2)}\n` : formatProxyStatusDetail(detail));
      return 0;
    }
    const rows = await client.proxyStatus();
    ctx.io.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : formatProxyStatuses(rows));
    return 0;
  },
};
