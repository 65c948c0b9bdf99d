import { type CommandSpec, flagOption, type OptionValues, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";

/**
 * `jibe up` (what `npm start` runs): the whole local mesh, implemented in `control/local-mesh/up.ts`.
 * Loaded lazily so the other commands never pay for it; it handles Ctrl-C itself.
 */
export const upCommand: CommandSpec = {
  name: "up",
  summary: "start the local mesh: nats-server, control plane, bookinfo behind sidecars, edge worker",
  options: [
    { flags: "--admin-port <port>", description: "admin API port (env JIBE_ADMIN_PORT, default 15000)" },
    { flags: "--edge-port <port>", description: "edge worker port (env JIBE_EDGE_PORT, default 8787)" },
    { flags: "--no-edge", description: "do not start the edge worker" },
  ],
  examples: ["npm start", "npx jibe up --edge-port 8080"],
  async run(_ctx, _args, options) {
    const { runUp } = await import("../../local-mesh/up.ts");
    await runUp({
      ...portOption(options, "adminPort"),
      ...portOption(options, "edgePort"),
      ...(flagOption(options, "edge") ? {} : { edge: false }),
    });
    return 0;
  },
};

function portOption(
  options: OptionValues,
  name: "adminPort" | "edgePort",
): { adminPort?: number; edgePort?: number } {
  const value = stringOption(options, name);
  if (value === undefined) return {};
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(
      "usage",
      `--${name === "adminPort" ? "admin" : "edge"}-port ${value}: expected a port number`,
    );
  }
  return { [name]: port };
}
