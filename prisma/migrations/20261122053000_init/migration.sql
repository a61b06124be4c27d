-- CreateTable
CREATE TABLE "Todo" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "title" TEXT NOT NULL,
    "completed" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Todo_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "expiresAt" TIMESTAMPTZ(3),
    "allowedModels" TEXT[] DEFAULT ARRAY[]::TEXT[],

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RequestLog" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "requestId" TEXT NOT NULL,
    "keyId" TEXT,
    "route" TEXT NOT NULL,
    "requestedModel" TEXT,
    "provider" TEXT,
    "upstreamModel" TEXT,
    "stream" BOOLEAN NOT NULL,
    "status" INTEGER NOT NULL,
    "errorType" TEXT,
    "promptTokens" INTEGER,
    "completionTokens" INTEGER,
    "totalTokens" INTEGER,
    "ttftMs" DOUBLE PRECISION,
    "durationMs" DOUBLE PRECISION NOT NULL,
    "clientAborted" BOOLEAN NOT NULL DEFAULT false,
    "fallback" BOOLEAN NOT NULL DEFAULT false,
    "vapiCallId" TEXT,
    "vapiAssistantId" TEXT,
    "vapiCustomerNumber" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RequestLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Todo_createdAt_id_idx" ON "Todo"("createdAt", "id");

-- CreateIndex
CREATE INDEX "Todo_completed_createdAt_id_idx" ON "Todo"("completed", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "ApiKey_createdAt_idx" ON "ApiKey"("createdAt");

-- CreateIndex
CREATE INDEX "RequestLog_createdAt_id_idx" ON "RequestLog"("createdAt", "id");

-- CreateIndex
CREATE INDEX "RequestLog_keyId_createdAt_idx" ON "RequestLog"("keyId", "createdAt");

-- CreateIndex
CREATE INDEX "RequestLog_requestedModel_createdAt_idx" ON "RequestLog"("requestedModel", "createdAt");

-- CreateIndex
CREATE INDEX "RequestLog_route_createdAt_idx" ON "RequestLog"("route", "createdAt");

-- CreateIndex
CREATE INDEX "RequestLog_vapiCallId_idx" ON "RequestLog"("vapiCallId");
