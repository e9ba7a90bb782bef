-- DropIndex
DROP INDEX "certificates_user_id_enrollment_id_key";

-- AlterTable
ALTER TABLE "certificates" ADD COLUMN     "revoke_reason" TEXT,
ADD COLUMN     "revoked_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "certificates_enrollment_id_idx" ON "certificates"("enrollment_id");


-- CreateIndex, written by hand since Prisma cannot express a partial index (see the comment on
-- Certificate): at most one unrevoked certificate per enrolment, the backstop behind completing
-- exactly once. No semicolon may appear in a comment here: the migration engine splits on them.
CREATE UNIQUE INDEX "certificates_current_per_enrollment_key" ON "certificates"("user_id", "enrollment_id") WHERE "revoked_at" IS NULL;
