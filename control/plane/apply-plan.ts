import type { StoredResource } from "../../broker/events.ts";
import type { ApplyAction } from "./types.ts";

/** What is stored now for a resource (`resource` is undefined when the stored value could not be read). */
export interface ExistingEntry {
  revision: number;
  resource: StoredResource | undefined;
}

/** What one apply will do to one resource. */
export interface ApplyPlan {
  action: Exclude<ApplyAction, "deleted">;
  /** The resource to store, with `generation` and `creationTimestamp` set by the control plane. */
  resource: StoredResource;
}

/**
 * Decides what applying `incoming` over `existing` does, Kubernetes-style: `generation` starts at 1 and is
 * bumped only when the spec changes; `creationTimestamp` is kept from the first apply; a change of labels,
 * annotations or apiVersion alone is `configured` without a new generation; identical content is
 * `unchanged` (not written, not published). Values the user sent for these two fields are ignored.
 *
 * @example
 * ```ts
 * planApply(vs, undefined, new Date()).action;                          // "created", generation 1
 * planApply(vs, { revision: 4, resource: stored }, new Date()).action;  // "unchanged" when equal
 * ```
 */
export function planApply(
  incoming: StoredResource,
  existing: ExistingEntry | undefined,
  now: Date,
): ApplyPlan {
  const previous = existing?.resource;
  if (!previous) {
    return { action: existing ? "configured" : "created", resource: stamp(incoming, 1, now.toISOString()) };
  }
  const generation = previous.metadata.generation ?? 1;
  const created = previous.metadata.creationTimestamp ?? now.toISOString();
  const specChanged = canonicalJson(previous.spec) !== canonicalJson(incoming.spec);
  if (specChanged) return { action: "configured", resource: stamp(incoming, generation + 1, created) };
  const next = stamp(incoming, generation, created);
  return { action: sameContent(previous, next) ? "unchanged" : "configured", resource: next };
}

function stamp(resource: StoredResource, generation: number, creationTimestamp: string): StoredResource {
  return { ...resource, metadata: { ...resource.metadata, generation, creationTimestamp } };
}

function sameContent(a: StoredResource, b: StoredResource): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted, so equal content compares equal whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const entries = Object.entries(v as Record<string, unknown>).sort(([x], [y]) =>
      x < y ? -1 : x > y ? 1 : 0,
    );
    return Object.fromEntries(entries);
  });
}
