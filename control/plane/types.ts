/**
 * What the control plane answers: plain data, JSON-serialisable, shared by the admin API and its
 * clients (`control/cli/admin-client.ts` imports these types).
 *
 * @example
 * ```ts
 * const result: ApplyResult = {
 *   ref: { kind: "VirtualService", namespace: "default", name: "reviews" },
 *   apiVersion: "networking.istio.io/v1", action: "configured", revision: 12, generation: 2,
 * };
 * ```
 */
import type { ResourceRef, StoredResource } from "../../broker/events.ts";
import type { Diagnostic } from "../compile/snapshot.ts";

/** What an apply or delete did to one resource. */
export type ApplyAction = "created" | "configured" | "unchanged" | "deleted";

/** The outcome for one resource. */
export interface ApplyResult {
  ref: ResourceRef;
  /** `apiVersion` of the resource, so clients can name it kubectl-style (`virtualservice.networking.istio.io/reviews`). */
  apiVersion: string;
  action: ApplyAction;
  /**
   * Config-store revision of this write (the mesh revision its event carries). For `unchanged` and for
   * dry runs: the revision currently stored (0 if the resource does not exist yet).
   */
  revision: number;
  /** `metadata.generation` after the write (absent for `deleted`). */
  generation?: number;
  /** `false` when the resource was stored but its event could not be published yet (it is retried). */
  published?: boolean;
}

/** The outcome of one apply. */
export interface ApplyOutcome {
  dryRun: boolean;
  results: ApplyResult[];
  /** Warnings from validation (errors never get this far). */
  diagnostics: Diagnostic[];
}

/** A stored resource with its place in the store. */
export interface ResourceView {
  ref: ResourceRef;
  revision: number;
  resource: StoredResource;
}

/** One entry of a resource's history, newest last. */
export interface HistoryItem {
  revision: number;
  operation: "PUT" | "DEL" | "PURGE";
  /** ISO time of the write. */
  created: string;
  /** The resource as written (PUT only, and only when its signature verified). */
  resource?: StoredResource;
  /** Why `resource` is missing from a PUT, e.g. the value was not signed by a trusted key. */
  problem?: string;
}

/** The answer of a validation without writes. */
export interface ValidationReport {
  valid: boolean;
  resources: ResourceRef[];
  diagnostics: Diagnostic[];
}

/** Narrows a listing. `kind` is the canonical kind (`VirtualService`). */
export interface ListFilter {
  kind?: string;
  namespace?: string;
}

/** The control-plane service. */
export interface ControlPlane {
  /** Validates every document, then writes and publishes each resource in order (nothing written on any error). */
  apply(documents: readonly unknown[], opts?: { dryRun?: boolean }): Promise<ApplyOutcome>;
  /** Deletes one resource; `PlaneError` `not-found` if absent. */
  delete(ref: ResourceRef): Promise<ApplyResult>;
  /** One resource; `PlaneError` `not-found` if absent. */
  get(ref: ResourceRef): Promise<ResourceView>;
  list(filter?: ListFilter): Promise<ResourceView[]>;
  /** Validates without writing anything. */
  validate(documents: readonly unknown[]): ValidationReport;
  /** Every kept write of one resource, oldest first; `PlaneError` `not-found` if it never existed. */
  history(ref: ResourceRef): Promise<HistoryItem[]>;
}
