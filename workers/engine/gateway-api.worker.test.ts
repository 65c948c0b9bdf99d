import { expect, it } from "vitest";
import { defineGatewayApiFilterCases } from "./gateway-api-filters.case.ts";
import { defineGatewayApiGrpcCases } from "./gateway-api-grpc.case.ts";
import { defineGatewayApiListenerCases } from "./gateway-api-listeners.case.ts";
import { defineGatewayApiMeshCases } from "./gateway-api-mesh.case.ts";
import { defineGatewayApiRoutingCases } from "./gateway-api-routing.case.ts";

// The Gateway API HTTPRoute behaviour suite inside workerd: same cases, same decisions as in Node.
defineGatewayApiRoutingCases();
defineGatewayApiFilterCases();
defineGatewayApiMeshCases();
defineGatewayApiGrpcCases();
defineGatewayApiListenerCases();

it("runs in workerd", () => {
  expect(navigator.userAgent).toBe("Cloudflare-Workers");
});
