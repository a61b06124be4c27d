-- Issue 13: which upstream attempts a request made (first-token deadline, hedging) and
-- whether its token counts are Parley's estimate (a stream cut before the upstream's usage).
-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN "attemptCount" INTEGER,
ADD COLUMN "attempts" JSONB,
ADD COLUMN "usageEstimated" BOOLEAN NOT NULL DEFAULT false;
