import type { IngressBackend, IngressSpec } from "../model/ingress.ts";
import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { contentHash } from "./hash.ts";
import { serviceFqdn } from "./host-names.ts";
import type { Indexed, ResourceIndex } from "./resource-index.ts";
import type { Diagnostic, Route, RouteMatch, VirtualHost } from "./snapshot.ts";
import type { Unit } from "./units.ts";

type IndexedIngress = Indexed<IngressSpec>;

interface IngressPath {
  ref: string;
  namespace: string;
  at: string;
  path: string;
  exact: boolean;
  backend: IngressBackend;
}

/**
 * The virtual hosts of Jibe-class Ingresses for a gateway proxy (the edge), one unit per rule
 * host (no host: `*`). Within a host the longest path wins and, for equal paths, Exact before
 * Prefix, as Kubernetes specifies; several Ingresses for one host are merged that way. Prefix
 * matches whole path elements (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`);
 * ImplementationSpecific is treated as Prefix. The oldest `defaultBackend` catches what no rule
 * matches, on every host.
 *
 * @example
 * ```ts
 * const units = ingressUnits(index, "cluster.local"); // ids "ingress|bookinfo.example.com", ...
 * ```
 */
export function ingressUnits(index: ResourceIndex, suffix: string): Unit[] {
  if (index.ingresses.length === 0) return [];
  const hosts = new Set<string>();
  for (const ing of index.ingresses)
    for (const rule of ing.spec.rules ?? []) hosts.add((rule.host ?? "*").toLowerCase());
  const fallback = index.ingresses.find((ing) => ing.spec.defaultBackend);
  if (fallback) hosts.add("*");
  return [...hosts].sort().map((host) => ({
    id: `ingress|${host}`,
    gather() {
      const paths = pathsOf(index.ingresses, host);
      const backends: [IngressBackend, string][] = paths.map((p) => [p.backend, p.namespace]);
      if (fallback?.spec.defaultBackend) backends.push([fallback.spec.defaultBackend, fallback.namespace]);
      const services = backends.map(([b, namespace]) => {
        const fqdn = serviceFqdn(b.service?.name ?? "", namespace, suffix);
        return [fqdn, index.services.get(fqdn)?.ports ?? null] as const;
      });
      return {
        key: contentHash({
          host,
          ingresses: index.ingresses.map((i) => [i.ref, i.created, i.spec]),
          services,
        }),
        tokens: ["ingress", ...services.map(([fqdn]) => `svc:${fqdn}`)],
        build() {
          const diagnostics: Diagnostic[] = [];
          const routes = paths.map((p) => toRoute(p, index, suffix, diagnostics));
          if (fallback?.spec.defaultBackend)
            routes.push({
              origin: `${fallback.ref}#defaultBackend`,
              match: [],
              action: routeAction(
                fallback.spec.defaultBackend,
                fallback.namespace,
                `${fallback.ref}`,
                "spec.defaultBackend",
                index,
                suffix,
                diagnostics,
              ),
            });
          warnTls(index.ingresses, host, diagnostics);
          const virtualHost: VirtualHost = { name: `ingress|${host}`, domains: [host], routes };
          return { virtualHost, diagnostics, hash: contentHash(virtualHost) };
        },
      };
    },
  }));
}

function pathsOf(ingresses: readonly IndexedIngress[], host: string): IngressPath[] {
  const out: IngressPath[] = [];
  for (const ing of ingresses) {
    ing.spec.rules?.forEach((rule, i) => {
      if ((rule.host ?? "*").toLowerCase() !== host) return;
      rule.http?.paths.forEach((p, j) => {
        out.push({
          ref: ing.ref,
          namespace: ing.namespace,
          at: `spec.rules[${i}].http.paths[${j}]`,
          path: p.path ?? "/",
          exact: p.pathType === "Exact",
          backend: p.backend,
        });
      });
    });
  }
  const length = (p: IngressPath) => (p.exact ? p.path : trimSlash(p.path)).length;
  // Stable: equal paths keep the Ingresses' order (oldest first).
  return out.sort((a, b) => length(b) - length(a) || Number(b.exact) - Number(a.exact));
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.replace(/\/+$/, "") || "/" : path;
}

function toRoute(p: IngressPath, index: ResourceIndex, suffix: string, diagnostics: Diagnostic[]): Route {
  return {
    origin: `${p.ref}#${p.at}`,
    match: matchesOf(p),
    action: routeAction(p.backend, p.namespace, p.ref, `${p.at}.backend`, index, suffix, diagnostics),
  };
}

/** Exact: the path itself. Prefix: the path, or the path then `/` (element-wise), `/` matching all. */
function matchesOf(p: IngressPath): RouteMatch[] {
  if (p.exact) return [{ uri: { exact: p.path } }];
  const base = trimSlash(p.path);
  if (base === "/") return [{ uri: { prefix: "/" } }];
  return [{ uri: { exact: base } }, { uri: { prefix: `${base}/` } }];
}

function routeAction(
  backend: IngressBackend,
  namespace: string,
  ref: string,
  at: string,
  index: ResourceIndex,
  suffix: string,
  diagnostics: Diagnostic[],
): Route["action"] {
  const name = backend.service?.name ?? "";
  const fqdn = serviceFqdn(name, namespace, suffix);
  const service = index.services.get(fqdn);
  const wanted = backend.service?.port;
  const port = service?.ports.find((p) =>
    wanted?.name !== undefined ? p.name === wanted.name : p.port === wanted?.number,
  );
  const number = port?.port ?? wanted?.number ?? 80;
  if (!service || !port)
    diagnostics.push(
      compileDiagnostic(
        "warning",
        "JIBE2042",
        ref,
        `${at}.service`,
        service
          ? `Service ${namespace}/${name} has no port ${wanted?.name ?? wanted?.number}; this path answers 503 until it does`
          : `Service ${namespace}/${name} does not exist; this path answers 503 until it is applied`,
      ),
    );
  return { kind: "route", destinations: [{ cluster: clusterName(number, undefined, fqdn), weight: 100 }] };
}

function warnTls(ingresses: readonly IndexedIngress[], host: string, diagnostics: Diagnostic[]): void {
  for (const ing of ingresses) {
    ing.spec.tls?.forEach((tls, i) => {
      const covers =
        (tls.hosts ?? []).some((h) => h.toLowerCase() === host) || (host === "*" && !tls.hosts?.length);
      // With a Secret, the Node ingress gateway terminates TLS (gateway-servers.ts); without, nothing can.
      if (!covers || tls.secretName) return;
      diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2008",
          ing.ref,
          `spec.tls[${i}]`,
          `TLS for ${host} has no secretName, so no gateway has a certificate to serve it; add secretName (a kubernetes.io/tls Secret)`,
        ),
      );
    });
  }
}
