/**
 * Types for the workerd built-in modules the edge worker and its tests import.
 *
 * They come from the importable (module) flavour of `@cloudflare/workers-types`, so the
 * root tsconfig keeps its DOM + Node globals: pulling the global workers types into one
 * program would retype `fetch`, `Request` and friends for every other package.
 */

declare module "cloudflare:workers" {
  import type { CloudflareWorkersModule } from "@cloudflare/workers-types";

  export const DurableObject: typeof CloudflareWorkersModule.DurableObject;
  export type DurableObject<Env = unknown> = CloudflareWorkersModule.DurableObject<Env>;
  /** The bindings of the worker under test (vars, Durable Object namespaces). */
  export const env: Record<string, unknown>;
  /** The worker's own exports; `exports.default.fetch` calls the default handler in-process. */
  export const exports: {
    default: { fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> };
  };
}

declare module "cloudflare:test" {
  /** Tears down every running Durable Object, as a crash or restart would; storage and alarms survive. */
  export function abortAllDurableObjects(): Promise<void>;
  /** Runs the pending alarm of the object now; `true` if one ran. */
  export function runDurableObjectAlarm(stub: unknown): Promise<boolean>;
}
