// Workloads that look like real traffic (issue 18): many different operations and many different
// signed-in users, drawn from a seeded generator, so no two gateways or runs see different traffic
// and sharing identical in-flight requests cannot collapse the load into a few executions.
//   varied            anonymous reads: catalog pages (filters, sorts, page sizes, next pages by
//                     cursor), course pages, searches, the category menu; at least 500 distinct.
//   dashboard-varied  the signed-in dashboard (the `deep` document) of at least 500 learners, each
//                     with their own token.
//   mixed             70 % varied, 25 % dashboard-varied, 5 % completeLesson mutations.
// Every distinct operation's answer is fetched once before any load (the reference); under load
// every answer is checked against it, as the other workloads are.
import fs from 'node:fs';

const operation = (file) => fs.readFileSync(new URL(`../../../schema/operations/${file}`, import.meta.url), 'utf8');
const CATALOG = operation('catalog-page.graphql');
const COURSE_PAGE = operation('course-page.graphql');
const SEARCH = operation('search.graphql');
const CATEGORIES = operation('categories.graphql');

/** A small seeded generator (mulberry32): the same seed gives the same traffic on every run. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (random, list) => list[Math.floor(random() * list.length)];

/**
 * The distinct anonymous operations of `varied` with their reference answers, fetched through `gql`
 * (the set-up gateway). The catalog's own pages give the inputs: category slugs, instructors,
 * languages, course slugs and the words of course titles.
 */
export async function buildVariedOperations(gql, url, { seed, distinct }) {
  const random = seededRandom(seed);
  const must = async (query, variables, what) => {
    const res = await gql(url, query, variables);
    if (res.status !== 200 || res.body.errors || !res.body.data)
      throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body.errors ?? res.body).slice(0, 300)}`);
    return res.body.data;
  };
  // Every published course, 50 at a time.
  const courses = [];
  for (let after = null; ;) {
    const { catalog } = await must(CATALOG, { first: 50, sort: 'TITLE', after }, 'catalog walk');
    courses.push(...catalog.edges.map((e) => e.node));
    if (!catalog.pageInfo.hasNextPage) break;
    after = catalog.pageInfo.endCursor;
  }
  const categories = [...new Set(courses.map((c) => c.category?.slug).filter(Boolean))];
  const languages = [...new Set(courses.map((c) => c.language))];
  const instructors = [...new Set(courses.map((c) => c.instructor?.id).filter(Boolean))];
  const words = [
    ...new Set(
      courses.flatMap((c) =>
        c.title
          .toLowerCase()
          .split(/[^\p{L}\p{N}]+/u)
          .filter((w) => w.length >= 4),
      ),
    ),
  ].sort();

  const filters = () => {
    const kind = Math.floor(random() * 6);
    if (kind === 0) return undefined;
    if (kind === 1) return { category: pick(random, categories) };
    if (kind === 2) return { level: pick(random, ['BEGINNER', 'INTERMEDIATE', 'ADVANCED']) };
    if (kind === 3) return { language: pick(random, languages) };
    if (kind === 4) return { isFree: random() < 0.5 };
    return { instructorId: pick(random, instructors) };
  };
  const draw = () => {
    const r = random();
    if (r < 0.5) {
      const variables = { first: pick(random, [12, 20, 24]) };
      const sort = pick(random, [undefined, 'NEWEST', 'TITLE', 'PRICE_ASC', 'PRICE_DESC', 'POPULAR']);
      const filter = filters();
      if (sort) variables.sort = sort;
      if (filter) variables.filter = filter;
      return { name: 'CatalogPage', query: CATALOG, variables };
    }
    if (r < 0.78) return { name: 'CoursePage', query: COURSE_PAGE, variables: { slug: pick(random, courses).slug } };
    if (r < 0.98)
      return {
        name: 'SearchPage',
        query: SEARCH,
        variables: {
          q: random() < 0.7 ? pick(random, words) : `${pick(random, words)} ${pick(random, words)}`,
          first: pick(random, [10, 20]),
        },
      };
    return { name: 'Categories', query: CATEGORIES, variables: {} };
  };

  const operations = new Map();
  const add = async (op) => {
    const key = `${op.name} ${JSON.stringify(op.variables)}`;
    if (operations.has(key)) return null;
    const data = await must(op.query, op.variables, `${op.name} ${JSON.stringify(op.variables)}`);
    const entry = { ...op, reference: JSON.stringify(data) };
    operations.set(key, entry);
    return data;
  };
  for (let attempts = 0; operations.size < distinct; attempts++) {
    if (attempts > distinct * 20) throw new Error(`only ${operations.size} distinct operations could be drawn`);
    const op = draw();
    const data = await add(op);
    // A third of the catalog pages are followed to their next page, as a reader scrolling would.
    if (data && op.name === 'CatalogPage' && data.catalog.pageInfo.hasNextPage && random() < 0.35)
      await add({ ...op, variables: { ...op.variables, after: data.catalog.pageInfo.endCursor } });
  }
  return [...operations.values()];
}

/** How many of each operation name a list holds: the report shows the mix. */
export function countByName(operations) {
  const counts = {};
  for (const op of operations) counts[op.name] = (counts[op.name] ?? 0) + 1;
  return counts;
}

/**
 * A seeded schedule of `length` indexes into a pool of `size` (uniform, with repeats), so
 * connections do not walk the pool in lockstep and every gateway sees the same order.
 */
export function schedule(seed, size, length = 60_000) {
  const random = seededRandom(seed);
  return Uint32Array.from({ length }, () => Math.floor(random() * size));
}

/**
 * The mixed workload's request i: 70 % from `varied`, 25 % from `dashboard`, 5 % from `mutation`,
 * in a seeded order (each source's own sequence is kept, so the mutation items are used in turn).
 */
export function mixedWorkload({ varied, dashboard, mutation }, seed) {
  const random = seededRandom(seed);
  const kinds = Uint8Array.from({ length: 60_000 }, () => {
    const r = random();
    return r < 0.7 ? 0 : r < 0.95 ? 1 : 2;
  });
  const sources = [varied, dashboard, mutation];
  const taken = [0, 0, 0];
  return {
    next: (i) => {
      const kind = kinds[i % kinds.length];
      return sources[kind].next(taken[kind]++);
    },
  };
}
