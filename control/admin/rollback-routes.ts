import { Hono } from "hono";
import { formatRef, type ResourceRef, type StoredResource } from "../../broker/events.ts";
import type { ApplyOutcome, ControlPlane } from "../plane/types.ts";
import { AdminHttpError } from "./http-errors.ts";
import { refParam } from "./kind-param.ts";

/** The answer of a rollback: the apply outcome and the revision whose value was re-applied. */
export interface RollbackOutcome extends ApplyOutcome {
  rolledBackTo: number;
}

/**
 * `POST /resources/:kind/:namespace/:name/rollback` with `{ "revision": N }` (`?dryRun=true` plans
 * only): re-applies the signed value the config store kept at revision N through the normal
 * validated apply path, as a new write (a new revision, an event, the generation bumped when the spec
 * changes). Refuses a revision that is not kept (404), a delete marker, or a value whose signature does
 * not verify (409).
 *
 * @example
 * ```ts
 * api.route("/", rollbackRoutes(plane));
 * ```
 */
export function rollbackRoutes(plane: ControlPlane): Hono {
  return new Hono().post("/resources/:kind/:namespace/:name/rollback", async (c) => {
    const ref = refParam(c.req.param());
    const revision = revisionOf(await c.req.json().catch(() => undefined));
    const resource = await keptValue(plane, ref, revision);
    const outcome = await plane.apply([documentOf(resource)], { dryRun: c.req.query("dryRun") === "true" });
    return c.json({ ...outcome, rolledBackTo: revision } satisfies RollbackOutcome);
  });
}

function revisionOf(body: unknown): number {
  const revision = (body as { revision?: unknown } | undefined)?.revision;
  if (typeof revision !== "number" || !Number.isInteger(revision) || revision < 1)
    throw new AdminHttpError(
      "bad-request",
      400,
      'body.revision must be a positive integer revision from the history, e.g. {"revision": 12}',
    );
  return revision;
}

async function keptValue(plane: ControlPlane, ref: ResourceRef, revision: number): Promise<StoredResource> {
  const history = await plane.history(ref);
  const item = history.find((h) => h.revision === revision);
  const see = `see: jibe history ${ref.kind} ${ref.name} -n ${ref.namespace}`;
  if (!item)
    throw new AdminHttpError(
      "not-found",
      404,
      `${formatRef(ref)} has no kept revision ${revision}; kept: ${history.map((h) => h.revision).join(", ")} (${see})`,
    );
  if (item.operation !== "PUT")
    throw new AdminHttpError(
      "conflict",
      409,
      `revision ${revision} of ${formatRef(ref)} is a delete (${item.operation}), not a value to roll back to; pick a PUT revision (${see})`,
    );
  if (!item.resource)
    throw new AdminHttpError(
      "conflict",
      409,
      `revision ${revision} of ${formatRef(ref)} cannot be rolled back to: ${item.problem ?? "its value is unreadable"}`,
    );
  return item.resource;
}

/** The stored value as a user would apply it: what the control plane sets itself is left out. */
function documentOf(resource: StoredResource): unknown {
  const { generation: _generation, creationTimestamp: _created, ...metadata } = resource.metadata;
  return { ...resource, metadata };
}
