-- AlterTable
ALTER TABLE "Commit" ADD COLUMN "writer" TEXT;

-- CreateTable
CREATE TABLE "ProcessLease" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "ProcessLease_heartbeatAt_idx" ON "ProcessLease"("heartbeatAt");
