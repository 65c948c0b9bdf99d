import { expect, it } from "vitest";
import { defineGatewayApiFilterCases } from "./gateway-api-filters.case.ts";
import { defineGatewayApiMeshCases } from "./gateway-api-mesh.case.ts";
import { defineGatewayApiRoutingCases } from "./gateway-api-routing.case.ts";

// The Gateway API HTTPRoute behaviour suite in Node; gateway-api.worker.test.ts runs it in workerd.
defineGatewayApiRoutingCases();
defineGatewayApiFilterCases();
defineGatewayApiMeshCases();

it("runs in Node, not workerd", () => {
  expect(navigator.userAgent).toMatch(/^Node\.js\//);
});
