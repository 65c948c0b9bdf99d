import { RESOURCE_TYPES, type ResourceType } from "./resource-types.ts";

/** What a kube-apiserver URL path addresses. */
export interface ApiTarget {
  type: ResourceType;
  /** The version the client asked for (objects are returned at it). */
  version: string;
  /** Set for namespaced paths; undefined for all-namespaces collections and cluster-scoped types. */
  namespace?: string;
  name?: string;
  subresource?: "status";
}

/**
 * Parses `/api/v1[/namespaces/<ns>]/<plural>[/<name>[/status]]` and the `/apis/<group>/<version>/...`
 * equivalent. Returns undefined for paths the double does not serve (answered 404 like an unknown resource).
 *
 * @example
 * ```ts
 * parseApiPath("/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews/status");
 * ```
 */
export function parseApiPath(path: string): ApiTarget | undefined {
  const parts = path.split("/").filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === "api") {
    group = "";
    rest = parts.slice(1);
  } else if (parts[0] === "apis" && parts[1]) {
    group = parts[1];
    rest = parts.slice(2);
  } else return undefined;
  const [version, ...tail] = rest;
  if (!version) return undefined;
  let namespace: string | undefined;
  let remaining = tail;
  // `/namespaces/<ns>/<plural>...` is a namespaced path; `/namespaces[/<name>]` addresses Namespaces themselves.
  if (tail[0] === "namespaces" && tail.length >= 3) {
    namespace = tail[1];
    remaining = tail.slice(2);
  }
  const [plural, name, subresource, ...extra] = remaining;
  if (!plural || extra.length > 0 || (subresource !== undefined && subresource !== "status"))
    return undefined;
  const type = RESOURCE_TYPES.find(
    (t) => t.group === group && t.plural === plural && t.versions.includes(version),
  );
  if (!type) return undefined;
  if (namespace !== undefined && !type.namespaced) return undefined;
  if (name !== undefined && type.namespaced && namespace === undefined) return undefined;
  if (subresource === "status" && !type.statusSubresource) return undefined;
  return {
    type,
    version,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource === "status" ? { subresource } : {}),
  };
}
