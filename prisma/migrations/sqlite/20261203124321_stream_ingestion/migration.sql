-- AlterTable
ALTER TABLE "Commit" ADD COLUMN "logFrom" BIGINT;
ALTER TABLE "Commit" ADD COLUMN "logTo" BIGINT;

-- AlterTable
ALTER TABLE "FeatureGroup" ADD COLUMN "streamCommitIntervalMs" INTEGER;
ALTER TABLE "FeatureGroup" ADD COLUMN "streamCommitRows" INTEGER;

-- CreateTable
CREATE TABLE "StreamProgress" (
    "featureGroupId" TEXT NOT NULL PRIMARY KEY,
    "appliedSequence" BIGINT NOT NULL DEFAULT 0,
    "appliedRows" BIGINT NOT NULL DEFAULT 0,
    "lastOnlineWriteMs" BIGINT,
    "lastEventTime" BIGINT,
    "materializedSequence" BIGINT NOT NULL DEFAULT 0,
    "materializedRows" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "StreamProgress_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "StreamDeadLetter" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "featureGroupId" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "reason" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "StreamDeadLetter_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "StreamDeadLetter_featureGroupId_createdAt_idx" ON "StreamDeadLetter"("featureGroupId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "StreamDeadLetter_featureGroupId_sequence_key" ON "StreamDeadLetter"("featureGroupId", "sequence");
