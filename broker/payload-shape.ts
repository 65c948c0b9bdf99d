import {
  EVENT_SCHEMA_VERSION,
  formatRef,
  type MeshEvent,
  type ResourceRef,
  type StoredResource,
} from "./events.ts";

/**
 * Shape checks for envelope payloads: the bus edge is the only place events are validated, so
 * these are strict about everything consumers rely on (and nothing more: `spec` stays opaque).
 * Each check returns `undefined` when the value is fine, or what is wrong with it.
 *
 * @example
 * ```ts
 * const problem = checkMeshEvent(JSON.parse(text));
 * if (problem) console.warn(`dropped: ${problem}`);
 * ```
 */
export interface EnvelopeFields {
  id: string;
  iat: number;
}

type Shape<T> = { ok: true; value: T } | { ok: false; detail: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** What is wrong with a resource ref, if anything. */
export function checkResourceRef(value: unknown, at = "ref"): string | undefined {
  if (!isRecord(value)) return `${at}: expected an object`;
  for (const field of ["kind", "namespace", "name"] as const) {
    if (!isName(value[field])) return `${at}.${field}: expected a non-empty string`;
  }
  return undefined;
}

/** What is wrong with a stored resource, if anything. */
export function checkStoredResource(value: unknown, at = "resource"): string | undefined {
  if (!isRecord(value)) return `${at}: expected an object`;
  if (!isName(value.apiVersion)) return `${at}.apiVersion: expected a non-empty string`;
  if (!isName(value.kind)) return `${at}.kind: expected a non-empty string`;
  const metadata = value.metadata;
  if (!isRecord(metadata)) return `${at}.metadata: expected an object`;
  if (!isName(metadata.name)) return `${at}.metadata.name: expected a non-empty string`;
  if (!isName(metadata.namespace)) return `${at}.metadata.namespace: expected a non-empty string`;
  if (!("spec" in value)) return `${at}.spec: missing`;
  return undefined;
}

/** The ref naming a stored resource. */
export function refOf(resource: StoredResource): ResourceRef {
  return { kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name };
}

/** True when two refs name the same resource. */
export function sameRef(a: ResourceRef, b: ResourceRef): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

/** What is wrong with a mesh event, if anything (unknown `type` included). */
export function checkMeshEvent(value: unknown, at = "event"): string | undefined {
  if (!isRecord(value)) return `${at}: expected an object`;
  const refProblem = checkResourceRef(value.ref, `${at}.ref`);
  if (refProblem) return refProblem;
  const revision = value.revision;
  if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 1) {
    return `${at}.revision: expected a positive integer`;
  }
  const event = value as unknown as MeshEvent;
  switch (event.type) {
    case "resource.applied": {
      const problem = checkStoredResource(event.resource, `${at}.resource`);
      if (problem) return problem;
      if (!sameRef(event.ref, refOf(event.resource))) {
        return `${at}.resource: names ${formatRef(refOf(event.resource))}, but the event is for ${formatRef(event.ref)}`;
      }
      return undefined;
    }
    case "resource.deleted":
      return undefined;
    default: {
      const unknownType: never = event;
      return `${at}.type: unknown event type ${JSON.stringify((unknownType as { type?: unknown }).type)}`;
    }
  }
}

function readEnvelopeFields(value: unknown): Shape<Record<string, unknown> & EnvelopeFields> {
  if (!isRecord(value)) return { ok: false, detail: "payload: expected a JSON object" };
  if (value.v !== EVENT_SCHEMA_VERSION) {
    return {
      ok: false,
      detail: `payload.v: expected ${EVENT_SCHEMA_VERSION}, got ${JSON.stringify(value.v)}`,
    };
  }
  if (!isName(value.id)) return { ok: false, detail: "payload.id: expected a non-empty string" };
  if (typeof value.iat !== "number" || !Number.isFinite(value.iat)) {
    return { ok: false, detail: "payload.iat: expected a number (milliseconds since the epoch)" };
  }
  return { ok: true, value: value as Record<string, unknown> & EnvelopeFields };
}

/** Reads a bus-event payload `{v:1, id, iat, event}`. */
export function readEventPayload(value: unknown): Shape<EnvelopeFields & { event: MeshEvent }> {
  const fields = readEnvelopeFields(value);
  if (!fields.ok) return fields;
  const problem = checkMeshEvent(fields.value.event, "payload.event");
  if (problem) return { ok: false, detail: problem };
  const { id, iat } = fields.value;
  return { ok: true, value: { id, iat, event: fields.value.event as MeshEvent } };
}

/** Reads a stored-resource payload `{v:1, id, iat, resource}`. */
export function readStoredResourcePayload(
  value: unknown,
): Shape<EnvelopeFields & { resource: StoredResource }> {
  const fields = readEnvelopeFields(value);
  if (!fields.ok) return fields;
  const problem = checkStoredResource(fields.value.resource, "payload.resource");
  if (problem) return { ok: false, detail: problem };
  const { id, iat } = fields.value;
  return { ok: true, value: { id, iat, resource: fields.value.resource as StoredResource } };
}
