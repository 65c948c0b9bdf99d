const UNRESERVED = /%(2[DdEe]|3\d|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|7[Ee])/g;

/**
 * The path authorization matches on, normalised as Istio's default (`BASE`, RFC 3986) does so an
 * encoded or dotted path cannot slip past a rule: query and fragment removed, percent-encoded
 * unreserved characters decoded (`/%61dmin` → `/admin`), `.` and `..` segments resolved.
 * Encoded slashes (`%2F`) and repeated slashes are kept, as in Istio's default.
 *
 * @example
 * ```ts
 * normalizePath("/public/../admin?x=1"); // "/admin"
 * ```
 */
export function normalizePath(raw: string): string {
  let end = raw.length;
  const query = raw.indexOf("?");
  if (query !== -1) end = query;
  const hash = raw.indexOf("#");
  if (hash !== -1 && hash < end) end = hash;
  let path = raw.slice(0, end);
  if (path.includes("%"))
    path = path.replace(UNRESERVED, (m) => String.fromCharCode(Number.parseInt(m.slice(1), 16)));
  if (!path.includes("/.")) return path === "" ? "/" : path;
  const out: string[] = [];
  const segments = path.split("/");
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === ".") {
      if (i === segments.length - 1) out.push("");
    } else if (segment === "..") {
      out.pop();
      if (i === segments.length - 1) out.push("");
    } else out.push(segment);
  }
  return `/${out.join("/")}`;
}
