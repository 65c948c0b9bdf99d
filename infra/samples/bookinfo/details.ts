import { answer, idFromPath, type SampleHandler, type ServiceIdentity } from "./sample-handler.ts";

/**
 * details: `GET /details/<id>` → the book's details (the same book for every id, as in bookinfo).
 *
 * @example
 * ```ts
 * await detailsHandler({ service: "details", version: "v1" })(request); // { service: "details", version: "v1", id: 0, author: ... }
 * ```
 */
export function detailsHandler(identity: ServiceIdentity): SampleHandler {
  return async (request) => {
    const id = idFromPath(request.path, "/details");
    if (id === undefined) return undefined;
    return answer(identity, {
      id,
      author: "William Shakespeare",
      year: 1595,
      type: "paperback",
      pages: 200,
      publisher: "PublisherA",
      language: "English",
      "ISBN-10": "1234567890",
      "ISBN-13": "123-1234567890",
    });
  };
}
