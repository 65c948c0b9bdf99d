import { cpus, loadavg } from "node:os";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { compile } from "../../control/compile/compile.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { authorize } from "../../workers/engine/authorize.ts";
import type { AuthzFacts } from "../../workers/engine/authz-facts.ts";
import { buildAuthzTable } from "../../workers/engine/authz-table.ts";
import { createJwksCache } from "../../workers/engine/jwks-cache.ts";
import { authenticateRequest, buildAuthnTable } from "../../workers/engine/request-authn.ts";
import { CASE_NAMES, policies } from "./authz-policies.ts";
import { percentile } from "./stats.ts";

/**
 * Authorization cost per request: the engine's decision at N AuthorizationPolicies (all applying to
 * the workload, the request matching none until the last so every rule is scanned), JWT
 * verification (ES256 and RS256, inline keys, so no network), and both together, as the sidecar
 * runs them. In-process, single thread; `µs` are wall time per call.
 */

export interface AuthzBenchRow {
  name: string;
  policies: number;
  /** Calls measured. */
  calls: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  /** Time to compile the resources and build the table, once per snapshot. */
  buildMs?: number;
}

export interface AuthzBenchResult {
  rows: AuthzBenchRow[];
  runtime: string;
}

const proxy: ProxyIdentity = {
  id: "sidecar~httpbin~bench",
  role: "sidecar",
  namespace: "bench",
  labels: { app: "httpbin" },
};
const ISSUER = "https://issuer.bench";

function time(calls: number, run: () => unknown): number[] {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    run();
    samples.push((performance.now() - start) * 1000);
  }
  return samples;
}

async function timeAsync(calls: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await run();
    samples.push((performance.now() - start) * 1000);
  }
  return samples;
}

function row(name: string, policiesCount: number, samples: number[], buildMs?: number): AuthzBenchRow {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return {
    name,
    policies: policiesCount,
    calls: samples.length,
    meanUs: mean,
    p50Us: percentile(samples, 50),
    p99Us: percentile(samples, 99),
    ...(buildMs === undefined ? {} : { buildMs }),
  };
}

async function signer(alg: "ES256" | "RS256") {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: alg, alg }] });
  const token = await new SignJWT({ groups: ["g"] })
    .setProtectedHeader({ alg, kid: alg })
    .setIssuer(ISSUER)
    .setSubject("alice")
    .setExpirationTime("1h")
    .sign(privateKey);
  return { jwks, token };
}

/**
 * Runs the authz benchmark at each policy count (default 10 and 1,000).
 *
 * @example
 * ```ts
 * const result = await measureAuthz({ sizes: [10, 1000], calls: 20_000 });
 * console.log(renderAuthzResults(result));
 * ```
 */
export async function measureAuthz(
  options: { sizes?: number[]; calls?: number } = {},
): Promise<AuthzBenchResult> {
  const sizes = options.sizes ?? [10, 1000];
  const calls = options.calls ?? 20_000;
  const rows: AuthzBenchRow[] = [];
  const request: AuthzFacts = {
    protocol: "http",
    host: "httpbin.bench:8000",
    method: "GET",
    path: "/api/v999999/x",
    headers: { "x-tenant": "tenant-x" },
    sourceIp: "10.1.2.3",
    destinationPort: 8000,
    peer: { principal: "cluster.local/ns/team-x/sa/client" },
  };
  // Shares the `/tenants/` template prefix of every glob-heavy policy, and nothing else.
  const tenantRequest: AuthzFacts = { ...request, path: "/tenants/7/orders/999999/x" };
  for (const kind of ["indexed", "scan", "globs", "conditions", "unindexed"] as const) {
    for (const size of sizes) {
      const started = performance.now();
      const { snapshot } = compile(policies(size, kind), proxy);
      const table = buildAuthzTable(snapshot.authz);
      const buildMs = performance.now() - started;
      const facts = kind === "globs" ? tenantRequest : request;
      if (authorize(table, facts).allowed) throw new Error("the benchmark request must match no policy");
      time(Math.min(calls, 2_000), () => authorize(table, facts)); // warm-up
      rows.push(
        row(
          CASE_NAMES[kind],
          size,
          time(calls, () => authorize(table, facts)),
          buildMs,
        ),
      );
      if (kind === "unindexed") {
        // The peer: the same table with each rule evaluated on its own (no per-request memo of shared terms).
        const alone = buildAuthzTable(snapshot.authz, { sharedTerms: false });
        time(Math.min(calls, 2_000), () => authorize(alone, facts));
        rows.push(
          row(
            `${CASE_NAMES[kind]}, shared terms off (peer)`,
            size,
            time(calls, () => authorize(alone, facts)),
          ),
        );
      }
      if (kind !== "globs") continue;
      // The peer: the same table without the rule index (every rule tried), as before the index existed.
      const scan = buildAuthzTable(snapshot.authz, { indexed: false });
      time(Math.min(calls, 2_000), () => authorize(scan, facts));
      rows.push(
        row(
          `${CASE_NAMES[kind]}, index off (peer)`,
          size,
          time(calls, () => authorize(scan, facts)),
        ),
      );
    }
  }
  for (const alg of ["ES256", "RS256"] as const) {
    const { jwks, token } = await signer(alg);
    const { snapshot } = compile(
      [
        {
          apiVersion: "security.istio.io/v1",
          kind: "RequestAuthentication",
          metadata: { name: "jwt", namespace: "bench" },
          spec: { jwtRules: [{ issuer: ISSUER, jwks }] },
        },
        ...policies(sizes[sizes.length - 1] ?? 0),
      ],
      proxy,
    );
    const authn = buildAuthnTable(snapshot.authz);
    const table = buildAuthzTable(snapshot.authz);
    const deps = {
      jwks: createJwksCache({ fetch: () => Promise.reject(new Error("offline")), now: Date.now }),
      now: Date.now,
    };
    const source = { headers: { authorization: `Bearer ${token}` }, path: "/api/x" };
    const jwtCalls = Math.max(200, Math.floor(calls / 10));
    await timeAsync(200, () => authenticateRequest(authn, source, deps)); // warm-up
    rows.push(
      row(
        `JWT verify (${alg}, inline JWKS)`,
        0,
        await timeAsync(jwtCalls, () => authenticateRequest(authn, source, deps)),
      ),
    );
    const both = await timeAsync(jwtCalls, async () => {
      const result = await authenticateRequest(authn, source, deps);
      if (result.kind !== "authenticated") throw new Error("token must verify");
      return authorize(table, { ...request, request: result.identity });
    });
    rows.push(row(`JWT verify (${alg}) + decision`, snapshot.authz?.policies.length ?? 0, both));
  }
  // The machine is shared: the 1-minute load average says how much the figures are inflated.
  return {
    rows,
    runtime: `Node ${process.version}, load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores`,
  };
}

/** The markdown section for test/bench/RESULTS.md. */
export function renderAuthzResults(result: AuthzBenchResult): string {
  const us = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  return [
    "## Authorization and JWT verification",
    "",
    `Per-request cost in the engine (${result.runtime}, one thread, in process). Policies all apply to the`,
    "workload and the request matches none of them, so the decision is a full deny-by-default search. The",
    "rule index tries only rules whose key fits the request: one dimension per rule (peer principal or",
    "namespace, host, path, a `when` header/claim value, `ipBlocks`/`remoteIpBlocks`, or methods as a last",
    "resort), exact values in maps, prefixes and suffixes in character tries, `{*}`/`{**}` templates in a",
    'segment trie, CIDR blocks in bit tries. "index off (peer)" is the same table trying every rule; the',
    "unindexable case is the limit (no key to narrow by). Rule terms (`from`, `to`, each `when`) shared by",
    "several rules are evaluated once per request and tried first, so a failing shared term rejects its",
    'rules with one array read; "shared terms off (peer)" evaluates each rule on its own.',

    "Goal: decision ≤ 50 µs at 1,000 policies.",
    "",
    "| case | policies | calls | mean | p50 | p99 | compile + table |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...result.rows.map(
      (r) =>
        `| ${r.name} | ${r.policies} | ${r.calls} | ${us(r.meanUs)} µs | ${us(r.p50Us)} µs | ${us(r.p99Us)} µs | ${r.buildMs === undefined ? "" : `${r.buildMs.toFixed(0)} ms`} |`,
    ),
    "",
  ].join("\n");
}
