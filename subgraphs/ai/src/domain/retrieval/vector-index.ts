/**
 * The vector ranker: exact cosine similarity over every vector of a course, held row after row in one
 * growing Float32Array (no per-vector objects for the garbage collector, a scan the CPU prefetches).
 *
 * Why exact and in-process: pgvector is not packaged for PostgreSQL 15 on Debian 12, and at this size
 * an exact scan is both the simplest and the most accurate choice. The 200 demo courses hold a few
 * thousand passages; one query scans only its own course, a few hundred rows of 384 floats, well under
 * a millisecond. The vectors' home is the ai schema (float32 bytes, see toBytes), this index is rebuilt
 * from it at start.
 *
 * The path to 10M embeddings: 10M × 384 × 4 bytes is 15 GB, too much memory per replica and too
 * slow to rebuild at every start, although a query would still scan only its course. Move the vectors
 * to pgvector (PostgreSQL 16+, where it is packaged) as halfvec with an HNSW index and the course as a
 * filter column, or to a dedicated vector database (Qdrant, Milvus) with the course as a payload
 * filter; keep the lexical side here or in the same store. The float32 bytes already in the ai schema
 * are what either one is loaded from, and the EmbeddingProvider and Retriever interfaces stay as
 * they are.
 */
import { TopK } from './top-k.js';

export interface VectorHit {
  id: string;
  score: number;
}

export class VectorIndex {
  /** Row r holds a vector at [r·dimensions, (r+1)·dimensions); rows [0, size) are in use. */
  private rows: Float32Array;
  private rowCourses: Int32Array;
  private readonly rowIds: string[] = [];
  private readonly rowOfId = new Map<string, number>();
  /** Course ids as small numbers, so the scan's course filter compares integers. */
  private readonly courseNumbers = new Map<string, number>();

  constructor(
    readonly dimensions: number,
    initialCapacity = 256,
  ) {
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`Bad vector dimensions: ${dimensions}.`);
    const capacity = Math.max(1, initialCapacity);
    this.rows = new Float32Array(capacity * dimensions);
    this.rowCourses = new Int32Array(capacity);
  }

  get size(): number {
    return this.rowIds.length;
  }

  has(id: string): boolean {
    return this.rowOfId.has(id);
  }

  /** Adds (or replaces) the vector of a passage; it is stored L2-normalised, so a dot product is a cosine. */
  add(id: string, courseId: string, vector: Float32Array): void {
    this.checkVector(vector);
    let row = this.rowOfId.get(id);
    if (row === undefined) {
      row = this.rowIds.length;
      this.ensureCapacity(row + 1);
      this.rowIds.push(id);
      this.rowOfId.set(id, row);
    }
    let courseNumber = this.courseNumbers.get(courseId);
    if (courseNumber === undefined) this.courseNumbers.set(courseId, (courseNumber = this.courseNumbers.size));
    this.rowCourses[row] = courseNumber;
    const norm = lengthOf(vector) || 1;
    const offset = row * this.dimensions;
    for (let i = 0; i < this.dimensions; i++) this.rows[offset + i] = vector[i]! / norm;
  }

  /** Drops a vector by moving the last row into its place (rows stay dense); false when absent. */
  remove(id: string): boolean {
    const row = this.rowOfId.get(id);
    if (row === undefined) return false;
    const lastRow = this.rowIds.length - 1;
    if (row !== lastRow) {
      const lastId = this.rowIds[lastRow]!;
      this.rows.copyWithin(row * this.dimensions, lastRow * this.dimensions, (lastRow + 1) * this.dimensions);
      this.rowCourses[row] = this.rowCourses[lastRow]!;
      this.rowIds[row] = lastId;
      this.rowOfId.set(lastId, row);
    }
    this.rowIds.pop();
    this.rowOfId.delete(id);
    return true;
  }

  /** The k vectors of the course most similar to the query (cosine, best first). */
  search(query: Float32Array, { courseId, k }: { courseId: string; k: number }): VectorHit[] {
    this.checkVector(query);
    const courseNumber = this.courseNumbers.get(courseId);
    if (courseNumber === undefined) return [];
    const norm = lengthOf(query) || 1;
    const best = new TopK<string>(k);
    const { rows, rowCourses, dimensions } = this;
    for (let row = 0; row < this.rowIds.length; row++) {
      if (rowCourses[row] !== courseNumber) continue;
      const offset = row * dimensions;
      let dot = 0;
      for (let i = 0; i < dimensions; i++) dot += rows[offset + i]! * query[i]!;
      const id = this.rowIds[row]!;
      best.offer({ item: id, key: id, score: dot / norm });
    }
    return best.sorted().map(({ item, score }) => ({ id: item, score }));
  }

  private checkVector(vector: Float32Array) {
    if (!(vector instanceof Float32Array) || vector.length !== this.dimensions) {
      throw new RangeError(`Expected a Float32Array of ${this.dimensions} dimensions, got ${describe(vector)}.`);
    }
    if (!vector.every(Number.isFinite)) throw new RangeError('A vector holds a value that is not a finite number.');
  }

  private ensureCapacity(rowCount: number) {
    const capacity = this.rowCourses.length;
    if (rowCount <= capacity) return;
    const grown = Math.max(rowCount, capacity * 2);
    const rows = new Float32Array(grown * this.dimensions);
    rows.set(this.rows);
    this.rows = rows;
    const rowCourses = new Int32Array(grown);
    rowCourses.set(this.rowCourses);
    this.rowCourses = rowCourses;
  }
}

function lengthOf(vector: Float32Array): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return Math.sqrt(sum);
}

const describe = (value: unknown) =>
  value instanceof Float32Array ? `${value.length} dimensions` : Object.prototype.toString.call(value);

/** A vector as bytes for a bytea column: float32, little-endian whatever the machine. */
export function toBytes(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return bytes;
}

/** The inverse of toBytes; refuses bytes that are not exactly `dimensions` float32 values. */
export function fromBytes(bytes: Uint8Array, dimensions: number): Float32Array {
  if (bytes.byteLength !== dimensions * 4) {
    throw new RangeError(
      `A stored embedding of ${dimensions} dimensions takes ${dimensions * 4} bytes, not ${bytes.byteLength}.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) vector[i] = view.getFloat32(i * 4, true);
  return vector;
}
