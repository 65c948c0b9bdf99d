import { type CommandSpec, flagOption, type OptionValues, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";

/**
 * `jibe up` (what `npm start` runs): the whole local mesh, implemented in `control/local-mesh/up.ts`.
 * Loaded lazily so the other commands never pay for it; it handles Ctrl-C itself.
 */
export const upCommand: CommandSpec = {
  name: "up",
  summary:
    "start the local mesh: nats-server, control plane, bookinfo behind sidecars, ingress gateway, edge worker",
  options: [
    { flags: "--admin-port <port>", description: "admin API port (env JIBE_ADMIN_PORT, default 15000)" },
    { flags: "--edge-port <port>", description: "edge worker port (env JIBE_EDGE_PORT, default 8787)" },
    {
      flags: "--gateway-port <port>",
      description: "ingress gateway port (env JIBE_GATEWAY_PORT, default 8080)",
    },
    { flags: "--no-edge", description: "do not start the edge worker" },
    { flags: "--no-gateway", description: "do not start the Node ingress gateway" },
  ],
  examples: ["npm start", "npx jibe up --edge-port 8080"],
  async run(_ctx, _args, options) {
    const { runUp } = await import("../../local-mesh/up.ts");
    await runUp({
      ...portOption(options, "adminPort"),
      ...portOption(options, "edgePort"),
      ...portOption(options, "gatewayPort"),
      ...(flagOption(options, "edge") ? {} : { edge: false }),
      ...(flagOption(options, "gateway") ? {} : { gateway: false }),
    });
    return 0;
  },
};

function portOption(
  options: OptionValues,
  name: "adminPort" | "edgePort" | "gatewayPort",
): { adminPort?: number; edgePort?: number; gatewayPort?: number } {
  const value = stringOption(options, name);
  if (value === undefined) return {};
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError("usage", `--${name.replace("Port", "")}-port ${value}: expected a port number`);
  }
  return { [name]: port };
}
