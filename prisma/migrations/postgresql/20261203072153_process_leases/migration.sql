-- AlterTable
ALTER TABLE "Commit" ADD COLUMN     "writer" TEXT;

-- CreateTable
CREATE TABLE "ProcessLease" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProcessLease_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ProcessLease_heartbeatAt_idx" ON "ProcessLease"("heartbeatAt");
