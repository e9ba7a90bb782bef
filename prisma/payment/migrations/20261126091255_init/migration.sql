-- CreateEnum
CREATE TYPE "OrderStatus" AS ENUM ('PENDING', 'PAID', 'FAILED', 'PARTIALLY_REFUNDED', 'REFUNDED');

-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('SUCCEEDED', 'FAILED');

-- CreateEnum
CREATE TYPE "CouponKind" AS ENUM ('PERCENT', 'FIXED');

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "payload" BYTEA NOT NULL,
    "traceparent" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "processed_events" (
    "consumer" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateTable
CREATE TABLE "course_prices" (
    "course_id" UUID NOT NULL,
    "price_minor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "archived_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "course_prices_pkey" PRIMARY KEY ("course_id")
);

-- CreateTable
CREATE TABLE "orders" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status" "OrderStatus" NOT NULL DEFAULT 'PENDING',
    "currency" TEXT NOT NULL,
    "subtotal_minor" INTEGER NOT NULL,
    "discount_minor" INTEGER NOT NULL,
    "total_minor" INTEGER NOT NULL,
    "refunded_minor" INTEGER NOT NULL DEFAULT 0,
    "coupon_id" UUID,
    "coupon_code" TEXT,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "paid_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),

    CONSTRAINT "orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payments" (
    "id" UUID NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "provider_key" TEXT NOT NULL,
    "provider_payment_id" TEXT,
    "amount_minor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "status" "PaymentStatus" NOT NULL,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "refunds" (
    "id" UUID NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "provider_key" TEXT NOT NULL,
    "provider_refund_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "coupons" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "kind" "CouponKind" NOT NULL,
    "percent_off" INTEGER,
    "amount_off_minor" INTEGER,
    "currency" TEXT,
    "course_id" UUID,
    "expires_at" TIMESTAMPTZ(3),
    "max_redemptions" INTEGER,
    "redemptions" INTEGER NOT NULL DEFAULT 0,
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "coupons_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_entries" (
    "id" UUID NOT NULL,
    "transaction_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "refund_id" UUID,
    "account" TEXT NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_entries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "outbox_events_published_at_id_idx" ON "outbox_events"("published_at", "id");

-- CreateIndex
CREATE INDEX "orders_user_id_id_idx" ON "orders"("user_id", "id");

-- CreateIndex
CREATE INDEX "orders_course_id_idx" ON "orders"("course_id");

-- CreateIndex
CREATE UNIQUE INDEX "orders_user_id_idempotency_key_key" ON "orders"("user_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "payments_order_id_idx" ON "payments"("order_id");

-- CreateIndex
CREATE UNIQUE INDEX "payments_user_id_provider_key_key" ON "payments"("user_id", "provider_key");

-- CreateIndex
CREATE INDEX "refunds_order_id_idx" ON "refunds"("order_id");

-- CreateIndex
CREATE UNIQUE INDEX "refunds_user_id_provider_key_key" ON "refunds"("user_id", "provider_key");

-- CreateIndex
CREATE UNIQUE INDEX "coupons_code_key" ON "coupons"("code");

-- CreateIndex
CREATE INDEX "ledger_entries_transaction_id_idx" ON "ledger_entries"("transaction_id");

-- CreateIndex
CREATE INDEX "ledger_entries_order_id_idx" ON "ledger_entries"("order_id");

-- CreateIndex
CREATE INDEX "ledger_entries_account_currency_idx" ON "ledger_entries"("account", "currency");

-- AddForeignKey
ALTER TABLE "payments" ADD CONSTRAINT "payments_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- ---- Written by hand: rules that Prisma's schema language cannot express ----
-- NOTE: @prisma/adapter-pg 6.19 runs a migration by splitting it at every semicolon (even inside
-- comments, strings and function bodies). So comments here contain none, and PL/pgSQL bodies are
-- E'' strings whose semicolons are written as the octal escape \073.

-- One active order per user and course: two concurrent checkouts of one course by one learner
-- cannot both create an order (the loser gets a unique violation, reported as CONFLICT).
CREATE UNIQUE INDEX "orders_one_active_per_user_course" ON "orders"("user_id", "course_id")
    WHERE "status" IN ('PENDING', 'PAID', 'PARTIALLY_REFUNDED');

ALTER TABLE "orders"
    ADD CONSTRAINT "orders_amounts_check" CHECK (
        "subtotal_minor" >= 0 AND "discount_minor" >= 0 AND "discount_minor" <= "subtotal_minor"
        AND "total_minor" = "subtotal_minor" - "discount_minor"
        AND "refunded_minor" >= 0 AND "refunded_minor" <= "total_minor"
    );

-- The order state machine, enforced by the database as well as by the domain code:
--   PENDING to PAID or FAILED, PAID to PARTIALLY_REFUNDED or REFUNDED,
--   PARTIALLY_REFUNDED to PARTIALLY_REFUNDED or REFUNDED. FAILED and REFUNDED are final.
CREATE FUNCTION "orders_check_transition"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
    IF NOT (
        (OLD.status = ''PENDING'' AND NEW.status IN (''PAID'', ''FAILED''))
        OR (OLD.status = ''PAID'' AND NEW.status IN (''PARTIALLY_REFUNDED'', ''REFUNDED''))
        OR (OLD.status = ''PARTIALLY_REFUNDED'' AND NEW.status IN (''PARTIALLY_REFUNDED'', ''REFUNDED''))
    ) THEN
        RAISE EXCEPTION ''order %: invalid status transition % -> %'', OLD.id, OLD.status, NEW.status
            USING ERRCODE = ''check_violation''\073
    END IF\073
    RETURN NEW\073
END';

CREATE TRIGGER "orders_status_transition" BEFORE UPDATE OF "status" ON "orders"
    FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status") EXECUTE FUNCTION "orders_check_transition"();

ALTER TABLE "coupons"
    ADD CONSTRAINT "coupons_shape_check" CHECK (
        ("kind" = 'PERCENT' AND "percent_off" BETWEEN 1 AND 100 AND "amount_off_minor" IS NULL AND "currency" IS NULL)
        OR ("kind" = 'FIXED' AND "amount_off_minor" > 0 AND "currency" IS NOT NULL AND "percent_off" IS NULL)
    ),
    ADD CONSTRAINT "coupons_redemptions_check" CHECK (
        "redemptions" >= 0 AND ("max_redemptions" IS NULL OR "redemptions" <= "max_redemptions")
    );

ALTER TABLE "ledger_entries"
    ADD CONSTRAINT "ledger_entries_amount_check" CHECK ("amount_minor" <> 0),
    ADD CONSTRAINT "ledger_entries_account_check" CHECK (
        "account" IN ('provider_clearing', 'platform_revenue', 'coupon_discounts', 'refunds')
    );

-- The ledger is append-only: a correction is a new transaction, never an edit.
CREATE FUNCTION "ledger_entries_append_only"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
    RAISE EXCEPTION ''ledger_entries is append-only: % is not allowed'', TG_OP
        USING ERRCODE = ''insufficient_privilege''\073
END';

CREATE TRIGGER "ledger_entries_no_update_delete" BEFORE UPDATE OR DELETE ON "ledger_entries"
    FOR EACH ROW EXECUTE FUNCTION "ledger_entries_append_only"();
CREATE TRIGGER "ledger_entries_no_truncate" BEFORE TRUNCATE ON "ledger_entries"
    FOR EACH STATEMENT EXECUTE FUNCTION "ledger_entries_append_only"();

-- Double entry: at commit, every ledger transaction sums to zero in each currency.
CREATE FUNCTION "ledger_entries_check_balanced"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
    unbalanced RECORD\073
BEGIN
    SELECT currency, SUM(amount_minor) AS total INTO unbalanced
        FROM ledger_entries WHERE transaction_id = NEW.transaction_id
        GROUP BY currency HAVING SUM(amount_minor) <> 0 LIMIT 1\073
    IF FOUND THEN
        RAISE EXCEPTION ''ledger transaction % does not balance: % % left over'', NEW.transaction_id, unbalanced.total, unbalanced.currency
            USING ERRCODE = ''check_violation''\073
    END IF\073
    RETURN NULL\073
END';

CREATE CONSTRAINT TRIGGER "ledger_entries_balanced" AFTER INSERT ON "ledger_entries"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "ledger_entries_check_balanced"();
