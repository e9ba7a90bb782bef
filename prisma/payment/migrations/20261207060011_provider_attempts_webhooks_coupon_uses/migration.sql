-- CreateEnum
CREATE TYPE "AttemptKind" AS ENUM ('CHARGE', 'REFUND');

-- CreateEnum
CREATE TYPE "AttemptState" AS ENUM ('REQUESTED', 'SUCCEEDED', 'FAILED');

-- AlterTable
ALTER TABLE "coupons" ADD COLUMN     "max_uses_per_user" INTEGER;

-- CreateTable
CREATE TABLE "coupon_uses" (
    "coupon_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "uses" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "coupon_uses_pkey" PRIMARY KEY ("coupon_id","user_id")
);

-- CreateTable
CREATE TABLE "provider_attempts" (
    "id" UUID NOT NULL,
    "kind" "AttemptKind" NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "provider_key" TEXT NOT NULL,
    "provider_ref" TEXT,
    "amount_minor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "state" "AttemptState" NOT NULL DEFAULT 'REQUESTED',
    "reason" TEXT,
    "requested_by" TEXT,
    "tries" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "failure_reason" TEXT,
    "traceparent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "provider_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "provider" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("provider","event_id")
);

-- CreateTable
CREATE TABLE "disputes" (
    "id" UUID NOT NULL,
    "provider_dispute_id" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "disputes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "provider_attempts_state_next_attempt_at_idx" ON "provider_attempts"("state", "next_attempt_at");

-- CreateIndex
CREATE INDEX "provider_attempts_order_id_idx" ON "provider_attempts"("order_id");

-- CreateIndex
CREATE UNIQUE INDEX "provider_attempts_user_id_provider_key_key" ON "provider_attempts"("user_id", "provider_key");

-- CreateIndex
CREATE UNIQUE INDEX "disputes_provider_dispute_id_key" ON "disputes"("provider_dispute_id");

-- CreateIndex
CREATE INDEX "disputes_order_id_idx" ON "disputes"("order_id");


-- Hand-written below. No semicolons inside comments: Prisma splits the file on them.

ALTER TABLE "coupons"
    ADD CONSTRAINT "coupons_max_uses_per_user_check" CHECK ("max_uses_per_user" IS NULL OR "max_uses_per_user" >= 1),
    ADD CONSTRAINT "coupons_max_redemptions_check" CHECK ("max_redemptions" IS NULL OR "max_redemptions" >= 1);

ALTER TABLE "coupon_uses" ADD CONSTRAINT "coupon_uses_uses_check" CHECK ("uses" >= 0);

ALTER TABLE "provider_attempts"
    ADD CONSTRAINT "provider_attempts_amount_check" CHECK ("amount_minor" > 0),
    ADD CONSTRAINT "provider_attempts_tries_check" CHECK ("tries" >= 0);

-- At most one charge attempt per order (its key is order_<id>, so the provider charges at most once).
CREATE UNIQUE INDEX "provider_attempts_one_charge_per_order" ON "provider_attempts"("order_id") WHERE "kind" = 'CHARGE';

-- Orders left PENDING before this migration get the attempt row the reconciler resolves by lookup.
INSERT INTO "provider_attempts" ("id", "kind", "order_id", "user_id", "provider", "provider_key", "amount_minor", "currency", "state", "tries", "next_attempt_at", "created_at")
    SELECT "id", 'CHARGE', "id", "user_id", 'unknown', 'order_' || "id", "total_minor", "currency", 'REQUESTED', 1, now(), "created_at"
    FROM "orders" WHERE "status" = 'PENDING' AND "total_minor" > 0;

-- Uses per user of the orders that hold a coupon today (a failed order gave its use back).
INSERT INTO "coupon_uses" ("coupon_id", "user_id", "uses")
    SELECT "coupon_id", "user_id", count(*) FROM "orders"
    WHERE "coupon_id" IS NOT NULL AND "status" IN ('PENDING', 'PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')
    GROUP BY "coupon_id", "user_id";
