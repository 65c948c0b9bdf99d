import { defineRequestAuthnSuite } from "./request-authn.case.ts";

// The shared request-authentication suite in Node; request-authn.worker.test.ts runs it in workerd.
defineRequestAuthnSuite();
