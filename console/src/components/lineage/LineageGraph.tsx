import { Background, Controls, type Edge, Handle, MarkerType, type Node, type NodeProps, Position, ReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';
import { Link } from 'wouter';
import { formatTime } from '../../format.ts';
import { layOut, NODE_HEIGHT } from './layout.ts';
import { hasVersions, KIND_LABEL, type LineageLink, type LineageObject, objectLabel, pageOf } from './model.ts';
import './lineage.css';

type ObjectData = { object: LineageObject; root: boolean; href: string | null; lineageHref: string | null };
type ObjectNode = Node<ObjectData, 'object'>;

/**
 * The drawn box of one object: its kind, name and version, the root marked, a deleted one greyed
 * with its deletion time; a link to its page when it has one, and beside it (drawn in the box's
 * top right corner, next in Tab order) a link to the lineage that starts from it.
 */
function ObjectBox({ data }: NodeProps<ObjectNode>) {
  const { object, root, href, lineageHref } = data;
  const content = (
    <>
      {/* The spaces keep the words apart in the link's accessible name; the flex layout ignores them. */}
      <span className="object-badges">
        <span className={`badge kind-${object.kind.toLowerCase().replace('_', '-')}`}>{KIND_LABEL[object.kind]}</span>{' '}
        {root && <span className="badge root-badge">root</span>}
      </span>{' '}
      <span className="object-name" title={object.name}>
        {object.name}
      </span>{' '}
      {hasVersions(object.kind) && <span className="object-version">version {object.version}</span>}{' '}
      {object.deleted && <span className="object-deleted">deleted {formatTime(object.deletedAt)}</span>}
    </>
  );
  const className = `lineage-object${root ? ' root' : ''}${object.deleted ? ' deleted' : ''}`;
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {href ? (
        <Link href={href} className={`${className} nopan`}>
          {content}
        </Link>
      ) : (
        <div className={className}>{content}</div>
      )}
      {lineageHref && (
        <Link href={lineageHref} className="object-lineage nopan">
          lineage from here<span className="visually-hidden"> ({objectLabel(object)})</span>
        </Link>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
}

const NODE_TYPES = { object: ObjectBox };

/**
 * A lineage graph drawn with React Flow, laid out in layers by dagre: upstream on the left. Each
 * object that has a page is a link to it, reached with Tab in reading order and opened with Enter
 * or a click; the view pans by dragging and zooms with the controls (the page scrolls as usual
 * over it). The same objects and links are listed as text beside it by the page.
 */
export function LineageGraph({
  nodes,
  links,
  rootId,
  label,
  lineageHrefOf,
}: {
  nodes: readonly LineageObject[];
  links: readonly LineageLink[];
  rootId: string;
  label: string;
  /** The page showing the lineage that starts from an object; null where there is none. */
  lineageHrefOf: (object: LineageObject) => string | null;
}) {
  const { flowNodes, flowEdges, height } = useMemo(() => {
    const layout = layOut(nodes, links);
    const deleted = new Set(nodes.filter((n) => n.deleted).map((n) => n.id));
    const flowNodes: ObjectNode[] = layout.placed.map(({ node, x, y }) => ({
      id: node.id,
      type: 'object',
      position: { x, y },
      data: { object: node, root: node.id === rootId, href: pageOf(node), lineageHref: node.id === rootId ? null : lineageHrefOf(node) },
      // The node's box is not focusable itself: the link inside it is.
      ariaRole: 'group',
      ariaLabel: `${KIND_LABEL[node.kind]} ${node.name}`,
    }));
    const known = new Set(nodes.map((n) => n.id));
    const flowEdges: Edge[] = links
      .filter((l) => known.has(l.from) && known.has(l.to))
      .map((l) => ({
        id: `${l.from}→${l.to}`,
        source: l.from,
        target: l.to,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        className: deleted.has(l.from) || deleted.has(l.to) ? 'deleted' : undefined,
      }));
    // Tall enough for the layout at full size, within reason; fitView zooms out past that.
    const height = Math.min(Math.max(layout.height + 40, NODE_HEIGHT + 80), 640);
    return { flowNodes, flowEdges, height };
  }, [nodes, links, rootId, lineageHrefOf]);
  // A new graph is fitted into view anew: React Flow fits only when it mounts.
  const signature = flowNodes.map((n) => n.id).join(' ');
  return (
    <figure className="lineage-graph" style={{ height }} aria-label={label}>
      <ReactFlow
        key={signature}
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={NODE_TYPES}
        fitView
        // Room on the left for the zoom controls.
        fitViewOptions={{ padding: { top: '16px', right: '16px', bottom: '16px', left: '56px' }, maxZoom: 1 }}
        minZoom={0.2}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        elementsSelectable={false}
        disableKeyboardA11y
        zoomOnScroll={false}
        zoomOnDoubleClick={false}
        preventScrolling={false}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </figure>
  );
}
