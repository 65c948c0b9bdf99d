/**
 * The path-prefix trie of a route index: built as objects (a compressed character trie, each edge
 * holding the run of characters up to the next branch or list), then flattened into typed arrays
 * and one string of edge labels for lookups. A lookup walks the path a few characters per step and
 * touches a handful of contiguous arrays instead of a node, a map and an edge object per step,
 * which keeps it cheap when the table is far larger than the CPU caches.
 */

/** A node of the trie being built: its list (entries of route-index.ts) and its edges by first character. */
export interface PrefixNode {
  routes?: number[];
  next?: Map<number, PrefixEdge>;
}

/** An edge of the trie being built: the characters it consumes (at least one) and the node it leads to. */
export interface PrefixEdge {
  label: string;
  node: PrefixNode;
}

/**
 * The flattened trie. Node 0 is the root; node `n`'s edges are `nodeEdges[n]` to
 * `nodeEdges[n + 1] - 1`; edge `e` consumes `labels.slice(edgeStart[e], edgeStart[e] + edgeLength[e])`
 * (first character `edgeFirst[e]`) and leads to node `edgeTarget[e]`; `nodeList[n]` is the index of
 * the node's list in `lists`, or -1.
 */
export interface PrefixTrie {
  readonly labels: string;
  readonly nodeEdges: Uint32Array;
  readonly nodeList: Int32Array;
  readonly edgeFirst: Uint16Array;
  readonly edgeStart: Uint32Array;
  readonly edgeLength: Uint32Array;
  readonly edgeTarget: Uint32Array;
  readonly lists: readonly (readonly number[])[];
}

/** Adds `entry` under `key`; `add` puts it into a node's list. */
export function addPrefix(
  root: PrefixNode,
  key: string,
  entry: number,
  add: (list: number[], entry: number) => void,
): void {
  let node = root;
  for (let i = 0; i < key.length; i++) {
    node.next ??= new Map();
    const code = key.charCodeAt(i);
    let edge = node.next.get(code);
    if (!edge) {
      edge = { label: key[i] as string, node: {} };
      node.next.set(code, edge);
    }
    node = edge.node;
  }
  node.routes ??= [];
  add(node.routes, entry);
}

/** Merges chains of list-less single-child nodes into one edge each. */
export function compressPrefixes(node: PrefixNode): void {
  for (const edge of node.next?.values() ?? []) {
    while (!edge.node.routes && edge.node.next?.size === 1) {
      const only = edge.node.next.values().next().value as PrefixEdge;
      edge.label += only.label;
      edge.node = only.node;
    }
    compressPrefixes(edge.node);
  }
}

/** The last node (with a list) whose key `path` starts with; the root when none. */
export function deepestPrefixNode(root: PrefixNode, path: string): PrefixNode {
  let node = root;
  let reached = root;
  let i = 0;
  for (;;) {
    if (node.routes) reached = node;
    if (i >= path.length || !node.next) return reached;
    const edge = node.next.get(path.charCodeAt(i));
    if (!edge || !path.startsWith(edge.label, i)) return reached;
    i += edge.label.length;
    node = edge.node;
  }
}

/**
 * Flattens a (compressed) trie; nodes are numbered breadth first, so each node's edges are
 * contiguous.
 *
 * @example
 * ```ts
 * const root: PrefixNode = {};
 * addPrefix(root, "/api", 1, (list, e) => list.push(e));
 * compressPrefixes(root);
 * prefixLists(flattenPrefixes(root), "/api/v1", []); // [[1]]
 * ```
 */
export function flattenPrefixes(root: PrefixNode): PrefixTrie {
  const nodes: PrefixNode[] = [root];
  const edges: PrefixEdge[] = [];
  const nodeEdges: number[] = [];
  for (let n = 0; n < nodes.length; n++) {
    nodeEdges.push(edges.length);
    for (const edge of (nodes[n] as PrefixNode).next?.values() ?? []) {
      edges.push(edge);
      nodes.push(edge.node);
    }
  }
  nodeEdges.push(edges.length);
  const ids = new Map(nodes.map((node, id) => [node, id]));
  const lists: (readonly number[])[] = [];
  const nodeList = Int32Array.from(nodes, (node) => (node.routes ? lists.push(node.routes) - 1 : -1));
  let labels = "";
  const edgeStart = new Uint32Array(edges.length);
  edges.forEach((edge, e) => {
    edgeStart[e] = labels.length;
    labels += edge.label;
  });
  return {
    labels,
    nodeEdges: Uint32Array.from(nodeEdges),
    nodeList,
    edgeFirst: Uint16Array.from(edges, (edge) => edge.label.charCodeAt(0)),
    edgeStart,
    edgeLength: Uint32Array.from(edges, (edge) => edge.label.length),
    edgeTarget: Uint32Array.from(edges, (edge) => ids.get(edge.node) as number),
    lists,
  };
}

/**
 * Pushes onto `out` the list of every node whose key `path` starts with, root first; with `last`,
 * only the deepest one's (when each node's list already holds its ancestors'). Returns `out`.
 */
export function prefixLists(
  trie: PrefixTrie,
  path: string,
  out: (readonly number[])[],
  last = false,
): (readonly number[])[] {
  const { labels, nodeEdges, nodeList, edgeFirst, edgeStart, edgeLength, edgeTarget, lists } = trie;
  let node = 0;
  let i = 0;
  let deepest = -1;
  for (;;) {
    const list = nodeList[node] as number;
    if (list >= 0) {
      if (last) deepest = list;
      else out.push(lists[list] as readonly number[]);
    }
    if (i >= path.length) break;
    const code = path.charCodeAt(i);
    const end = nodeEdges[node + 1] as number;
    let edge = nodeEdges[node] as number;
    while (edge < end && edgeFirst[edge] !== code) edge++;
    if (edge === end) break;
    const length = edgeLength[edge] as number;
    if (i + length > path.length) break;
    const start = edgeStart[edge] as number;
    let k = 1;
    while (k < length && labels.charCodeAt(start + k) === path.charCodeAt(i + k)) k++;
    if (k < length) break;
    i += length;
    node = edgeTarget[edge] as number;
  }
  if (deepest >= 0) out.push(lists[deepest] as readonly number[]);
  return out;
}
