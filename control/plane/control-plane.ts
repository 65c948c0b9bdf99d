import type { ConfigStore, StoredEntry } from "../../broker/config-store.ts";
import type { Signer, Verifier } from "../../broker/envelope.ts";
import { signStoredResource } from "../../broker/envelope.ts";
import type { ResourceRef, StoredResource } from "../../broker/events.ts";
import { formatRef } from "../../broker/events.ts";
import type { Logger } from "../../broker/logger.ts";
import { refOf } from "../../broker/payload-shape.ts";
import { type ApplyPlan, type ExistingEntry, planApply } from "./apply-plan.ts";
import { PlaneError } from "./errors.ts";
import { createEventOutbox, type EventSink } from "./event-outbox.ts";
import { createSerialQueue } from "./serial-queue.ts";
import { readStoredValue } from "./stored-value.ts";
import type { ApplyOutcome, ApplyResult, ControlPlane, HistoryItem, ResourceView } from "./types.ts";
import { checkDocuments } from "./validation.ts";

/** What the control plane is built from; every piece of I/O comes in here. */
export interface ControlPlaneDeps {
  store: ConfigStore;
  /** Signs and publishes events (`broker/event-publisher.ts`). */
  publisher: EventSink;
  /** Signs stored values. */
  signer: Signer;
  /** Verifies values read back from the store (a store is only as trusted as its signatures). */
  verifier: Verifier;
  clock?: () => number;
  log?: Logger;
}

interface PreparedWrite {
  ref: ResourceRef;
  plan: ApplyPlan;
  current: ExistingEntry | undefined;
  signed?: string;
}

/**
 * Creates the control-plane service over a config store and an event publisher.
 *
 * Apply is all-or-nothing at validation: any error diagnostic and nothing is written. Writes go through
 * one queue, so store revisions and events are in the same order. Before the first write every value is
 * read, planned and signed, so the only mid-way failure left is the store itself failing: then a
 * `partially-applied` error lists exactly which resources were written. An event that cannot be published
 * (the resource is stored) is held and retried before the next event (`published: false` in the result).
 *
 * @example
 * ```ts
 * const plane = createControlPlane({ store, publisher, signer, verifier });
 * const { results } = await plane.apply(parseDocuments(yamlText).documents);
 * // [{ ref: { kind: "VirtualService", namespace: "default", name: "reviews" }, action: "created", revision: 7, ... }]
 * ```
 */
export function createControlPlane(deps: ControlPlaneDeps): ControlPlane {
  const clock = deps.clock ?? Date.now;
  const queue = createSerialQueue();
  const outbox = createEventOutbox(deps.publisher, deps.log);

  async function storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new PlaneError("unavailable", `config store unavailable (${what}): ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async function readEntry(
    ref: ResourceRef,
  ): Promise<{ entry: StoredEntry; existing: ExistingEntry } | undefined> {
    const entry = await storeCall(`get ${formatRef(ref)}`, () => deps.store.get(ref));
    if (!entry) return undefined;
    const read = await readStoredValue(deps.verifier, entry.value);
    if (!read.ok) deps.log?.warn(`stored value of ${formatRef(ref)} is not trusted: ${read.problem}`);
    return { entry, existing: { revision: entry.revision, resource: read.ok ? read.resource : undefined } };
  }

  async function prepare(resources: readonly StoredResource[], sign: boolean): Promise<PreparedWrite[]> {
    const now = clock();
    const prepared: PreparedWrite[] = [];
    for (const resource of resources) {
      const ref = refOf(resource);
      const current = (await readEntry(ref))?.existing;
      const plan = planApply(resource, current, new Date(now));
      const write: PreparedWrite = { ref, plan, current };
      if (sign && plan.action !== "unchanged")
        write.signed = await signStoredResource(deps.signer, plan.resource, now);
      prepared.push(write);
    }
    return prepared;
  }

  async function write(prepared: readonly PreparedWrite[]): Promise<ApplyResult[]> {
    const results: ApplyResult[] = [];
    await outbox.flush(); // best effort: events held from an earlier failure go out first
    for (const [index, item] of prepared.entries()) {
      const base = {
        ref: item.ref,
        apiVersion: item.plan.resource.apiVersion,
        generation: generationOf(item),
      };
      if (item.plan.action === "unchanged") {
        results.push({ ...base, action: "unchanged", revision: item.current?.revision ?? 0 });
        continue;
      }
      let revision: number;
      try {
        revision = await deps.store.put(item.ref, item.signed!);
      } catch (error) {
        throw writeFailure(error, results, prepared.slice(index));
      }
      const published = await outbox.send({
        type: "resource.applied",
        ref: item.ref,
        revision,
        resource: item.plan.resource,
      });
      results.push({ ...base, action: item.plan.action, revision, ...(published ? {} : { published }) });
    }
    return results;
  }

  return {
    validate(documents) {
      const { resourcesToApply: _, ...report } = checkDocuments(documents);
      return report;
    },

    async apply(documents, opts = {}): Promise<ApplyOutcome> {
      const report = checkDocuments(documents);
      if (!report.valid) {
        const errors = report.diagnostics.filter((d) => d.severity === "error").length;
        throw new PlaneError("invalid", summariseInvalid(errors), {
          diagnostics: report.diagnostics,
        });
      }
      const dryRun = opts.dryRun === true;
      return queue.run(async () => {
        const prepared = await prepare(report.resourcesToApply, !dryRun);
        const results = dryRun
          ? prepared.map((item) => ({
              ref: item.ref,
              apiVersion: item.plan.resource.apiVersion,
              action: item.plan.action,
              revision: item.current?.revision ?? 0,
              generation: generationOf(item),
            }))
          : await write(prepared);
        return { dryRun, results, diagnostics: report.diagnostics };
      });
    },

    delete(ref) {
      return queue.run(async () => {
        const found = await readEntry(ref);
        if (!found) throw notFound(ref);
        const revision = await storeCall(`delete ${formatRef(ref)}`, () => deps.store.delete(ref));
        const published = await outbox.send({ type: "resource.deleted", ref, revision });
        return {
          ref,
          apiVersion: found.existing.resource?.apiVersion ?? "",
          action: "deleted",
          revision,
          ...(published ? {} : { published }),
        };
      });
    },

    async get(ref): Promise<ResourceView> {
      const found = await readEntry(ref);
      if (!found) throw notFound(ref);
      const resource = found.existing.resource;
      if (!resource) {
        throw new PlaneError(
          "untrusted",
          `the stored value of ${formatRef(ref)} failed signature verification`,
        );
      }
      return { ref, revision: found.entry.revision, resource };
    },

    async list(filter = {}): Promise<ResourceView[]> {
      const entries = await storeCall("list", () => deps.store.list());
      const views: ResourceView[] = [];
      for (const entry of entries) {
        if (filter.kind && entry.ref.kind !== filter.kind) continue;
        if (filter.namespace && entry.ref.namespace !== filter.namespace) continue;
        const read = await readStoredValue(deps.verifier, entry.value);
        if (!read.ok) {
          deps.log?.warn(`skipping ${formatRef(entry.ref)} in list: ${read.problem}`);
          continue;
        }
        views.push({ ref: entry.ref, revision: entry.revision, resource: read.resource });
      }
      return views.sort((a, b) => compareRefs(a.ref, b.ref));
    },

    async history(ref): Promise<HistoryItem[]> {
      const entries = await storeCall(`history ${formatRef(ref)}`, () => deps.store.history(ref));
      if (entries.length === 0) throw notFound(ref);
      const items: HistoryItem[] = [];
      for (const entry of entries) {
        const item: HistoryItem = {
          revision: entry.revision,
          operation: entry.operation,
          created: entry.created.toISOString(),
        };
        if (entry.operation === "PUT" && entry.value !== undefined) {
          const read = await readStoredValue(deps.verifier, entry.value);
          if (read.ok) item.resource = read.resource;
          else item.problem = read.problem;
        }
        items.push(item);
      }
      return items;
    },
  };
}

function generationOf(item: PreparedWrite): number {
  return item.plan.resource.metadata.generation ?? 1;
}

function notFound(ref: ResourceRef): PlaneError {
  return new PlaneError("not-found", `${formatRef(ref)} not found`);
}

function summariseInvalid(count: number): string {
  return `${count === 1 ? "1 problem" : `${count} problems`} found; nothing was applied`;
}

function writeFailure(
  error: unknown,
  done: readonly ApplyResult[],
  rest: readonly PreparedWrite[],
): PlaneError {
  const written = done.filter((r) => r.action !== "unchanged");
  const failed = rest[0] ? formatRef(rest[0].ref) : "?";
  const skipped = rest.slice(1).filter((item) => item.plan.action !== "unchanged");
  const notApplied =
    skipped.length > 0 ? `; not applied: ${skipped.map((s) => formatRef(s.ref)).join(", ")}` : "";
  if (written.length === 0) {
    return new PlaneError(
      "unavailable",
      `config store unavailable: writing ${failed} failed (${messageOf(error)}); nothing was written`,
      { cause: error },
    );
  }
  return new PlaneError(
    "partially-applied",
    `writing ${failed} failed (${messageOf(error)}); already applied: ${written
      .map((r) => `${formatRef(r.ref)}@${r.revision}`)
      .join(", ")}${notApplied}; re-apply once the store is back (applied resources will report unchanged)`,
    { cause: error, results: done },
  );
}

function compareRefs(a: ResourceRef, b: ResourceRef): number {
  return (
    a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
