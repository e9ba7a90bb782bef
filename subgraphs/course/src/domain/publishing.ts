/**
 * Publishing and archiving. A publication freezes the draft as a new immutable version, refreshes
 * what learners and the catalog read, and writes its events to the outbox, all in one transaction:
 * the events exist if and only if the publication committed.
 */
import { badInput, conflict, type EnqueueOptions, type Viewer } from '@coursegraph/service-kit';
import { TX_OPTIONS, type PrismaClient, type Tx } from '../data/db.js';
import { loadDraftTrees, lockCourse } from '../data/drafts.js';
import { readyVideoCaptions } from '../data/lesson-videos.js';
import { loadVersion, writePublication } from '../data/published.js';
import { managedCourse } from './access.js';
import { sameContent, toTree, type CourseTree } from './content.js';
import { enqueueArchived, enqueuePublication } from './events.js';
import * as valid from './validation.js';

export interface PublishResult {
  courseId: string;
  version: number;
  /** False when the published version already matched the draft (nothing was written). */
  changed: boolean;
}

export class Publishing {
  constructor(private readonly db: PrismaClient) {}

  async publish(viewer: Viewer, courseId: string, options: EnqueueOptions = {}): Promise<PublishResult> {
    const { id } = await managedCourse(this.db, viewer, courseId);
    return this.db.$transaction(async (tx) => {
      await lockCourse(tx, id);
      const draft = (await loadDraftTrees(tx, [id])).get(id)!;
      const previous = await tx.publishedCourse.findUnique({ where: { courseId: id } });
      const previousContent = previous ? await loadVersion(tx, id, previous.version) : null;
      if (previous && !previous.archivedAt && previousContent && sameContent(previousContent, draft.content)) {
        return { courseId: id, version: previous.version, changed: false };
      }
      await assertPublishable(tx, draft);
      const version = (previous?.version ?? 0) + 1;
      const publishedAt = new Date();
      await writePublication(tx, { tree: draft, version, publishedAt, publishedBy: viewer.userId, previous });
      await enqueuePublication(
        tx,
        { tree: draft, version, publishedAt, previous: previousContent ? toTree(previousContent) : null },
        options,
      );
      return { courseId: id, version, changed: true };
    }, TX_OPTIONS);
  }

  /** Takes a published course out of the catalog; archiving an archived course changes nothing. */
  async archive(
    viewer: Viewer,
    courseId: string,
    options: EnqueueOptions = {},
  ): Promise<{ courseId: string; changed: boolean }> {
    const { id } = await managedCourse(this.db, viewer, courseId);
    return this.db.$transaction(async (tx) => {
      await lockCourse(tx, id);
      const published = await tx.publishedCourse.findUnique({ where: { courseId: id } });
      if (!published) throw conflict('This course was never published, so it cannot be archived.');
      if (published.archivedAt) return { courseId: id, changed: false };
      const archivedAt = new Date();
      await tx.publishedCourse.update({ where: { courseId: id }, data: { archivedAt } });
      await enqueueArchived(tx, id, archivedAt, options);
      return { courseId: id, changed: true };
    }, TX_OPTIONS);
  }
}

/** What a learner needs before a version may go out. Throws BAD_USER_INPUT naming the first problem. */
async function assertPublishable(tx: Tx, draft: CourseTree): Promise<void> {
  const c = draft.content;
  valid.courseTitle(c.title);
  valid.price(c.price);
  if (draft.modules.length === 0) throw badInput('Add at least one module with a lesson before publishing.', 'modules');
  for (const m of draft.modules) {
    if (m.lessons.length === 0)
      throw badInput(`Module "${m.title}" has no lessons; add one or remove the module before publishing.`, 'modules');
    for (const l of m.lessons) {
      if (l.kind === 'ARTICLE' && l.body.trim() === '')
        throw badInput(`Article "${l.title}" has no text yet.`, 'lessons');
    }
  }
  await assertCaptioned(tx, draft);
  if (c.prerequisiteIds.length > 0) {
    const listed = await tx.publishedCourse.findMany({
      where: { courseId: { in: c.prerequisiteIds }, archivedAt: null },
      select: { courseId: true },
    });
    const ok = new Set(listed.map((p) => p.courseId));
    const unpublished = c.prerequisiteIds.find((p) => !ok.has(p));
    if (unpublished)
      throw badInput(
        `Prerequisite ${unpublished} is not a published course; publish it first or remove it.`,
        'prerequisiteIds',
      );
  }
}

const primarySubtag = (tag: string) => tag.split('-')[0]!.toLowerCase();
const LANGUAGE_NAMES = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

/**
 * Prerecorded video needs captions (WCAG 1.2.2): every VIDEO lesson that shows a ready video must
 * have captions in the course's language, matched on the primary subtag (en-US captions serve an
 * en course). A lesson without a ready video has nothing to caption yet. What video has is known
 * from its events (the lesson videos projection), never by asking it. Names every such lesson.
 */
async function assertCaptioned(tx: Tx, draft: CourseTree): Promise<void> {
  const lessons = draft.modules.flatMap((m) => m.lessons).filter((l) => l.kind === 'VIDEO');
  const captions = await readyVideoCaptions(
    tx,
    draft.content.courseId,
    lessons.map((l) => l.id),
  );
  const wanted = primarySubtag(draft.content.language);
  const missing = lessons.filter((l) => {
    const languages = captions.get(l.id);
    return languages !== undefined && !languages.some((tag) => primarySubtag(tag) === wanted);
  });
  if (missing.length === 0) return;
  const name = LANGUAGE_NAMES.of(wanted);
  throw badInput(
    `Add ${name ? `${name} ` : ''}("${wanted}") captions to these video lessons before publishing: ${missing
      .map((l) => `"${l.title}" (id ${l.id})`)
      .join(', ')}.`,
    'lessons',
  );
}
