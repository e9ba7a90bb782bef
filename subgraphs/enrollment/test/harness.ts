/** Enrollment served in-process (yoga.fetch) against the real test database, with locally signed tokens. */
import { randomUUID } from 'node:crypto';
import { create, fromBinary } from '@bufbuild/protobuf';
import { course as contract, type EventType } from '@coursegraph/contracts';
import { createLogger, readConfig } from '@coursegraph/service-kit';
import { contextDatabaseUrl, postGraphQL, testIssuer, type TestIssuer } from '@coursegraph/test-support';
import { enrollmentSettings } from '../src/config.js';
import { createEnrollmentApp, type EnrollmentApp } from '../src/app.js';
import { applySnapshot } from '../src/events/course-projection.js';

export interface EnrollmentHarness {
  app: EnrollmentApp;
  issuer: TestIssuer;
  gql: <T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => ReturnType<typeof postGraphQL<T>>;
  /** Publishes a course into enrollment's projection, as the course consumer would. */
  course: (options?: {
    price?: number;
    lessons?: number;
    required?: number[];
    prerequisites?: string[];
  }) => Promise<{ courseId: string; lessonIds: string[] }>;
  /** Events this test's actions wrote to the outbox, decoded. */
  outbox: <E extends EventType>(type: E, match: (payload: any) => boolean) => Promise<any[]>;
  close: () => Promise<void>;
}

export async function startEnrollment(): Promise<EnrollmentHarness> {
  const config = readConfig(enrollmentSettings, {
    ...process.env,
    ENROLLMENT_DATABASE_URL: contextDatabaseUrl('enrollment'),
  });
  const issuer = await testIssuer();
  const app = await createEnrollmentApp(config, createLogger('enrollment-test', 'silent'), { getKey: issuer.getKey });
  const gql: EnrollmentHarness['gql'] = (query, variables, token) =>
    postGraphQL((url, init) => app.yoga.fetch(url, init), 'http://enrollment.test/graphql', query, variables, token);

  const course: EnrollmentHarness['course'] = async ({
    price = 0,
    lessons = 3,
    required = [],
    prerequisites = [],
  } = {}) => {
    const courseId = randomUUID();
    const lessonIds = Array.from({ length: lessons }, () => randomUUID());
    const snapshot = create(contract.CourseSnapshotSchema, {
      courseId,
      version: 1,
      instructorId: randomUUID(),
      title: `Course ${courseId.slice(0, 8)}`,
      price: { amountMinor: BigInt(price), currency: 'USD' },
      prerequisiteCourseIds: prerequisites,
      lessons: lessonIds.map((lessonId, position) => ({
        lessonId,
        position,
        required: required.includes(position),
        title: `L${position}`,
      })),
    });
    await app.db.$transaction((tx) => applySnapshot(tx, snapshot));
    return { courseId, lessonIds };
  };

  const outbox: EnrollmentHarness['outbox'] = async (type, match) => {
    const rows = await app.db.outboxEvent.findMany({
      where: { subject: type.subject },
      orderBy: { id: 'desc' },
      take: 500,
    });
    return rows.map((r) => fromBinary(type.schema, r.payload)).filter(match);
  };

  return { app, issuer, gql, course, outbox, close: app.close };
}
