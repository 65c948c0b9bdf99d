/**
 * The one event schema of the Jibe bus: a versioned union tagged by `type`.
 *
 * Every event travels inside a signed envelope (see `envelope.ts`); the subject it is
 * published on is derived from the event itself (see `subjects.ts`). Consumers validate
 * at the bus edge only and then `switch` exhaustively over `type`.
 *
 * @example
 * ```ts
 * const event: MeshEvent = {
 *   type: "resource.applied",
 *   ref: { kind: "VirtualService", namespace: "default", name: "reviews" },
 *   revision: 42,
 *   resource: { apiVersion: "networking.istio.io/v1", kind: "VirtualService",
 *               metadata: { name: "reviews", namespace: "default" }, spec: { hosts: ["reviews"] } },
 * };
 * ```
 */

/** Version of the event schema. Bumped on any incompatible change; it is part of every subject. */
export const EVENT_SCHEMA_VERSION = 1 as const;

/** Identifies one resource in the mesh. `namespace` is always set (defaults to "default"). */
export interface ResourceRef {
  kind: string;
  namespace: string;
  name: string;
}

/** Kubernetes-shaped metadata, the subset Jibe keeps. */
export interface ResourceMetadata {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the control plane: bumped on every spec change. */
  generation?: number;
  /** Set by the control plane: ISO time of first apply. */
  creationTimestamp?: string;
}

/** A validated resource as stored in the config store and carried on the bus. */
export interface StoredResource {
  apiVersion: string;
  kind: string;
  metadata: ResourceMetadata;
  spec: unknown;
}

/** A resource was created or changed. `revision` is the config-store revision of this write. */
export interface ResourceAppliedEvent {
  type: "resource.applied";
  ref: ResourceRef;
  revision: number;
  resource: StoredResource;
}

/** A resource was deleted. `revision` is the config-store revision of the delete marker. */
export interface ResourceDeletedEvent {
  type: "resource.deleted";
  ref: ResourceRef;
  revision: number;
}

/** Every event the control plane publishes. */
export type MeshEvent = ResourceAppliedEvent | ResourceDeletedEvent;

/** The `type` tags of {@link MeshEvent}. */
export type MeshEventType = MeshEvent["type"];

/** All event types, for tools that want to enumerate them. */
export const MESH_EVENT_TYPES: readonly MeshEventType[] = ["resource.applied", "resource.deleted"];

/** Formats a ref as `Kind/namespace/name`, the way errors and logs name a resource. */
export function formatRef(ref: ResourceRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}
