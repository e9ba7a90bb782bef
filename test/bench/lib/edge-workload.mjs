// The normal traffic of bench:edge: anonymous catalog reads as visitors make them — catalog pages
// with different filters, sorts, sizes and cursors, course pages with the instructor and their other
// courses, and searches — about 230 distinct operations and variables, shuffled, each request from
// one of `clientIps` client addresses (X-Forwarded-For, believed from the trusted proxy 127.0.0.1).
// Every answer is checked byte for byte against its reference, fetched before any load.
import { gql } from '../gateway/workloads.mjs';

const CATALOG = `query CatalogPage($first: Int!, $sort: CatalogSort, $filter: CatalogFilter, $after: String) {
  catalog(first: $first, sort: $sort, filter: $filter, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id slug title isFree level price { amountMinor currency } instructor { id name } lessonCount enrollmentCount } }
  }
}`;

const COURSE_PAGE = `query CoursePage($slug: String!) {
  course(slug: $slug) {
    id slug title summary level language isFree price { amountMinor currency } lessonCount enrollmentCount
    category { slug name }
    instructor { id name taughtCourses(first: 5) { totalCount edges { node { id slug title price { amountMinor currency } } } } }
    modules { title position lessonCount lessons { title kind durationSeconds } }
  }
}`;

const SEARCH = `query Search($q: String!, $first: Int) {
  search(query: $q, first: $first) {
    totalCount
    edges { node { kind titleSnippet course { id slug title instructor { name } } } }
  }
}`;

const CATEGORIES = `query Categories { categories { slug name courseCount } }`;

const must = (res, what) => {
  if (res.status !== 200 || res.body.errors || !res.body.data)
    throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body.errors ?? res.body).slice(0, 400)}`);
  return res.body.data;
};

/** A deterministic shuffle (mulberry32), so every run sends the same sequence. */
function shuffle(items, seed = 7) {
  let a = seed;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The operations (query and variables), built from what the demo catalog holds. */
export async function buildOperations(url) {
  const { categories } = must(await gql(url, CATEGORIES, {}), 'categories');
  const cats = categories
    .filter((c) => c.courseCount > 0)
    .slice(0, 3)
    .map((c) => c.slug);
  const filters = [
    null,
    { isFree: true },
    { isFree: false },
    { level: 'BEGINNER' },
    { level: 'ADVANCED' },
    ...cats.map((category) => ({ category })),
  ];
  const ops = [];
  const firstPages = [];
  for (const first of [5, 10, 20])
    for (const sort of ['NEWEST', 'TITLE', 'PRICE_ASC', 'PRICE_DESC'])
      for (const filter of filters) {
        const op = { kind: 'catalog', query: CATALOG, variables: { first, sort, filter } };
        ops.push(op);
        if (first === 10) firstPages.push(op);
      }
  // Second pages, from the first pages' cursors.
  for (const op of firstPages) {
    const { catalog } = must(await gql(url, op.query, op.variables), 'catalog page');
    if (catalog.pageInfo.hasNextPage)
      ops.push({
        kind: 'catalog-next',
        query: CATALOG,
        variables: { ...op.variables, after: catalog.pageInfo.endCursor },
      });
  }
  // Course pages and searches over a spread of the catalog.
  const { catalog } = must(await gql(url, CATALOG, { first: 100, sort: 'TITLE' }), 'catalog for course pages');
  const courses = catalog.edges.map((e) => e.node);
  for (const course of courses.filter((_, i) => i % 2 === 0).slice(0, 50))
    ops.push({ kind: 'course', query: COURSE_PAGE, variables: { slug: course.slug } });
  const words = [
    ...new Set(courses.flatMap((c) => c.title.toLowerCase().split(/[^\p{L}\p{N}]+/u)).filter((w) => w.length >= 4)),
  ].slice(0, 40);
  words.forEach((word, i) =>
    ops.push({
      kind: 'search',
      query: SEARCH,
      variables: { q: i % 3 === 0 ? word.slice(0, -1) : word, first: i % 2 ? 5 : 10 },
    }),
  );
  return shuffle(ops);
}

/** The reference answer of every operation (serialised `data`); throws on any error. */
export async function fetchReferences(url, ops) {
  const out = [];
  for (let i = 0; i < ops.length; i += 8)
    out.push(
      ...(await Promise.all(
        ops
          .slice(i, i + 8)
          .map(async (op) =>
            JSON.stringify(
              must(await gql(url, op.query, op.variables), `reference of ${op.kind} ${JSON.stringify(op.variables)}`),
            ),
          ),
      )),
    );
  return out;
}

/** The i-th of `count` client addresses of a traffic class (`10.<net>.x.y`). */
export const clientIp = (net, i, count) => {
  const k = i % count;
  return `10.${net}.${Math.floor(k / 250)}.${(k % 250) + 1}`;
};

/** The workload `runLoad` drives: request i is operation i mod n, from client address i mod `clientIps`. */
export function normalWorkload(ops, references, { clientIps }) {
  const requests = ops.map((op, i) => {
    const exact = `{"data":${references[i]}}`;
    return {
      body: JSON.stringify({ query: op.query, variables: op.variables }),
      check: (status, text) => {
        if (status !== 200) return `HTTP ${status}: ${text.slice(0, 120)}`;
        if (text === exact || text === `${exact}\n`) return null;
        try {
          const body = JSON.parse(text);
          if (body.errors)
            return `${op.kind}: ${body.errors[0]?.extensions?.code ?? ''} ${body.errors[0]?.extensions?.reason ?? ''} ${body.errors[0]?.message ?? ''}`.slice(
              0,
              160,
            );
          return JSON.stringify(body.data) === references[i] ? null : `${op.kind}: wrong answer`;
        } catch {
          return `${op.kind}: not JSON`;
        }
      },
    };
  });
  return {
    next: (i) => {
      const request = requests[i % requests.length];
      return { body: request.body, headers: { 'x-forwarded-for': clientIp(20, i, clientIps) }, check: request.check };
    },
  };
}
