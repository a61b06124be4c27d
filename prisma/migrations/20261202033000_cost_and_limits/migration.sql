-- Cost per request (micro-dollars, the spend ledger) and per-key limits (issue 14).

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "limits" JSONB;

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN "costMicros" BIGINT;
