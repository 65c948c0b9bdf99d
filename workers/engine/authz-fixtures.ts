import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import { authorize } from "./authorize.ts";
import type { AuthzDecision, AuthzFacts } from "./authz-facts.ts";
import { buildAuthzTable } from "./authz-table.ts";

/** Helpers for the authz behaviour cases (`authz.case.ts`); pure, so they run in workerd too. */

export function authorizationPolicy(
  name: string,
  namespace: string,
  spec: unknown,
  annotations?: Record<string, string>,
): StoredResource {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: spec as StoredResource["spec"],
  };
}

export function requestAuthentication(name: string, namespace: string, spec: unknown): StoredResource {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "RequestAuthentication",
    metadata: { name, namespace },
    spec: spec as StoredResource["spec"],
  };
}

/** A sidecar proxy for `app` (label `app`, plus `version: v1`) in `namespace`. */
export function workload(app: string, namespace: string, labels: Record<string, string> = {}): ProxyIdentity {
  return {
    id: `sidecar~${app}~${namespace}`,
    role: "sidecar",
    namespace,
    labels: { app, version: "v1", ...labels },
  };
}

/** Compiles the resources for `proxy` and returns a function answering "is this request allowed?". */
export function authzFor(
  resources: StoredResource[],
  proxy: ProxyIdentity,
): {
  decide(facts: Partial<AuthzFacts>): AuthzDecision;
  may(facts: Partial<AuthzFacts>): boolean;
  snapshot: Snapshot;
} {
  const { snapshot } = compile(resources, proxy);
  const table = buildAuthzTable(snapshot.authz);
  const decide = (facts: Partial<AuthzFacts>) => authorize(table, { ...httpRequest(), ...facts });
  return { decide, may: (facts) => decide(facts).allowed, snapshot };
}

/** A plain GET / over HTTP, from an unauthenticated peer. */
export function httpRequest(extra: Partial<AuthzFacts> = {}): AuthzFacts {
  return {
    protocol: "http",
    host: "httpbin.foo:8000",
    method: "GET",
    path: "/",
    headers: {},
    sourceIp: "10.0.0.9",
    destinationPort: 8000,
    ...extra,
  };
}

/** A peer identity (what mTLS will provide) for service account `sa` in `namespace`. */
export function from(namespace: string, sa: string): Pick<AuthzFacts, "peer"> {
  return { peer: { principal: `cluster.local/ns/${namespace}/sa/${sa}` } };
}

/** A verified-JWT identity as RequestAuthentication produces it. */
export function jwt(
  iss: string,
  sub: string,
  claims: Record<string, unknown> = {},
  audiences: string[] = [],
): Pick<AuthzFacts, "request"> {
  return { request: { principal: `${iss}/${sub}`, audiences, claims: { iss, sub, ...claims } } };
}
