-- CreateTable
CREATE TABLE "partners" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "rate_limit_per_minute" INTEGER NOT NULL,
    "cost_budget_per_minute" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" UUID,

    CONSTRAINT "partners_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "partner_api_keys" (
    "id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "prefix" TEXT NOT NULL,
    "key_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" UUID,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "partner_api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "partner_manifests" (
    "id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "document_count" INTEGER NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "registered_by" UUID,

    CONSTRAINT "partner_manifests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "persisted_documents" (
    "partner_id" UUID NOT NULL,
    "document_id" TEXT NOT NULL,
    "manifest_id" UUID NOT NULL,
    "operation_name" TEXT NOT NULL,
    "operation_type" TEXT NOT NULL,
    "document" TEXT NOT NULL,
    "cost" INTEGER NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "persisted_documents_pkey" PRIMARY KEY ("partner_id","document_id")
);

-- CreateTable
CREATE TABLE "operation_usage" (
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "client" TEXT NOT NULL,
    "client_version" TEXT NOT NULL,
    "partner_id" TEXT NOT NULL,
    "operation_name" TEXT NOT NULL,
    "document_id" TEXT NOT NULL,
    "requests" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "unregistered" BIGINT NOT NULL,
    "latency_ms_total" BIGINT NOT NULL,
    "latency_buckets" BIGINT[],

    CONSTRAINT "operation_usage_pkey" PRIMARY KEY ("hour","client","client_version","partner_id","operation_name","document_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "partners_name_key" ON "partners"("name");

-- CreateIndex
CREATE UNIQUE INDEX "partner_api_keys_key_hash_key" ON "partner_api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "partner_api_keys_partner_id_idx" ON "partner_api_keys"("partner_id");

-- CreateIndex
CREATE INDEX "partner_manifests_partner_id_registered_at_idx" ON "partner_manifests"("partner_id", "registered_at");

-- CreateIndex
CREATE INDEX "persisted_documents_partner_id_operation_name_registered_at_idx" ON "persisted_documents"("partner_id", "operation_name", "registered_at");

-- CreateIndex
CREATE INDEX "operation_usage_operation_name_hour_idx" ON "operation_usage"("operation_name", "hour");

-- AddForeignKey
ALTER TABLE "partner_api_keys" ADD CONSTRAINT "partner_api_keys_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "partner_manifests" ADD CONSTRAINT "partner_manifests_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "persisted_documents" ADD CONSTRAINT "persisted_documents_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

