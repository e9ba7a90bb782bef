-- AlterEnum
ALTER TYPE "NotificationType" ADD VALUE 'CARDS_DUE';

-- AlterEnum
ALTER TYPE "NotificationCategory" ADD VALUE 'STUDY_REMINDERS';

-- AlterTable
ALTER TABLE "notifications" ADD COLUMN     "dedupe_key" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "notifications_user_id_dedupe_key_key" ON "notifications"("user_id", "dedupe_key");

