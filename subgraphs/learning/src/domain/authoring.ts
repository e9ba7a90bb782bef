/**
 * Instructors' side: a course's item bank, its quizzes' settings, its flashcard notes and its
 * concept graph. All are drafts; a publication of the course freezes them as that version
 * (events/course-projection.ts), so learners keep what was published while new material is drafted.
 */
import { badInput, conflict, isUniqueViolation, newId, notFound, type AuthContext } from '@coursegraph/service-kit';
import type { Concept, Item, Note, Prisma, Quiz } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';
import { managedCourse, requireId } from './access.js';
import { parseItemInput } from './assessment/item-content.js';
import { parseQuizDraw, type QuizDraw } from './assessment/quiz-draw.js';
import { parseGradingPolicy } from './assessment/grading-policy.js';
import { assertNoCycle } from './mastery/concept-graph.js';
import { clozeOrdinals } from './cloze.js';

const TAG = /^[\p{L}\p{N}_-][\p{L}\p{N} _-]{0,39}$/u;
const LIMITS = { tags: 10, concepts: 20, conceptName: 120, conceptDescription: 2000, noteText: 4000 };

function tags(value: readonly string[] | null | undefined): string[] {
  const list = [...new Set((value ?? []).map((t) => t.trim()))];
  if (list.length > LIMITS.tags) throw badInput(`At most ${LIMITS.tags} tags.`, 'tags');
  const bad = list.find((t) => !TAG.test(t));
  if (bad !== undefined)
    throw badInput(`Tag "${bad.slice(0, 40)}" must be 1..40 letters, digits, spaces, _ or -.`, 'tags');
  return list;
}

/** Concept ids that exist in the course (refusing others, by name of the field). */
async function courseConcepts(db: Tx | PrismaClient, courseId: string, ids: readonly string[] | null | undefined) {
  const list = [...new Set(ids ?? [])];
  if (list.length > LIMITS.concepts) throw badInput(`At most ${LIMITS.concepts} concepts.`, 'conceptIds');
  list.forEach((id) => requireId(id, 'conceptIds'));
  if (list.length === 0) return [];
  const found = await db.concept.findMany({ where: { id: { in: list }, courseId }, select: { id: true } });
  if (found.length !== list.length) throw badInput('Every concept must be one of this course.', 'conceptIds');
  return list;
}

export interface ItemFields {
  item?: unknown;
  tags?: readonly string[] | null;
  conceptIds?: readonly string[] | null;
}

export async function createItem(db: PrismaClient, ctx: AuthContext, courseId: string, f: ItemFields): Promise<Item> {
  const course = await managedCourse(db, ctx, courseId);
  const content = parseItemInput(f.item, 'item');
  const conceptIds = await courseConcepts(db, course.id, f.conceptIds);
  return db.item.create({
    data: {
      id: newId(),
      courseId: course.id,
      type: content.type,
      content: content as unknown as Prisma.InputJsonValue,
      tags: tags(f.tags),
      conceptIds,
    },
  });
}

async function draftItem(db: PrismaClient, ctx: AuthContext, id: string): Promise<Item> {
  requireId(id, 'id');
  const item = await db.item.findUnique({ where: { id } });
  if (!item || item.deletedAt) throw notFound('No such item.');
  await managedCourse(db, ctx, item.courseId);
  return item;
}

export async function updateItem(db: PrismaClient, ctx: AuthContext, id: string, f: ItemFields): Promise<Item> {
  const item = await draftItem(db, ctx, id);
  const content = f.item != null ? parseItemInput(f.item, 'item') : null;
  const data: Prisma.ItemUpdateInput = {};
  if (content) Object.assign(data, { type: content.type, content: content as unknown as Prisma.InputJsonValue });
  if (f.tags != null) data.tags = tags(f.tags);
  if (f.conceptIds != null) data.conceptIds = await courseConcepts(db, item.courseId, f.conceptIds);
  return db.item.update({ where: { id }, data });
}

export async function deleteItem(db: PrismaClient, ctx: AuthContext, id: string, now: Date): Promise<boolean> {
  await draftItem(db, ctx, id);
  await db.item.update({ where: { id }, data: { deletedAt: now } });
  return true;
}

/**
 * Refuses a lesson that a published version places in another course. A lesson not published yet
 * is accepted (instructors configure quizzes while drafting); a publication only picks up the
 * quizzes of its own course's lessons.
 */
async function lessonOfCourse(db: PrismaClient, courseId: string, lessonId: string): Promise<void> {
  const lesson = await db.courseLesson.findUnique({ where: { id: lessonId } });
  if (lesson && lesson.courseId !== courseId) throw conflict('This lesson belongs to another course.', 'lessonId');
}

export interface QuizSettingsInput {
  courseId: string;
  lessonId: string;
  draw: unknown;
  timeLimitSeconds?: number | null;
  maxAttempts?: number | null;
  gradingPolicy?: string | null;
  passScore?: number | null;
  completionRequiresPass?: boolean | null;
}

function boundedOrNull(value: number | null | undefined, field: string, min: number, max: number): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < min || value > max)
    throw badInput(`${field} must be a whole number from ${min} to ${max}.`, field);
  return value;
}

/** Sets a quiz lesson's draft settings; the items it names must be in the course's bank now. */
export async function configureQuiz(db: PrismaClient, ctx: AuthContext, input: QuizSettingsInput): Promise<Quiz> {
  const course = await managedCourse(db, ctx, input.courseId);
  requireId(input.lessonId, 'lessonId');
  await lessonOfCourse(db, course.id, input.lessonId);
  const draw: QuizDraw = parseQuizDraw(input.draw, 'draw');
  const bank = await db.item.findMany({
    where: { courseId: course.id, deletedAt: null },
    select: { id: true, tags: true },
  });
  if (draw.kind === 'FIXED') {
    const inBank = new Set(bank.map((b) => b.id));
    const missing = draw.itemIds.find((id) => !inBank.has(id));
    if (missing) throw badInput(`Item ${missing} is not in this course's item bank.`, 'draw.itemIds');
  } else {
    for (const [i, pool] of draw.pools.entries()) {
      const size = bank.filter((b) => b.tags.includes(pool.tag)).length;
      if (size < pool.count)
        throw badInput(`Pool "${pool.tag}" has ${size} items; the quiz draws ${pool.count}.`, `draw.pools[${i}].count`);
    }
  }
  const settings = {
    courseId: course.id,
    draw: draw as unknown as Prisma.InputJsonValue,
    timeLimitSeconds: boundedOrNull(input.timeLimitSeconds, 'timeLimitSeconds', 1, 86_400),
    maxAttempts: boundedOrNull(input.maxAttempts, 'maxAttempts', 1, 100),
    gradingPolicy: parseGradingPolicy(input.gradingPolicy ?? 'BEST'),
    passScore: boundedOrNull(input.passScore ?? 60, 'passScore', 0, 100) ?? 60,
    completionRequiresPass: input.completionRequiresPass ?? true,
  };
  const existing = await db.quiz.findUnique({ where: { lessonId: input.lessonId } });
  if (existing && existing.courseId !== course.id) throw conflict('This lesson belongs to another course.', 'lessonId');
  return db.quiz.upsert({
    where: { lessonId: input.lessonId },
    create: { lessonId: input.lessonId, ...settings },
    update: settings,
  });
}

export interface NoteInput {
  courseId: string;
  kind: 'BASIC' | 'CLOZE';
  front?: string | null;
  back?: string | null;
  text?: string | null;
  conceptIds?: readonly string[] | null;
}

function noteText(value: string | null | undefined, field: string, required: boolean): string {
  const text = (value ?? '').trim();
  if (required && text === '') throw badInput(`${field} is required for this kind of note.`, field);
  if (text.length > LIMITS.noteText) throw badInput(`${field} is longer than ${LIMITS.noteText} characters.`, field);
  return text;
}

/** A note's text fields, checked for its kind (an instructor's input, or approved generated material). */
export function noteFields(input: Pick<NoteInput, 'kind' | 'front' | 'back' | 'text'>) {
  if (input.kind !== 'BASIC' && input.kind !== 'CLOZE') throw badInput('kind must be BASIC or CLOZE.', 'kind');
  const basic = input.kind === 'BASIC';
  const fields = {
    kind: input.kind,
    front: noteText(input.front, 'front', basic),
    back: noteText(input.back, 'back', basic),
    text: noteText(input.text, 'text', !basic),
  };
  if (basic && fields.text !== '') throw badInput('text is for CLOZE notes; a BASIC note has front and back.', 'text');
  if (!basic && (fields.front !== '' || fields.back !== ''))
    throw badInput('front and back are for BASIC notes; a CLOZE note has text.', fields.front ? 'front' : 'back');
  if (!basic && clozeOrdinals(fields.text).length === 0)
    throw badInput('A CLOZE note needs at least one deletion such as {{c1::answer}}.', 'text');
  return fields;
}

export async function createNote(db: PrismaClient, ctx: AuthContext, input: NoteInput): Promise<Note> {
  const course = await managedCourse(db, ctx, input.courseId);
  const fields = noteFields(input);
  const conceptIds = await courseConcepts(db, course.id, input.conceptIds);
  return db.note.create({ data: { id: newId(), courseId: course.id, ...fields, conceptIds } });
}

export async function deleteNote(db: PrismaClient, ctx: AuthContext, id: string, now: Date): Promise<boolean> {
  requireId(id, 'id');
  const note = await db.note.findUnique({ where: { id } });
  if (!note || note.deletedAt) throw notFound('No such note.');
  await managedCourse(db, ctx, note.courseId);
  await db.note.update({ where: { id }, data: { deletedAt: now } });
  return true;
}

export async function createConcept(
  db: PrismaClient,
  ctx: AuthContext,
  input: { courseId: string; name: string; description?: string | null },
): Promise<Concept> {
  const course = await managedCourse(db, ctx, input.courseId);
  const name = input.name.trim();
  if (name === '' || name.length > LIMITS.conceptName)
    throw badInput(`name must be 1..${LIMITS.conceptName} characters.`, 'name');
  const description = (input.description ?? '').trim();
  if (description.length > LIMITS.conceptDescription)
    throw badInput(`description is longer than ${LIMITS.conceptDescription} characters.`, 'description');
  try {
    return await db.concept.create({ data: { id: newId(), courseId: course.id, name, description } });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`This course already has a concept named "${name}".`, 'name');
    throw err;
  }
}

async function managedConcept(db: Tx | PrismaClient, ctx: AuthContext, id: string, field: string): Promise<Concept> {
  requireId(id, field);
  const concept = await db.concept.findUnique({ where: { id } });
  if (!concept) throw notFound(`No such concept (${field}).`);
  await managedCourse(db, ctx, concept.courseId);
  return concept;
}

/**
 * Adds an edge, refused when it would close a cycle. The course's graph is locked (its course row)
 * for the check and the insert, so two edges added at once cannot close a cycle between them.
 */
export async function addPrerequisite(
  db: PrismaClient,
  ctx: AuthContext,
  conceptId: string,
  prerequisiteId: string,
): Promise<Concept> {
  return db.$transaction(async (tx) => {
    const concept = await managedConcept(tx, ctx, conceptId, 'conceptId');
    const prerequisite = await managedConcept(tx, ctx, prerequisiteId, 'prerequisiteId');
    if (prerequisite.courseId !== concept.courseId)
      throw badInput('A prerequisite must be a concept of the same course.', 'prerequisiteId');
    await tx.$queryRaw`select id from courses where id = ${concept.courseId}::uuid for update`;
    const edges = await tx.conceptEdge.findMany({ where: { courseId: concept.courseId } });
    const concepts = await tx.concept.findMany({ where: { courseId: concept.courseId } });
    assertNoCycle(
      edges.map((e) => ({ from: e.prerequisiteId, to: e.conceptId })),
      { from: prerequisite.id, to: concept.id },
      new Map(concepts.map((c) => [c.id, c.name])),
    );
    await tx.conceptEdge.createMany({
      data: [{ prerequisiteId: prerequisite.id, conceptId: concept.id, courseId: concept.courseId }],
      skipDuplicates: true,
    });
    return concept;
  });
}

export async function removePrerequisite(
  db: PrismaClient,
  ctx: AuthContext,
  conceptId: string,
  prerequisiteId: string,
): Promise<Concept> {
  const concept = await managedConcept(db, ctx, conceptId, 'conceptId');
  requireId(prerequisiteId, 'prerequisiteId');
  await db.conceptEdge.deleteMany({ where: { conceptId: concept.id, prerequisiteId } });
  return concept;
}

/** Replaces the concepts a lesson teaches. */
export async function setLessonConcepts(
  db: PrismaClient,
  ctx: AuthContext,
  courseId: string,
  lessonId: string,
  conceptIds: readonly string[],
): Promise<Concept[]> {
  const course = await managedCourse(db, ctx, courseId);
  requireId(lessonId, 'lessonId');
  await lessonOfCourse(db, course.id, lessonId);
  const ids = await courseConcepts(db, course.id, conceptIds);
  const owner = await db.lessonConcept.findFirst({ where: { lessonId, NOT: { courseId: course.id } } });
  if (owner) throw conflict('This lesson belongs to another course.', 'lessonId');
  await db.$transaction([
    db.lessonConcept.deleteMany({ where: { lessonId } }),
    db.lessonConcept.createMany({ data: ids.map((conceptId) => ({ lessonId, conceptId, courseId: course.id })) }),
  ]);
  return db.concept.findMany({ where: { id: { in: ids } } });
}
