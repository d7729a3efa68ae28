import dagre from '@dagrejs/dagre';
import type { LineageLink, LineageObject } from './model.ts';

/** Every node is drawn this size (lineage.css gives the boxes the same width and height). */
export const NODE_WIDTH = 250;
export const NODE_HEIGHT = 96;

export interface Placed {
  readonly node: LineageObject;
  /** Top-left corner. */
  readonly x: number;
  readonly y: number;
}

/**
 * Layers the graph left to right with dagre: what an object was made from to its left, what was
 * made from it to its right. Nodes come back in reading order (by layer, then top to bottom), the
 * order Tab walks through them. Links to an object missing from `nodes` are ignored.
 */
export function layOut(nodes: readonly LineageObject[], links: readonly LineageLink[]): { placed: Placed[]; width: number; height: number } {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 72, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  // Sorted first so that the same graph is always drawn the same way, whatever order the API lists it in.
  const sorted = [...nodes].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name) || a.version - b.version);
  for (const node of sorted) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const known = new Set(nodes.map((n) => n.id));
  for (const link of links) if (known.has(link.from) && known.has(link.to)) graph.setEdge(link.from, link.to);
  dagre.layout(graph);
  const placed = sorted.map((node) => {
    const { x, y } = graph.node(node.id);
    return { node, x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2 };
  });
  placed.sort((a, b) => a.x - b.x || a.y - b.y);
  const { width = 0, height = 0 } = graph.graph();
  return { placed, width, height };
}
