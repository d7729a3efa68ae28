-- AlterTable
ALTER TABLE "Commit" ADD COLUMN     "logFrom" BIGINT,
ADD COLUMN     "logTo" BIGINT;

-- AlterTable
ALTER TABLE "FeatureGroup" ADD COLUMN     "streamCommitIntervalMs" INTEGER,
ADD COLUMN     "streamCommitRows" INTEGER;

-- CreateTable
CREATE TABLE "StreamProgress" (
    "featureGroupId" TEXT NOT NULL,
    "appliedSequence" BIGINT NOT NULL DEFAULT 0,
    "appliedRows" BIGINT NOT NULL DEFAULT 0,
    "lastOnlineWriteMs" BIGINT,
    "lastEventTime" BIGINT,
    "materializedSequence" BIGINT NOT NULL DEFAULT 0,
    "materializedRows" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "StreamProgress_pkey" PRIMARY KEY ("featureGroupId")
);

-- CreateTable
CREATE TABLE "StreamDeadLetter" (
    "id" TEXT NOT NULL,
    "featureGroupId" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "reason" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StreamDeadLetter_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "StreamDeadLetter_featureGroupId_createdAt_idx" ON "StreamDeadLetter"("featureGroupId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "StreamDeadLetter_featureGroupId_sequence_key" ON "StreamDeadLetter"("featureGroupId", "sequence");

-- AddForeignKey
ALTER TABLE "StreamProgress" ADD CONSTRAINT "StreamProgress_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StreamDeadLetter" ADD CONSTRAINT "StreamDeadLetter_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
