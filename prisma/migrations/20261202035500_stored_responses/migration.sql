-- CreateTable
CREATE TABLE "StoredResponse" (
    "id" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "previousResponseId" TEXT,
    "response" JSONB NOT NULL,
    "inputItems" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StoredResponse_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "StoredResponse_createdAt_idx" ON "StoredResponse"("createdAt");
