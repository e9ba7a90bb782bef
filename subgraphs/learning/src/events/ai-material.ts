/**
 * Study material the ai context generated and the course's instructor approved (stream AI): added
 * to the course's drafts under the generated item's own id, so a redelivery adds nothing. Like
 * anything an instructor drafts, it reaches learners with the course's next publication.
 */
import { AiEvents, ai as pb } from '@coursegraph/contracts';
import { on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Prisma } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';
import { parseItemInput } from '../domain/assessment/item-content.js';
import { noteFields, type NoteInput } from '../domain/authoring.js';

/** The input an approved item carries, read as learning reads an instructor's (the same checks). */
function parseInput(type: string, json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`${type} whose input_json is not a JSON object`);
}

export const aiMaterialHandlers = [
  on(AiEvents.materialApproved, async (tx: Tx, e: ReceivedEvent<typeof AiEvents.materialApproved>) => {
    const { itemId, courseId } = e.payload;
    requireIds(e.type, { itemId, courseId });
    // Learning hears of every course at its creation; a course it has not heard of yet is retried.
    const course = await tx.course.findUnique({ where: { id: courseId }, select: { id: true } });
    if (!course) throw new Error(`${e.type} for course ${courseId}, which learning has not heard of yet`);
    const input = parseInput(e.type, e.payload.inputJson);
    if (e.payload.kind === pb.MaterialKind.FLASHCARD) {
      const fields = noteFields(input as unknown as NoteInput);
      await tx.note.createMany({ data: [{ id: itemId, courseId, ...fields, conceptIds: [] }], skipDuplicates: true });
    } else if (e.payload.kind === pb.MaterialKind.QUIZ_ITEM) {
      const content = parseItemInput(input, 'item');
      await tx.item.createMany({
        data: [
          {
            id: itemId,
            courseId,
            type: content.type,
            content: content as unknown as Prisma.InputJsonValue,
            tags: ['generated'],
            conceptIds: [],
          },
        ],
        skipDuplicates: true,
      });
    } else throw new Error(`${e.type} with an unknown kind ${e.payload.kind}`);
  }),
];
