-- CreateTable
CREATE TABLE "FeatureGroupStatistics" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "featureGroupId" TEXT NOT NULL,
    "commitId" TEXT,
    "computedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rowCount" INTEGER NOT NULL,
    "content" JSONB NOT NULL,
    CONSTRAINT "FeatureGroupStatistics_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "FeatureGroupStatistics_featureGroupId_computedAt_idx" ON "FeatureGroupStatistics"("featureGroupId", "computedAt");

-- CreateIndex
CREATE INDEX "FeatureGroupStatistics_featureGroupId_commitId_idx" ON "FeatureGroupStatistics"("featureGroupId", "commitId");
