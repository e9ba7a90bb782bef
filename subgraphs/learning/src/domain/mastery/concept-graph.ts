/**
 * Rules of a course's concept graph: prerequisite edges must never form a cycle, concepts can be put
 * in an order that respects them, and a concept's prerequisites are met only when all are mastered.
 */
import { badInput } from '@coursegraph/service-kit';

/** A prerequisite edge: `from` must be mastered before `to`. */
export interface ConceptEdge {
  /** The prerequisite concept's id. */
  from: string;
  /** The dependent concept's id. */
  to: string;
}

/** Dependents of each concept (from → [to…]), in edge order. */
function dependentsOf(edges: readonly ConceptEdge[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { from, to } of edges) {
    const list = out.get(from);
    if (list) list.push(to);
    else out.set(from, [to]);
  }
  return out;
}

/** Prerequisites of each concept (to → [from…]), in edge order. */
function prerequisitesOf(edges: readonly ConceptEdge[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { from, to } of edges) {
    const list = out.get(to);
    if (list) list.push(from);
    else out.set(to, [from]);
  }
  return out;
}

function checkEdge(edge: ConceptEdge, what: string): void {
  if (typeof edge !== 'object' || edge === null || typeof edge.from !== 'string' || typeof edge.to !== 'string') {
    throw badInput(`${what} must have a prerequisite (from) and a dependent (to) concept id.`, 'edge');
  }
}

/**
 * Whether adding `newEdge` to an acyclic graph closes a cycle. Returns the cycle as a path of concept
 * ids that starts and ends at `newEdge.from` (`[from, to, …, from]`, the shortest such path, found by
 * breadth-first search from `to`), or null when the new edge is safe. A self-edge is the cycle
 * `[id, id]`. Linear in the number of edges.
 */
export function wouldCreateCycle(edges: readonly ConceptEdge[], newEdge: ConceptEdge): string[] | null {
  checkEdge(newEdge, 'The new prerequisite edge');
  edges.forEach((edge, i) => checkEdge(edge, `Edge ${i}`));
  const { from, to } = newEdge;
  if (from === to) return [from, from];
  // The new edge closes a cycle iff `from` is already reachable from `to`.
  const dependents = dependentsOf(edges);
  const parent = new Map<string, string>([[to, to]]);
  const queue = [to];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    if (node === from) {
      const path = [from];
      for (let at = from; at !== to; at = parent.get(at)!) path.push(parent.get(at)!);
      // path is from ← … ← to reversed; the cycle reads from → to → … → from.
      path.reverse();
      return [from, ...path];
    }
    for (const next of dependents.get(node) ?? []) {
      if (!parent.has(next)) {
        parent.set(next, node);
        queue.push(next);
      }
    }
  }
  return null;
}

/**
 * Refuses (BAD_USER_INPUT, field `prerequisiteId`) an edge that would close a cycle, naming the cycle
 * with the concepts' titles when given (ids otherwise), e.g. "… would create a cycle: Fractions →
 * Ratios → Fractions". Changes nothing; the caller runs it while holding the course graph's lock.
 */
export function assertNoCycle(
  edges: readonly ConceptEdge[],
  newEdge: ConceptEdge,
  titles: ReadonlyMap<string, string> = new Map(),
): void {
  const cycle = wouldCreateCycle(edges, newEdge);
  if (!cycle) return;
  const name = (id: string) => titles.get(id) ?? id;
  const message =
    cycle.length === 2
      ? `A concept cannot be its own prerequisite: ${name(newEdge.from)}.`
      : `Making ${name(newEdge.from)} a prerequisite of ${name(newEdge.to)} would create a cycle: ${cycle.map(name).join(' → ')}.`;
  throw badInput(message, 'prerequisiteId');
}

/** A concept given by id, or by an object with an id. */
export type ConceptRef = string | { id: string };

function idOf(concept: ConceptRef): string {
  return typeof concept === 'string' ? concept : concept.id;
}

/**
 * Concept ids ordered so that every prerequisite comes before its dependents (Kahn's algorithm).
 * Among the concepts ready at once, the earliest in `concepts` comes first, so the result is
 * deterministic. Refuses (BAD_USER_INPUT) an edge
 * naming a concept not in `concepts`, and a graph with a cycle (naming one).
 */
export function topologicalOrder(concepts: readonly ConceptRef[], edges: readonly ConceptEdge[]): string[] {
  const ids = concepts.map(idOf);
  const index = new Map<string, number>();
  for (const id of ids) {
    if (index.has(id)) throw badInput(`Concept ${id} is listed twice.`, 'concepts');
    index.set(id, index.size);
  }
  edges.forEach((edge, i) => checkEdge(edge, `Edge ${i}`));
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const { from, to } of edges) {
    for (const id of [from, to]) {
      if (!index.has(id))
        throw badInput(`A prerequisite edge names concept ${id}, which is not in the course.`, 'edges');
    }
    indegree.set(to, indegree.get(to)! + 1);
  }
  const dependents = dependentsOf(edges);
  // Ready concepts, kept sorted by their position in `concepts` (a small binary-insertion queue).
  const ready = ids.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) {
        const at = index.get(next)!;
        let lo = 0;
        let hi = ready.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (index.get(ready[mid]!)! < at) lo = mid + 1;
          else hi = mid;
        }
        ready.splice(lo, 0, next);
      }
    }
  }
  if (order.length < ids.length) {
    throw badInput(
      `The prerequisite graph has a cycle: ${findCycle(ids, edges, new Set(order)).join(' → ')}.`,
      'edges',
    );
  }
  return order;
}

/** A cycle among the concepts Kahn's algorithm could not order (each has a prerequisite among them). */
function findCycle(ids: readonly string[], edges: readonly ConceptEdge[], ordered: ReadonlySet<string>): string[] {
  const prerequisites = prerequisitesOf(edges);
  // Walk prerequisites backwards among unordered concepts until one repeats: that loop is a cycle.
  let at = ids.find((id) => !ordered.has(id))!;
  const seenAt = new Map<string, number>();
  const walk: string[] = [];
  while (!seenAt.has(at)) {
    seenAt.set(at, walk.length);
    walk.push(at);
    at = (prerequisites.get(at) ?? []).find((p) => !ordered.has(p))!;
  }
  const loop = walk.slice(seenAt.get(at)!).reverse();
  // Start the named cycle at its member listed first in the course, so the message is stable.
  const position = new Map(ids.map((id, i) => [id, i]));
  let start = 0;
  loop.forEach((id, i) => {
    if (position.get(id)! < position.get(loop[start]!)!) start = i;
  });
  const rotated = [...loop.slice(start), ...loop.slice(0, start)];
  return [...rotated, rotated[0]!];
}

/**
 * The prerequisites of `conceptId` that are not mastered, direct and indirect (a prerequisite of a
 * prerequisite counts too: mastering B does not excuse skipping A in A → B → C). Nearest first
 * (breadth-first), each once. An empty list means the concept's prerequisites are met.
 */
export function unmetPrerequisites(
  conceptId: string,
  edges: readonly ConceptEdge[],
  mastered: ReadonlySet<string>,
): string[] {
  return unmetWith(conceptId, prerequisitesOf(edges), mastered);
}

/** {@link unmetPrerequisites} over a prebuilt prerequisite index (for callers asking about many concepts). */
export function unmetWith(
  conceptId: string,
  prerequisites: ReadonlyMap<string, readonly string[]>,
  mastered: ReadonlySet<string>,
): string[] {
  const unmet: string[] = [];
  const seen = new Set<string>([conceptId]);
  const queue = [conceptId];
  for (let head = 0; head < queue.length; head++) {
    for (const prerequisite of prerequisites.get(queue[head]!) ?? []) {
      if (seen.has(prerequisite)) continue;
      seen.add(prerequisite);
      queue.push(prerequisite);
      if (!mastered.has(prerequisite)) unmet.push(prerequisite);
    }
  }
  return unmet;
}

/** The prerequisite index (concept → its direct prerequisites) that {@link unmetWith} takes. */
export function prerequisiteIndex(edges: readonly ConceptEdge[]): Map<string, string[]> {
  return prerequisitesOf(edges);
}
