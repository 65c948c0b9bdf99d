import type { CaStatus } from "../../../identity/ca-admin.ts";
import { parseDurationMs } from "../../model/duration.ts";
import { type CommandSpec, flagOption, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";

/**
 * `jibe ca status`: the roots of the trust bundle (subject, serial, not-after) and the signing
 * intermediate. `jibe ca rotate`: a new root trusted beside the old, then (after `--settle`) the new
 * intermediate signs; `jibe ca rotate --finish`, once every workload renewed: only the new root.
 */
export const caCommand: CommandSpec = {
  name: "ca",
  summary:
    "the mesh CA: `status` lists the trusted roots; `rotate` starts a root rotation, `rotate --finish` ends it",
  arguments: [{ name: "action", required: true, description: "status | rotate" }],
  options: [
    {
      flags: "--finish",
      description: "rotate: end the rotation, trust only the new root (after every workload renewed)",
    },
    {
      flags: "--settle <duration>",
      description: "rotate: wait between trusting the new root and signing with it (proxies get the bundle)",
      default: "5s",
    },
    {
      flags: "-o, --output <format>",
      description: "output format",
      default: "table",
      choices: ["table", "json"],
    },
  ],
  examples: ["jibe ca status", "jibe ca rotate", "jibe ca rotate --finish"],
  async run(ctx, [action], options) {
    const client = await ctx.client();
    let status: CaStatus;
    if (action === "status") status = await client.caStatus();
    else if (action === "rotate" && flagOption(options, "finish")) status = await client.caFinishRotation();
    else if (action === "rotate") {
      const settle = stringOption(options, "settle") ?? "5s";
      const ms = parseDurationMs(settle);
      if (ms === undefined || ms > 3_600_000)
        throw new CliError("usage", `--settle ${settle}: give a duration up to 1h, e.g. 5s or 1m`);
      status = await client.caRotate({ settleSeconds: ms / 1000 });
    } else throw new CliError("usage", `unknown ca action "${action}"; use: jibe ca status | jibe ca rotate`);
    ctx.io.stdout.write(
      stringOption(options, "output") === "json"
        ? `${JSON.stringify(status, null, 2)}\n`
        : formatCaStatus(status),
    );
    return 0;
  },
};

/**
 * The text of `jibe ca status`: one line per trusted root, then the signing intermediate and what to
 * do next during a rotation.
 *
 * @example
 * ```ts
 * formatCaStatus(await client.caStatus());
 * ```
 */
export function formatCaStatus(status: CaStatus): string {
  const rows = [
    ["ROOT SERIAL", "SUBJECT", "NOT AFTER", "SIGNING"],
    ...status.roots.map((root) => [root.serial, root.subject, root.notAfter, root.signing ? "yes" : "no"]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const table = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  const next =
    status.phase === "overlap"
      ? "rotation under way: both roots trusted; run `jibe ca rotate --finish` once every workload renewed"
      : "no rotation under way";
  return [
    `trust domain ${status.trustDomain}, ${status.source} CA in ${status.dir}`,
    ...table,
    `signing intermediate ${status.signing.serial}, not after ${status.signing.notAfter}`,
    next,
    "",
  ].join("\n");
}
