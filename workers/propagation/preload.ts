/**
 * Preload entry: `node --import jibe/propagation app.js` (or the path of this file). Installs
 * {@link installHeaderPropagation} before the app loads, so the inbound request's trace headers
 * reach its outbound `fetch`/`http` calls. `JIBE_PROPAGATE_EXTRA_HEADERS=end-user,x-tenant` adds
 * app headers to the list.
 */
import { installHeaderPropagation } from "./header-propagation.ts";

const extra = (process.env.JIBE_PROPAGATE_EXTRA_HEADERS ?? "")
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);
installHeaderPropagation({ extraHeaders: extra });
