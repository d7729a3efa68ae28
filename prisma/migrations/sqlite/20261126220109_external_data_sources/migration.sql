-- CreateTable
CREATE TABLE "DataSource" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "config" JSONB NOT NULL,
    "sealedPassword" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "DataSource_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "FeatureGroup_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "FeatureGroup_dataSourceId_fkey" FOREIGN KEY ("dataSourceId") REFERENCES "DataSource" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_FeatureGroup" ("createdAt", "description", "eventTime", "features", "id", "name", "onlineEnabled", "primaryKey", "projectId", "statisticsConfig", "updatedAt", "version") SELECT "createdAt", "description", "eventTime", "features", "id", "name", "onlineEnabled", "primaryKey", "projectId", "statisticsConfig", "updatedAt", "version" FROM "FeatureGroup";
DROP TABLE "FeatureGroup";
ALTER TABLE "new_FeatureGroup" RENAME TO "FeatureGroup";
CREATE INDEX "FeatureGroup_dataSourceId_idx" ON "FeatureGroup"("dataSourceId");
CREATE UNIQUE INDEX "FeatureGroup_projectId_name_version_key" ON "FeatureGroup"("projectId", "name", "version");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "DataSource_projectId_name_key" ON "DataSource"("projectId", "name");
