import type { AuthzCheckBody } from "../../admin/authz-check.ts";
import { formatAuthzCheck } from "../authz-output.ts";
import { authzStatsRows, formatAuthzStats } from "../authz-stats.ts";
import {
  type CommandSpec,
  flagOption,
  listOption,
  NAMESPACE_OPTION,
  type OptionValues,
  stringOption,
} from "../command.ts";
import { CliError } from "../errors.ts";
import { selectWorkloads } from "../mesh-tls-report.ts";

/** Exit code of `jibe authz check` when the request would be denied (403 or 401). */
export const DENIED_EXIT_CODE = 3;

/**
 * `jibe authz check`: "may A call B with this request?", answered by the control plane from the current
 * policy compiled for workload B, naming the policy and rule that decided. Exit 0 allow, 3 deny.
 * `jibe authz stats [workload]`: per proxy and policy, the decisions the running proxies counted
 * (allowed, denied, dry-run shadow allowed/denied, audited), from their reports to the control plane.
 */
export const authzCommand: CommandSpec = {
  name: "authz",
  summary:
    "authorization tools: `check` asks whether a request would be allowed (exit 0) or denied (exit 3); `stats` shows each proxy's decisions per policy",
  arguments: [
    { name: "action", required: true, description: "check | stats" },
    {
      name: "workload",
      required: false,
      description: "stats: only this workload (proxy id, app label value, or labels)",
    },
  ],
  options: [
    {
      flags: "--to-workload <labels>",
      description: "labels of the called workload, e.g. app=reviews,version=v1",
    },
    {
      ...NAMESPACE_OPTION,
      description: "namespace of the called workload (check) or of the workload (stats)",
    },
    {
      flags: "--from-principal <spiffe-id>",
      description:
        "peer identity of the caller (mTLS), e.g. spiffe://cluster.local/ns/default/sa/sleep; omit for a plaintext caller",
    },
    { flags: "--from-ip <address>", description: "caller address (source.ip, ipBlocks)" },
    { flags: "--method <method>", description: "HTTP method", default: "GET" },
    { flags: "--path <path>", description: "request path (query string allowed)", default: "/" },
    { flags: "--host <host>", description: "Host / :authority of the request" },
    { flags: "--port <port>", description: "workload port (destination.port, to.operation.ports)" },
    { flags: "--header <name=value>", description: "a request header; repeatable", repeatable: true },
    { flags: "--jwt <token>", description: "a JWT, verified against the workload's RequestAuthentication" },
    {
      flags: "--claims <json>",
      description: 'claims of an already-verified JWT, e.g. \'{"iss":"a","sub":"b"}\'',
    },
    { flags: "--tcp", description: "a plain TCP connection instead of an HTTP request" },
    {
      flags: "-o, --output <format>",
      description: "output format",
      default: "text",
      choices: ["text", "json"],
    },
  ],
  examples: [
    "jibe authz check --to-workload app=reviews,version=v1 --from-principal spiffe://cluster.local/ns/default/sa/sleep --method GET --path /reviews/0",
    "jibe authz check --to-workload app=httpbin -n foo --jwt $TOKEN --path /headers",
    "jibe authz stats",
    "jibe authz stats reviews -o json",
  ],
  async run(ctx, [action, workload], options) {
    if (action === "stats") {
      const reports = await (await ctx.client()).proxies();
      const selected =
        workload === undefined
          ? reports
          : selectWorkloads(reports, workload, stringOption(options, "namespace") ?? "default");
      const rows = authzStatsRows(selected);
      ctx.io.stdout.write(
        stringOption(options, "output") === "json"
          ? `${JSON.stringify(rows, null, 2)}\n`
          : formatAuthzStats(rows),
      );
      return 0;
    }
    if (action !== "check")
      throw new CliError(
        "usage",
        `unknown authz action "${action}"; use: jibe authz check ... or jibe authz stats [workload]`,
      );
    if (workload !== undefined)
      throw new CliError(
        "usage",
        `jibe authz check takes no workload argument; use --to-workload ${workload}`,
      );
    const result = await (await ctx.client()).authzCheck(checkBody(options));
    ctx.io.stdout.write(
      stringOption(options, "output") === "json"
        ? `${JSON.stringify(result, null, 2)}\n`
        : formatAuthzCheck(result),
    );
    return result.allowed ? 0 : DENIED_EXIT_CODE;
  },
};

function checkBody(options: OptionValues): AuthzCheckBody {
  const workload = stringOption(options, "toWorkload");
  if (!workload)
    throw new CliError("usage", "--to-workload is required, e.g. --to-workload app=reviews,version=v1");
  const jwt = stringOption(options, "jwt");
  const claims = stringOption(options, "claims");
  if (jwt !== undefined && claims !== undefined)
    throw new CliError("usage", "give --jwt (verified) or --claims (taken as verified), not both");
  const principal = stringOption(options, "fromPrincipal");
  const ip = stringOption(options, "fromIp");
  const host = stringOption(options, "host");
  const port = stringOption(options, "port");
  const body: AuthzCheckBody = {
    target: {
      namespace: stringOption(options, "namespace") ?? "default",
      labels: pairs(workload.split(","), "--to-workload", "app=reviews"),
    },
    source: { ...(principal ? { principal } : {}), ...(ip ? { ip } : {}) },
    request: {
      protocol: flagOption(options, "tcp") ? "tcp" : "http",
      method: stringOption(options, "method") ?? "GET",
      path: stringOption(options, "path") ?? "/",
      headers: pairs(listOption(options, "header"), "--header", "x-user=alice"),
      ...(host ? { host } : {}),
      ...(port !== undefined ? { port: portNumber(port) } : {}),
    },
  };
  if (jwt !== undefined) body.jwt = jwt;
  if (claims !== undefined) body.claims = claimsObject(claims);
  return body;
}

function pairs(items: readonly string[], flag: string, example: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0)
      throw new CliError("usage", `${flag} "${item}" is not name=value; write e.g. ${flag} ${example}`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

function portNumber(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new CliError("usage", `--port "${text}" is not a port number (1-65535)`);
  return port;
}

function claimsObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      "usage",
      `--claims is not JSON (${(error as Error).message}); write e.g. --claims '{"iss":"a","sub":"b"}'`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CliError("usage", `--claims must be a JSON object of claims, e.g. '{"iss":"a","sub":"b"}'`);
  return value as Record<string, unknown>;
}
