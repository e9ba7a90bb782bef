/**
 * A partner's persisted operations as OpenAPI 3.1 (partner-rest/openapi.ts), built from real
 * operations of schema/operations against the committed supergraph: the document is valid OpenAPI
 * 3.1, variables become typed parameters, a nested selection becomes a nested response schema, and
 * query parameters convert by their declared types, refusing hostile ones by name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ROOT } from '@coursegraph/test-support';
import { apiSchemaOf } from '@coursegraph/service-kit';
import {
  Kind,
  isNonNullType,
  parse,
  type GraphQLEnumType,
  type GraphQLObjectType,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  ParameterError,
  openApiFor,
  restOperations,
  variablesFromQuery,
  type PartnerDocument,
} from '../src/partner-rest/openapi.js';

const apiSchema = apiSchemaOf(fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8'));
const manifest = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'schema/operations/persisted-documents.json'), 'utf8'),
) as Record<string, string>;

/** The named operations of the project's manifest, as identity would list them for a partner. */
function documentsNamed(...names: string[]): Record<string, PartnerDocument> {
  const documents: Record<string, PartnerDocument> = {};
  for (const [id, document] of Object.entries(manifest)) {
    const operation = parse(document).definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    )!;
    if (names.includes(operation.name!.value))
      documents[id] = { operationName: operation.name!.value, operationType: operation.operation, document, cost: 1 };
  }
  expect(Object.keys(documents)).toHaveLength(names.length);
  return documents;
}

const partner = { id: '00000000-0000-4000-8000-000000000001', name: 'Acme Learning' };
const documents = documentsNamed('CatalogPage', 'CoursePage', 'SearchPage', 'CompleteLesson', 'AdminUsers');
const spec = openApiFor(partner, documents, apiSchema, { serverUrl: 'https://api.example.test' }) as any;

describe('openApiFor', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(spec);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(spec.openapi).toBe('3.1.0');
  });

  it('serves queries by GET and mutations by POST, behind x-api-key', () => {
    expect(Object.keys(spec.paths).sort()).toEqual(
      ['AdminUsers', 'CatalogPage', 'CompleteLesson', 'CoursePage', 'SearchPage'].map((n) => `/partners/v1/${n}`),
    );
    expect(Object.keys(spec.paths['/partners/v1/CoursePage'])).toEqual(['get']);
    expect(Object.keys(spec.paths['/partners/v1/CompleteLesson'])).toEqual(['post']);
    expect(spec.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(spec.security).toEqual([{ apiKey: [] }]);
  });

  it('types the variables: scalars and enums as parameters, input objects as JSON, required when non-null', () => {
    const parameters = Object.fromEntries(
      spec.paths['/partners/v1/CatalogPage'].get.parameters.map((p: any) => [p.name, p]),
    );
    expect(parameters.first).toMatchObject({ in: 'query', required: true, schema: { type: 'integer' } });
    expect(parameters.after).toMatchObject({ required: false, schema: { type: 'string' } });
    expect(parameters.sort).toMatchObject({ required: false, schema: { $ref: '#/components/schemas/CatalogSort' } });
    expect(spec.components.schemas.CatalogSort.enum).toEqual(
      (apiSchema.getType('CatalogSort') as GraphQLEnumType).getValues().map((v) => v.name),
    );
    expect(parameters.filter.schema).toBeUndefined();
    expect(parameters.filter.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CatalogFilter',
    });
    const filter = spec.components.schemas.CatalogFilter;
    expect(filter.type).toBe('object');
    expect(filter.additionalProperties).toBe(false);
    expect(Object.keys(filter.properties).sort()).toEqual(
      Object.keys((apiSchema.getType('CatalogFilter') as any).getFields()).sort(),
    );

    const body = spec.paths['/partners/v1/CompleteLesson'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['courseId', 'lessonId']);
    expect(body.properties.courseId).toEqual({ type: 'string' });
  });

  it('derives the answer from a nested selection: objects, lists, nullability, enums', () => {
    const answer = spec.paths['/partners/v1/CoursePage'].get.responses['200'].content['application/json'].schema;
    expect(answer.properties.errors.type).toBe('array');
    const data = answer.properties.data;
    expect(data.type).toEqual(['object', 'null']);
    // course(slug:) is nullable: null when there is no such course.
    const course = data.properties.course;
    expect(course.type).toEqual(['object', 'null']);
    expect(course.additionalProperties).toBe(false);
    expect(course.required).toEqual(expect.arrayContaining(['id', 'title', 'modules', 'instructor']));
    expect(course.properties.id).toEqual({ type: 'string' });
    expect(course.properties.level).toEqual({ $ref: '#/components/schemas/CourseLevel' });
    const lessons = course.properties.modules.items.properties.lessons;
    expect(course.properties.modules.type).toBe('array');
    expect(lessons.type).toBe('array');
    expect(Object.keys(lessons.items.properties).sort()).toEqual(
      ['id', 'title', 'kind', 'position', 'required', 'durationSeconds', 'locked'].sort(),
    );
    // Each scalar is nullable exactly when the schema says so.
    const lessonFields = (apiSchema.getType('Lesson') as GraphQLObjectType).getFields();
    for (const [key, schema] of Object.entries<any>(lessons.items.properties)) {
      if (schema.$ref) continue;
      expect(Array.isArray(schema.type), key).toBe(!isNonNullType(lessonFields[key]!.type));
    }
    expect(lessons.items.properties.durationSeconds.type).toContain('integer');
    const taught = course.properties.instructor.properties.taughtCourses;
    expect(taught.properties.edges.items.properties.node.properties.price.properties.amountMinor.type).toBe('integer');
  });

  it('merges fragments into the selection they are spread in', () => {
    const answer = spec.paths['/partners/v1/CatalogPage'].get.responses['200'].content['application/json'].schema;
    const node = answer.properties.data.properties.catalog.properties.edges.items.properties.node;
    // CatalogPage selects the course through the CourseCard fragment.
    expect(node.properties).toHaveProperty('title');
    expect(node.properties).toHaveProperty('instructor');
    expect(node.required).toEqual(expect.arrayContaining(['id', 'title']));
  });

  it('types __typename, inline fragments on union members, and @include', () => {
    const document = `query Found($q: String!, $withText: Boolean = false) {
      search(query: $q, first: 2) { edges { node { __typename kind textSnippet @include(if: $withText)
        course { ... on Course { __typename title } } } } } }`;
    const single = openApiFor(
      partner,
      { ['f'.repeat(64)]: { operationName: 'Found', operationType: 'query', document, cost: 1 } },
      apiSchema,
      { serverUrl: 'https://api.example.test' },
    ) as any;
    const get = single.paths['/partners/v1/Found'].get;
    expect(get.parameters.find((p: any) => p.name === 'withText')).toMatchObject({
      required: false,
      schema: { type: 'boolean', default: false },
    });
    const node =
      get.responses['200'].content['application/json'].schema.properties.data.properties.search.properties.edges.items
        .properties.node;
    expect(node.properties.__typename).toMatchObject({ type: 'string' });
    expect(node.required).toContain('kind');
    expect(node.required).not.toContain('textSnippet');
    expect(node.properties.course.properties.__typename).toEqual({ type: 'string', const: 'Course' });
  });
});

describe('variablesFromQuery', () => {
  const catalog = restOperations(documentsNamed('CatalogPage'), apiSchema).get('CatalogPage')!;
  const convert = (query: string) => variablesFromQuery(catalog, new URLSearchParams(query));
  const refusal = (query: string) => {
    try {
      convert(query);
    } catch (err) {
      expect(err).toBeInstanceOf(ParameterError);
      return (err as Error).message;
    }
    throw new Error(`${query} was accepted`);
  };

  it('converts each parameter by its declared type', () => {
    expect(convert('first=5&sort=NEWEST&filter=%7B%22isFree%22%3Atrue%7D')).toEqual({
      first: 5,
      sort: 'NEWEST',
      filter: { isFree: true },
    });
    expect(convert('first=-3')).toEqual({ first: -3 });
  });

  it('refuses a parameter that is not of its type, naming it', () => {
    expect(refusal('first=abc')).toBe('parameter "first": is not a 32-bit integer');
    expect(refusal('first=1.5')).toBe('parameter "first": is not a 32-bit integer');
    expect(refusal('first=1e3')).toBe('parameter "first": is not a 32-bit integer');
    expect(refusal('first=2147483648')).toBe('parameter "first": is not a 32-bit integer');
    expect(refusal(`first=${'9'.repeat(5000)}`)).toBe('parameter "first": is not a 32-bit integer');
    expect(refusal('first=')).toBe('parameter "first": is not a 32-bit integer');
    expect(refusal('first=1&sort=DROP TABLE')).toMatch(/^parameter "sort": is not one of /);
    expect(refusal('first=1&filter={"isFree":')).toBe('parameter "filter": is not JSON');
  });

  it('refuses missing, unknown and repeated parameters', () => {
    expect(refusal('')).toBe('parameter "first" is required');
    expect(refusal('first=1&admin=true')).toBe('unknown parameter "admin"');
    expect(refusal(`first=1&${'x'.repeat(10_000)}=1`)).toBe(`unknown parameter "${'x'.repeat(64)}"`);
    expect(refusal('first=1&first=2')).toBe('parameter "first" is given more than once');
  });
});
