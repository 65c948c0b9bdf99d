import { EVENT_SCHEMA_VERSION, type MeshEvent, type MeshEventType, type ResourceRef } from "./events.ts";

/**
 * Subject scheme, derived from the event schema:
 *
 *   jibe.v<version>.<event type tokens>.<kind>.<namespace>.<name>
 *
 * e.g. `jibe.v1.resource.applied.VirtualService.default.reviews`.
 * Names may contain `.` (Kubernetes DNS subdomains); it is encoded as `_`, which Kubernetes
 * names never contain, so the encoding is reversible.
 *
 * @example
 * ```ts
 * subjectFor(event);                // "jibe.v1.resource.applied.VirtualService.default.reviews"
 * subscriptionSubject();            // "jibe.v1.>"  (everything)
 * subscriptionSubject({ kind: "VirtualService" }); // "jibe.v1.resource.*.VirtualService.*.*"
 * ```
 */
export const SUBJECT_PREFIX = `jibe.v${EVENT_SCHEMA_VERSION}` as const;

/** Name of the JetStream KV bucket holding every resource (history kept). */
export const RESOURCE_BUCKET = "jibe-resources";

/** Encodes one subject/KV token (`.` → `_`). */
export function encodeToken(value: string): string {
  return value.replaceAll(".", "_");
}

/** Decodes one subject/KV token (`_` → `.`). */
export function decodeToken(token: string): string {
  return token.replaceAll("_", ".");
}

/** The subject an event is published on. */
export function subjectFor(event: MeshEvent): string {
  return eventSubject(event.type, event.ref);
}

/** The subject for an event type and resource. */
export function eventSubject(type: MeshEventType, ref: ResourceRef): string {
  return `${SUBJECT_PREFIX}.${type}.${encodeToken(ref.kind)}.${encodeToken(ref.namespace)}.${encodeToken(ref.name)}`;
}

/** A subscription subject, narrowed by whatever filters are given (wildcards for the rest). */
export function subscriptionSubject(
  filter: { type?: MeshEventType; kind?: string; namespace?: string } = {},
): string {
  if (!filter.type && !filter.kind && !filter.namespace) return `${SUBJECT_PREFIX}.>`;
  const type = filter.type ?? "resource.*";
  const kind = filter.kind ? encodeToken(filter.kind) : "*";
  const ns = filter.namespace ? encodeToken(filter.namespace) : "*";
  return `${SUBJECT_PREFIX}.${type}.${kind}.${ns}.*`;
}

/** The config-store key of a resource: `<kind>.<namespace>.<name>`. */
export function resourceKey(ref: ResourceRef): string {
  return `${encodeToken(ref.kind)}.${encodeToken(ref.namespace)}.${encodeToken(ref.name)}`;
}

/** Parses a config-store key back into a ref; `undefined` if it is not one. */
export function parseResourceKey(key: string): ResourceRef | undefined {
  const parts = key.split(".");
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) return undefined;
  const [kind, namespace, name] = parts as [string, string, string];
  return { kind: decodeToken(kind), namespace: decodeToken(namespace), name: decodeToken(name) };
}
