/**
 * The platform's own heaviest legitimate operations stay under the default limits, judged against
 * the committed supergraph as the gateway judges them. Each operation's figures are printed next
 * to the limits (run with `--reporter verbose` to read them), so a changed default or SDL shows
 * how much room is left.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { operationLimitSettings, readConfig } from '../src/config.js';
import {
  analyseShape,
  costLimitFor,
  costTableFromSdl,
  operationCost,
  shapeRefusal,
  withTokenLimit,
  countTokens,
  type CallerClass,
} from '../src/operation-limits/index.js';
// The bench's checked workloads.
import { CATALOG_QUERY, DEEP_QUERY, MUTATION, ROOT } from '@coursegraph/test-support';

const config = readConfig(operationLimitSettings, {});
const supergraphSdl = readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');
const table = costTableFromSdl(supergraphSdl);
const subgraphs = JSON.parse(readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8')).subgraphs as Record<
  string,
  { sdl: string }
>;
const subgraphTables = new Map(
  Object.entries(subgraphs).map(([name, { sdl }]) => [
    name,
    costTableFromSdl(readFileSync(path.join(ROOT, sdl), 'utf8')),
  ]),
);

// The gateway's own query planner (what @apollo/gateway runs), to see the queries each subgraph gets.
const require = createRequire(import.meta.url);
const { Supergraph, operationFromDocument } = require('@apollo/federation-internals');
const { QueryPlanner } = require('@apollo/query-planner');
const supergraph = Supergraph.build(supergraphSdl);
const planner = new QueryPlanner(supergraph);
const apiSchema = supergraph.schema.toAPISchema();

interface PlanNode {
  kind: string;
  serviceName?: string;
  operation?: string;
  nodes?: PlanNode[];
  node?: PlanNode;
  main?: PlanNode;
  deferred?: { node?: PlanNode }[];
  ifClause?: PlanNode;
  elseClause?: PlanNode;
}
function fetchesOf(node: PlanNode | undefined, out: { serviceName: string; operation: string }[] = []) {
  if (!node) return out;
  if (node.kind === 'Fetch') out.push({ serviceName: node.serviceName!, operation: node.operation! });
  for (const child of [
    ...(node.nodes ?? []),
    node.node,
    node.main,
    node.ifClause,
    node.elseClause,
    ...(node.deferred ?? []).map((d) => d.node),
  ])
    fetchesOf(child, out);
  return out;
}

interface Legitimate {
  name: string;
  caller: CallerClass;
  query: string;
  variables?: Record<string, unknown>;
}

const COURSE_CARD =
  'id slug title summary isFree price { amountMinor currency } level language category { slug name } instructor { id name } lessonCount enrollmentCount';

const LEGITIMATE: Legitimate[] = [
  {
    name: 'learner dashboard',
    caller: 'signed-in',
    query: `query Dashboard {
      me {
        id name email role
        enrollments(first: 20) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { node {
            id mode status enrolledAt completedAt
            progress { completedLessonIds completedRequired requiredTotal percent }
            certificate { publicId courseTitle issuedAt }
            course {
              id slug title isFree price { amountMinor currency } lessonCount instructor { id name }
              modules { id title position lessonCount lessons { id title kind position required durationSeconds } }
            }
          } }
        }
        orders(first: 10) { totalCount edges { node { id status total { amountMinor currency } paidAt course { id title } } } }
      }
      myNotifications(first: 10) { totalCount edges { node { id type category title body read createdAt course { id title } } } }
      unreadNotificationCount
      myNotificationPreferences { category channel frequency }
    }`,
  },
  {
    name: 'catalog page (50)',
    caller: 'anonymous',
    query: `{ catalog(first: 50, sort: NEWEST) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${COURSE_CARD} } } } categories { slug name courseCount } }`,
  },
  {
    name: 'course page',
    caller: 'anonymous',
    query: `query CoursePage($slug: String!) {
      course(slug: $slug) {
        ${COURSE_CARD} description tags version publishedAt
        modules { id title summary position lessonCount lessons { id title kind position required durationSeconds } }
        prerequisites { id slug title isFree price { amountMinor currency } }
        instructor { id name taughtCourses(first: 10) { totalCount edges { node { id slug title isFree price { amountMinor currency } lessonCount enrollmentCount } } } }
      }
    }`,
    variables: { slug: 'some-course' },
  },
  {
    name: 'course page (signed in, with own enrolment)',
    caller: 'signed-in',
    query: `query($id: ID!) { course(id: $id) { ${COURSE_CARD} viewerEnrollment { id status mode progress { completedLessonIds percent } }
      modules { id title lessons { id title kind durationSeconds body } } } }`,
    variables: { id: 'x' },
  },
  {
    name: 'admin users (100)',
    caller: 'admin',
    query: `{ users(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name email role active createdAt
      enrollments(first: 5) { totalCount } orders(first: 5) { totalCount } } } } }`,
  },
  {
    name: 'admin orders and ledger (100)',
    caller: 'admin',
    query: `{ ledgerBalance { accounts { account balance { amountMinor currency } } }
      ledgerEntries(first: 100) { pageInfo { hasNextPage endCursor } edges { node { id transactionId kind account amount { amountMinor currency } createdAt
        order { id status couponCode total { amountMinor currency } refundedTotal { amountMinor currency } buyer { id name email } course { id title }
          payments { id amount { amountMinor currency } status } refunds { id amount { amountMinor currency } } } } } } }`,
  },
  {
    name: 'instructor: my courses with drafts',
    caller: 'signed-in',
    query: `{ myCourses(first: 50) { totalCount edges { node { id title status version hasUnpublishedChanges enrollmentCount
      draft { title moduleCount lessonCount modules { id title lessons { id title kind } } } } } } }`,
  },
  {
    name: 'search page',
    caller: 'anonymous',
    query: `query($q: String!) { search(query: $q, first: 20) { totalCount pageInfo { hasNextPage endCursor }
      facets { category { value count } level { value count } language { value count } price { value count } }
      edges { cursor node { score kind titleSnippet textSnippet course { ${COURSE_CARD} } lesson { id title kind } } } } }`,
    variables: { q: 'python' },
  },
  { name: 'GraphiQL introspection', caller: 'admin', query: getIntrospectionQuery() },
  {
    name: 'GraphiQL introspection (all options)',
    caller: 'admin',
    query: getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    }),
  },
  { name: 'bench: catalog workload', caller: 'anonymous', query: CATALOG_QUERY, variables: { first: 20 } },
  { name: 'bench: catalog workload at 50', caller: 'anonymous', query: CATALOG_QUERY, variables: { first: 50 } },
  { name: 'bench: deep workload', caller: 'signed-in', query: DEEP_QUERY },
  {
    name: 'bench: mutation workload',
    caller: 'signed-in',
    query: MUTATION,
    variables: { courseId: 'c', lessonId: 'l' },
  },
  {
    name: 'bench: learner state',
    caller: 'signed-in',
    query:
      'query LearnerState { me { id enrollments(first: 50) { edges { node { id status course { id title modules { lessons { id } } } progress { completedLessonIds } } } } orders(first: 1) { totalCount } } }',
  },
  {
    name: 'catalog with a fragment used at two levels',
    caller: 'signed-in',
    query: `{ catalog(first: 50) { edges { node { ...Card instructor { taughtCourses(first: 5) { edges { node { ...Card } } } } } } } }
      fragment Card on Course { id title price { amountMinor currency } instructor { id name } lessonCount enrollmentCount viewerEnrollment { id status } }`,
  },
  {
    name: 'checkout',
    caller: 'signed-in',
    query:
      'mutation($i: CheckoutInput!) { checkout(input: $i) { replayed order { id status total { amountMinor currency } payments { id } } } }',
    variables: { i: {} },
  },
];

describe('the legitimate operations stay under the default limits', () => {
  it.each(LEGITIMATE)('$name', ({ query, variables, caller }) => {
    const document = withTokenLimit(parse, config.limitMaxTokens)(query);
    const shape = analyseShape(document, table);
    const operation = getOperationAST(document)!;
    const cost = operationCost(document, operation, table, variables, { defaultListSize: config.limitDefaultListSize });
    const limit = costLimitFor(config, caller);
    console.log(
      `${caller.padEnd(9)} tokens ${countTokens(query)}/${config.limitMaxTokens} depth ${shape.depth}/${config.limitMaxDepth}` +
        ` recursion ${shape.recursion.count}/${config.limitMaxRecursion} (${shape.recursion.coordinate}) aliases ${shape.aliases}/${config.limitMaxAliases}` +
        ` root ${shape.rootFields}/${config.limitMaxRootFields} cost ${cost}/${limit}`,
    );
    expect(shapeRefusal(shape, config)).toBeNull();
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThanOrEqual(limit);
  });

  // Subgraphs apply the same limits (they can be reached directly) and must not refuse what the
  // gateway accepted. An entity fetch's cost depends on how many representations it gets, at most
  // what the gateway's estimate multiplied its parent by, which the gateway's own cost covers.
  // Introspection is answered by the gateway itself.
  it.each(LEGITIMATE.filter((op) => !op.name.startsWith('GraphiQL')))(
    'the subgraph queries planned for $name stay under the limits too',
    ({ query, variables, caller }) => {
      const fetches = fetchesOf(planner.buildQueryPlan(operationFromDocument(apiSchema, parse(query))).node);
      expect(fetches.length).toBeGreaterThan(0);
      for (const fetch of fetches) {
        const subgraphTable = subgraphTables.get(fetch.serviceName)!;
        const document = withTokenLimit(parse, config.limitMaxTokens)(fetch.operation);
        expect(
          shapeRefusal(analyseShape(document, subgraphTable), config),
          `${fetch.serviceName}: ${fetch.operation}`,
        ).toBeNull();
        if (!fetch.operation.includes('_entities')) {
          const cost = operationCost(document, getOperationAST(document)!, subgraphTable, variables, {
            defaultListSize: config.limitDefaultListSize,
          });
          expect(cost, `${fetch.serviceName}: ${fetch.operation}`).toBeLessThanOrEqual(costLimitFor(config, caller));
        }
      }
    },
  );
});
