import { expect, it } from "vitest";
import { defineGatewayApiFilterCases } from "./gateway-api-filters.case.ts";
import { defineGatewayApiGrpcCases } from "./gateway-api-grpc.case.ts";
import { defineGatewayApiListenerCases } from "./gateway-api-listeners.case.ts";
import { defineGatewayApiMeshCases } from "./gateway-api-mesh.case.ts";
import { defineGatewayApiRoutingCases } from "./gateway-api-routing.case.ts";

// The Gateway API HTTPRoute behaviour suite in Node; gateway-api.worker.test.ts runs it in workerd.
defineGatewayApiRoutingCases();
defineGatewayApiFilterCases();
defineGatewayApiMeshCases();
defineGatewayApiGrpcCases();
defineGatewayApiListenerCases();

it("runs in Node, not workerd", () => {
  expect(navigator.userAgent).toMatch(/^Node\.js\//);
});
