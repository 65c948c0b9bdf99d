import { randomUUID } from "node:crypto";
import { type ResourceType, typeKey } from "./resource-types.ts";

/** A Kubernetes object as the double stores it: metadata plus whatever the client sent. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

export interface KubeMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** One change, kept in history for watches that resume from an older resourceVersion. */
export interface StoredChange {
  revision: number;
  type: WatchEventType;
  typeKey: string;
  namespace: string;
  object: KubeObject;
}

/** Why a write was refused, in kube-apiserver's `Status.reason` terms. */
export class StoreError extends Error {
  readonly reason: "NotFound" | "AlreadyExists" | "Conflict" | "Invalid";
  readonly code: number;
  constructor(reason: StoreError["reason"], message: string) {
    super(message);
    this.reason = reason;
    this.code = { NotFound: 404, AlreadyExists: 409, Conflict: 409, Invalid: 422 }[reason];
  }
}

/**
 * etcd as kube-apiserver sees it: one global revision bumped by every write (any type), objects
 * stamped with the revision of their last write, and a change history that compaction trims.
 * A watch may resume from revision N only while every change after N is still retained.
 */
export interface ObjectStore {
  /** The current revision (what a list reports as its resourceVersion). */
  readonly revision: number;
  /** Changes at or below this revision are gone; watching from an older revision is 410 Gone. */
  readonly compactedRevision: number;
  list(type: ResourceType, namespace?: string): KubeObject[];
  get(type: ResourceType, namespace: string, name: string): KubeObject | undefined;
  create(type: ResourceType, object: KubeObject): KubeObject;
  /** Replaces the object (or only its status when `subresource` is "status"). */
  update(type: ResourceType, object: KubeObject, subresource?: "status"): KubeObject;
  delete(type: ResourceType, namespace: string, name: string): KubeObject;
  /** The objects of one type (and namespace) as they were at `revision`, or "expired" once compacted. */
  listAt(type: ResourceType, namespace: string | undefined, revision: number): KubeObject[] | "expired";
  /** Changes after `revision` for one type (and namespace), or "expired" when history no longer has them. */
  changesSince(
    type: ResourceType,
    namespace: string | undefined,
    revision: number,
  ): StoredChange[] | "expired";
  /** Called synchronously after every write. */
  onChange(listener: (change: StoredChange) => void): () => void;
  /** Drops history up to `revision` (default: everything so far), as etcd compaction does. */
  compact(revision?: number): void;
}

export function createObjectStore(clock: () => Date = () => new Date()): ObjectStore {
  let revision = 0;
  let compacted = 0;
  const objects = new Map<string, KubeObject>();
  let history: StoredChange[] = [];
  /** The objects as they were at `compacted`: with the history, every retained revision can be rebuilt. */
  const baseline = new Map<string, KubeObject>();
  const listeners = new Set<(change: StoredChange) => void>();

  const keyOf = (type: ResourceType, namespace: string, name: string) =>
    `${typeKey(type)}/${namespace}/${name}`;
  const nsOf = (type: ResourceType, object: KubeObject) =>
    type.namespaced ? (object.metadata.namespace ?? "") : "";

  function record(type: ResourceType, changeType: WatchEventType, object: KubeObject): KubeObject {
    const change: StoredChange = {
      revision,
      type: changeType,
      typeKey: typeKey(type),
      namespace: nsOf(type, object),
      object: structuredClone(object),
    };
    history.push(change);
    for (const listener of listeners) listener(change);
    return structuredClone(object);
  }

  function current(type: ResourceType, object: KubeObject): KubeObject {
    const found = objects.get(keyOf(type, nsOf(type, object), object.metadata.name));
    if (!found) throw new StoreError("NotFound", `${type.plural} "${object.metadata.name}" not found`);
    const sent = object.metadata.resourceVersion;
    if (sent && sent !== found.metadata.resourceVersion) {
      throw new StoreError(
        "Conflict",
        `Operation cannot be fulfilled on ${type.plural} "${object.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return found;
  }

  return {
    get revision() {
      return revision;
    },
    get compactedRevision() {
      return compacted;
    },
    list(type, namespace) {
      const prefix = `${typeKey(type)}/${namespace === undefined ? "" : `${namespace}/`}`;
      return [...objects.entries()]
        .filter(([key]) => key.startsWith(prefix))
        .map(([, object]) => structuredClone(object));
    },
    get(type, namespace, name) {
      const found = objects.get(keyOf(type, type.namespaced ? namespace : "", name));
      return found && structuredClone(found);
    },
    create(type, sent) {
      const object = structuredClone(sent);
      const meta = object.metadata;
      if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
      if (!meta.name)
        throw new StoreError("Invalid", "metadata.name: Required value: name or generateName is required");
      const key = keyOf(type, nsOf(type, object), meta.name);
      if (objects.has(key))
        throw new StoreError("AlreadyExists", `${type.plural} "${meta.name}" already exists`);
      revision += 1;
      Object.assign(meta, {
        uid: randomUUID(),
        resourceVersion: String(revision),
        generation: 1,
        creationTimestamp: clock()
          .toISOString()
          .replace(/\.\d{3}Z$/, "Z"),
      });
      objects.set(key, object);
      return record(type, "ADDED", object);
    },
    update(type, sent, subresource) {
      const found = current(type, sent);
      const next = structuredClone(found);
      if (subresource === "status") next.status = structuredClone(sent.status);
      else {
        const { metadata, status: _ignored, ...body } = structuredClone(sent);
        for (const field of Object.keys(next))
          if (!["metadata", "status"].includes(field)) delete next[field];
        Object.assign(next, body);
        if (!type.statusSubresource) next.status = structuredClone(sent.status);
        next.metadata = { ...metadata, ...pick(found.metadata, ["uid", "creationTimestamp", "generation"]) };
        const { metadata: _a, status: _b, ...before } = found;
        const { metadata: _c, status: _d, ...after } = next;
        if (canonical(before) !== canonical(after))
          next.metadata.generation = (found.metadata.generation ?? 1) + 1;
      }
      if (canonical(next) === canonical(found)) return structuredClone(found); // a no-op write is not a change
      revision += 1;
      next.metadata.resourceVersion = String(revision);
      objects.set(keyOf(type, nsOf(type, next), next.metadata.name), next);
      return record(type, "MODIFIED", next);
    },
    delete(type, namespace, name) {
      const key = keyOf(type, type.namespaced ? namespace : "", name);
      const found = objects.get(key);
      if (!found) throw new StoreError("NotFound", `${type.plural} "${name}" not found`);
      objects.delete(key);
      revision += 1;
      found.metadata.resourceVersion = String(revision); // the DELETED event carries the delete's revision
      return record(type, "DELETED", found);
    },
    listAt(type, namespace, at) {
      if (at < compacted) return "expired";
      const state = new Map(baseline);
      for (const change of history) {
        if (change.revision > at) break;
        const key = keyOf(type, change.namespace, change.object.metadata.name);
        if (change.typeKey !== typeKey(type)) continue;
        if (change.type === "DELETED") state.delete(key);
        else state.set(key, change.object);
      }
      const prefix = `${typeKey(type)}/${namespace === undefined ? "" : `${namespace}/`}`;
      return [...state.entries()]
        .filter(([key]) => key.startsWith(prefix))
        .map(([, o]) => structuredClone(o));
    },
    changesSince(type, namespace, since) {
      if (since < compacted) return "expired";
      return history.filter(
        (c) =>
          c.revision > since &&
          c.typeKey === typeKey(type) &&
          (namespace === undefined || c.namespace === namespace),
      );
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    compact(upTo = revision) {
      compacted = Math.max(compacted, Math.min(upTo, revision));
      for (const change of history) {
        if (change.revision > compacted) break;
        const key = `${change.typeKey}/${change.namespace}/${change.object.metadata.name}`;
        if (change.type === "DELETED") baseline.delete(key);
        else baseline.set(key, change.object);
      }
      history = history.filter((c) => c.revision > compacted);
    },
  };
}

function pick<T extends object>(from: T, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

/** JSON with object keys sorted: equal for equal content whatever order a client sent the fields in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
