import { canonicalJson } from "../plane/apply-plan.ts";
import type { KubeCondition } from "./accepted-condition.ts";
import {
  type Condition,
  GATEWAY_CONTROLLER,
  type ListenerStatus,
  type RouteParentStatus,
} from "./gateway-api-status.ts";

/**
 * Puts the wanted Gateway API status (gateway-api-status.ts) into an object's current `status`:
 * `lastTransitionTime` moves only when a condition's status changes, fields and parents of other
 * controllers are kept, and the result is undefined when nothing would change (no write, so the
 * adapter's own status updates never loop and a resync writes nothing).
 *
 * @example
 * ```ts
 * const status = mergeRouteStatus(route.status, wanted.routes.get("default/web") ?? [], new Date());
 * if (status) await kube.replaceStatus("HTTPRoute", { ...route, status });
 * ```
 */
export function mergeRouteStatus(
  current: unknown,
  wanted: readonly RouteParentStatus[],
  now: Date,
): Record<string, unknown> | undefined {
  const status = isRecord(current) ? current : {};
  const parents = Array.isArray(status.parents) ? (status.parents as RouteParentStatus[]) : [];
  const others = parents.filter((p) => p.controllerName !== GATEWAY_CONTROLLER);
  const mine = wanted.map((w) => {
    const previous = parents.find(
      (p) =>
        p.controllerName === GATEWAY_CONTROLLER && canonicalJson(p.parentRef) === canonicalJson(w.parentRef),
    );
    return { ...w, conditions: stamp(w.conditions, previous?.conditions, now) };
  });
  const next = [...others, ...mine];
  if (canonicalJson(next) === canonicalJson(parents)) return undefined;
  return { ...status, parents: next };
}

/** The Gateway's status with Jibe's `Accepted`/`Programmed` conditions and `listeners`; undefined when unchanged. */
export function mergeGatewayStatus(
  current: unknown,
  wanted: { conditions: readonly Condition[]; listeners: readonly ListenerStatus[] },
  now: Date,
): Record<string, unknown> | undefined {
  const status = isRecord(current) ? current : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as KubeCondition[]) : [];
  const listeners = Array.isArray(status.listeners) ? (status.listeners as ListenerStatus[]) : [];
  const types = new Set(wanted.conditions.map((c) => c.type));
  const nextConditions = [
    ...conditions.filter((c) => !types.has(c.type)),
    ...stamp(wanted.conditions, conditions, now),
  ];
  const nextListeners = wanted.listeners.map((w) => ({
    ...w,
    conditions: stamp(w.conditions, listeners.find((l) => l.name === w.name)?.conditions, now),
  }));
  if (
    canonicalJson(nextConditions) === canonicalJson(conditions) &&
    canonicalJson(nextListeners) === canonicalJson(listeners)
  )
    return undefined;
  return { ...status, conditions: nextConditions, listeners: nextListeners };
}

/** Conditions with `lastTransitionTime`: the previous one's when its status is unchanged, else `now`. */
function stamp(
  wanted: readonly Condition[],
  previous: readonly (Condition & { lastTransitionTime?: string })[] | undefined,
  now: Date,
): KubeCondition[] {
  const time = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return wanted.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    return {
      ...c,
      lastTransitionTime:
        before?.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : time,
    };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
