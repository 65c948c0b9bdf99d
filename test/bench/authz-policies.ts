import type { StoredResource } from "../../broker/events.ts";

/**
 * The AuthorizationPolicy sets of the authz benchmarks (Node engine and edge worker), namespace
 * `bench`. Pure, so the edge benchmark worker bundles it too.
 */

/** How the benchmark's policies name callers and operations. */
export type PolicyKind = "indexed" | "scan" | "globs" | "conditions" | "unindexed";

/**
 * `indexed`: rules name exact principals / hosts (typical service-to-service policy). `scan`:
 * suffix globs (`*team-i/sa/client`, `*svc-i.example.com`). `globs`: glob-heavy: principal
 * prefixes and suffixes, host globs, paths with `prefix*`, `*suffix`, `{*}` and `{**}` templates,
 * every policy sharing the `/tenants/` template prefix the request also has. `conditions`: rules
 * keyed by `when` header and claim values, with `*` (presence) principals. `unindexed`: rules on
 * `*`, not* forms and the request's own method only, which no index narrows: every GET rule is
 * evaluated (the limit).
 */
export function policies(
  count: number,
  kind: PolicyKind = "indexed",
  selector: Record<string, string> | undefined = { app: "httpbin" },
): StoredResource[] {
  const out: StoredResource[] = [];
  for (let i = 0; i < count; i++) {
    const action = i % 10 === 0 ? "DENY" : "ALLOW";
    out.push({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: `p-${String(i).padStart(4, "0")}`, namespace: "bench" },
      spec: { action, ...(selector ? { selector: { matchLabels: selector } } : {}), rules: rulesOf(i, kind) },
    });
  }
  return out;
}

function rulesOf(i: number, kind: PolicyKind): unknown[] {
  const when = [{ key: "request.headers[x-tenant]", values: [`tenant-${i}`] }];
  if (kind === "conditions")
    return [
      {
        from: [{ source: { principals: ["*"], notIpBlocks: ["192.0.2.0/24"] } }],
        to: [{ operation: { methods: ["GET", "POST"], notPaths: ["/health"] } }],
        when,
      },
      {
        to: [{ operation: { methods: ["DELETE"] } }],
        when: [{ key: "request.auth.claims[team]", values: [`t-${i}`] }],
      },
    ];
  if (kind === "unindexed")
    return [
      {
        from: [{ source: { principals: ["*"], notIpBlocks: [`192.0.${i >> 8}.${i & 255}/32`] } }],
        to: [{ operation: { methods: ["GET", "POST"], notPaths: ["/health"] } }],
        when: [{ key: "request.headers[x-tenant]", notValues: ["tenant-x"] }],
      },
      { to: [{ operation: { methods: ["DELETE"] } }] },
    ];
  if (kind === "globs")
    return [
      {
        from: [{ source: { principals: [`cluster.local/ns/team-${i}/*`, `*/sa/client-${i}`] } }],
        to: [
          {
            operation: {
              methods: ["GET", "POST"],
              paths: [`/api/v${i}/*`, `*.v${i}.json`, `/items/{*}/v${i}`, `/files/{**}/v${i}.txt`],
            },
          },
        ],
        when,
      },
      { to: [{ operation: { hosts: [`*.svc-${i}.example.com`, `svc-${i}.*`], notPaths: ["/health"] } }] },
      { to: [{ operation: { paths: [`/tenants/{*}/orders/${i}/{**}`], methods: ["GET"] } }] },
    ];
  const glob = kind === "scan" ? "*" : "";
  return [
    {
      from: [{ source: { principals: [`${glob}team-${i}/sa/client`], notIpBlocks: ["192.0.2.0/24"] } }],
      to: [{ operation: { methods: ["GET", "POST"], paths: [`/api/v${i}/*`, `/items/{*}/v${i}`] } }],
      when,
    },
    { to: [{ operation: { hosts: [`${glob}svc-${i}.example.com`], notPaths: ["/health"] } }] },
  ];
}

export const CASE_NAMES: Record<PolicyKind, string> = {
  indexed: "decision, exact principals/hosts",
  scan: "decision, suffix-glob principals/hosts",
  globs: "decision, glob-heavy (prefix/suffix/template paths, host and principal globs)",
  conditions: "decision, `when` header/claim values, `*` principals",
  unindexed: "decision, nothing indexable (`*`, not* forms, GET: every rule evaluated)",
};
