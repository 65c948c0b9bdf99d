import type { BookinfoService } from "./downstream.ts";

/** Which instance is answering; every answer names it so a page shows the path a request took. */
export interface ServiceIdentity {
  service: BookinfoService;
  version: string;
}

/** A request as a sample handler sees it. */
export interface SampleRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
}

/** A JSON answer. */
export interface SampleAnswer {
  status: number;
  body: unknown;
}

/** One service's routes; `undefined` means "not a path of this service" (404). */
export type SampleHandler = (request: SampleRequest) => Promise<SampleAnswer | undefined>;

/** `200` with `body`, tagged with the answering instance. */
export function answer(identity: ServiceIdentity, body: Record<string, unknown>): SampleAnswer {
  return { status: 200, body: { service: identity.service, version: identity.version, ...body } };
}

/** The numeric id at the end of `/prefix/<id>`, or `undefined` if `path` is not such a path. */
export function idFromPath(path: string, prefix: string): number | undefined {
  const match = new RegExp(`^${prefix}/(\\d+)$`).exec(path);
  return match ? Number(match[1]) : undefined;
}
