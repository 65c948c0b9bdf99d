import { answer, idFromPath, type SampleHandler, type ServiceIdentity } from "./sample-handler.ts";

/**
 * ratings: `GET /ratings/<id>` → stars per reviewer.
 *
 * @example
 * ```ts
 * await ratingsHandler({ service: "ratings", version: "v1" })(request); // { ..., stars: { Reviewer1: 5, Reviewer2: 4 } }
 * ```
 */
export function ratingsHandler(identity: ServiceIdentity): SampleHandler {
  return async (request) => {
    const id = idFromPath(request.path, "/ratings");
    if (id === undefined) return undefined;
    return answer(identity, { id, stars: { Reviewer1: 5, Reviewer2: 4 } });
  };
}
