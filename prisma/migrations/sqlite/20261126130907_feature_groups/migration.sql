-- CreateTable
CREATE TABLE "FeatureGroup" (
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "FeatureGroup_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Commit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "featureGroupId" TEXT NOT NULL,
    "committedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "operation" TEXT NOT NULL,
    "storage" TEXT NOT NULL,
    "rowCount" INTEGER NOT NULL,
    "rowsInserted" INTEGER NOT NULL,
    "rowsUpdated" INTEGER NOT NULL,
    "files" JSONB NOT NULL,
    "bytes" BIGINT NOT NULL,
    "onlineState" TEXT NOT NULL DEFAULT 'NONE',
    "validationReport" JSONB,
    CONSTRAINT "Commit_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "FeatureGroup_projectId_name_version_key" ON "FeatureGroup"("projectId", "name", "version");

-- CreateIndex
CREATE INDEX "Commit_featureGroupId_committedAt_idx" ON "Commit"("featureGroupId", "committedAt");
