-- AlterTable
ALTER TABLE "Commit" ADD COLUMN "logFrom" BIGINT;
ALTER TABLE "Commit" ADD COLUMN "logTo" BIGINT;

-- CreateTable
CREATE TABLE "StreamProgress" (
    "featureGroupId" TEXT NOT NULL PRIMARY KEY,
    "appliedSequence" BIGINT NOT NULL DEFAULT 0,
    "appliedRows" BIGINT NOT NULL DEFAULT 0,
    "lastOnlineWriteAt" DATETIME,
    "lastEventTime" BIGINT,
    "materializedSequence" BIGINT NOT NULL DEFAULT 0,
    "materializedRows" BIGINT NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL,
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

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_FeatureGroup" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "primaryKey" JSONB NOT NULL,
    "eventTime" TEXT,
    "onlineEnabled" BOOLEAN NOT NULL DEFAULT false,
    "features" JSONB NOT NULL,
    "statisticsConfig" JSONB,
    "dataSourceId" TEXT,
    "external" JSONB,
    "streamCommitIntervalMs" INTEGER NOT NULL DEFAULT 10000,
    "streamCommitRows" INTEGER NOT NULL DEFAULT 100000,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "FeatureGroup_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "FeatureGroup_dataSourceId_fkey" FOREIGN KEY ("dataSourceId") REFERENCES "DataSource" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_FeatureGroup" ("createdAt", "dataSourceId", "description", "eventTime", "external", "features", "id", "name", "onlineEnabled", "primaryKey", "projectId", "statisticsConfig", "updatedAt", "version") SELECT "createdAt", "dataSourceId", "description", "eventTime", "external", "features", "id", "name", "onlineEnabled", "primaryKey", "projectId", "statisticsConfig", "updatedAt", "version" FROM "FeatureGroup";
DROP TABLE "FeatureGroup";
ALTER TABLE "new_FeatureGroup" RENAME TO "FeatureGroup";
CREATE INDEX "FeatureGroup_dataSourceId_idx" ON "FeatureGroup"("dataSourceId");
CREATE UNIQUE INDEX "FeatureGroup_projectId_name_version_key" ON "FeatureGroup"("projectId", "name", "version");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "StreamDeadLetter_featureGroupId_createdAt_idx" ON "StreamDeadLetter"("featureGroupId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "StreamDeadLetter_featureGroupId_sequence_key" ON "StreamDeadLetter"("featureGroupId", "sequence");
