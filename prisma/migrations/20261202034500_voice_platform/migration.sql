-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN     "callId" TEXT,
ADD COLUMN     "platform" TEXT,
ADD COLUMN     "replayOf" TEXT;

-- CreateIndex
CREATE INDEX "RequestLog_callId_idx" ON "RequestLog"("callId");
